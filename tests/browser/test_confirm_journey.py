"""Acts that cannot be undone ask first, on a page that says what will happen; without JavaScript too."""

from __future__ import annotations

import pytest

from tests.browser.actions import expect, log_in
from tests.browser.arrange import open_lecture

pytestmark = pytest.mark.browser


def test_organiser_cancelling_an_event_is_told_who_will_be_mailed_and_can_step_back(site, page_without_javascript):
    page = page_without_javascript
    lecture = open_lecture(site, capacity=10, registrants=("Chen", "Ana"))
    log_in(page, lecture["organiser"])
    page.goto(f"/organiser/events/{lecture['slug']}")

    page.get_by_role("button", name="Cancel event").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel event")
    expect(page.locator(".confirm-consequence")).to_contain_text("2 confirmed attendees will be mailed")
    # Stepping back changes nothing: the event is still published and nobody was mailed about it.
    page.get_by_role("link", name="No, keep the event").click()
    expect(page.get_by_role("button", name="Cancel event")).to_be_visible()
    page.goto(f"/events/{lecture['slug']}")
    expect(page.get_by_text("This event has been cancelled.")).to_have_count(0)

    page.goto(f"/organiser/events/{lecture['slug']}")
    page.get_by_role("button", name="Cancel event").click()
    page.get_by_role("button", name="Yes, cancel the event").click()
    expect(page.get_by_role("status")).to_contain_text("The event is cancelled.")
    for address in ("chen@example.org", "ana@example.org"):
        confirmation, cancellation = site.wait_for_mail(address, count=2)
        assert "cancelled" in cancellation["Subject"].lower()


def test_attendee_asked_before_deleting_their_data_from_the_manage_page(site, page_without_javascript):
    page = page_without_javascript
    lecture = open_lecture(site, capacity=10, registrants=("Chen",))
    page.goto(f"/registrations/{lecture['tokens'][0]}")
    page.get_by_role("button", name="Delete my registration and data").click()
    expect(page.locator(".confirm-consequence")).to_contain_text("chen@example.org")
    page.get_by_role("link", name="No, back to your registration").click()
    expect(page.locator(".status")).to_have_text("Confirmed")
    page.get_by_role("button", name="Cancel my registration").click()
    page.get_by_role("button", name="Free my place").click()
    expect(page.locator(".status")).to_have_text("Cancelled")
