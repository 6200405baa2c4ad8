"""An organiser writes to the confirmed attendees in a real browser: preview with the count, send; an attendee
stops announcements with the link in the message; the mail log shows what went out. Axe finds no serious
problem on the organiser's announcement and mail-log pages."""

from __future__ import annotations

import pytest

from tests.browser.actions import axe_violations, expect, log_in, unlabelled_fields
from tests.browser.arrange import open_lecture

pytestmark = pytest.mark.browser


def test_organiser_previews_and_sends_an_announcement_and_an_attendee_stops_them(site, page, axe_script: str):
    lecture = open_lecture(site, capacity=1, registrants=("Chen", "Dora"))  # Chen confirmed, Dora waitlisted
    site.wait_for_mail("chen@example.org")
    log_in(page, lecture["organiser"])
    page.goto(f"/organiser/events/{lecture['slug']}")
    page.get_by_role("link", name="Write an announcement").click()
    assert axe_violations(page, axe_script) == []
    assert unlabelled_fields(page) == []

    page.get_by_label("Recipients").select_option("confirmed")
    english = page.get_by_role("group", name="English")
    english.get_by_label("Subject").fill("Room change for {event}")
    english.get_by_label("Message").fill("Dear {name},\nthe lecture moves to Hall B.\n{manage_link}")
    page.get_by_role("button", name="Preview and count recipients").click()
    expect(page.locator(".recipient-count")).to_have_text("1 recipient")
    expect(page.locator(".mail-text")).to_contain_text("Dear Chen,")

    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Announcement queued for 1 recipients.")
    [_confirmation, announcement] = site.wait_for_mail("chen@example.org", count=2)
    assert announcement["Subject"] == "Room change for Invited lecture: 开放科学"
    unsubscribe = announcement["List-Unsubscribe"].strip("<>")

    page.goto(f"/organiser/events/{lecture['slug']}/mail")
    expect(page.locator("table.mail-log")).to_contain_text("chen@example.org")
    assert axe_violations(page, axe_script) == []

    attendee = page.context.browser.new_page()
    try:
        attendee.goto(unsubscribe)
        attendee.get_by_role("button", name="Stop announcements").click()
        expect(attendee.get_by_role("status")).to_contain_text("You will receive no more announcements")
    finally:
        attendee.close()
