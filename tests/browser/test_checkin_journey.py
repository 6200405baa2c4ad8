"""At the door, an organiser checks an attendee in by the code on their confirmation."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from tests.browser.actions import expect, log_in
from tests.browser.arrange import open_lecture

pytestmark = pytest.mark.browser


def test_organiser_checks_an_attendee_in_by_code_and_a_second_scan_says_already_checked_in(site, page):
    lecture = open_lecture(site, capacity=10, registrants=("Chen", "Ana"))
    code = lecture["codes"][0]

    log_in(page, lecture["organiser"])
    page.get_by_role("link", name="Invited lecture: 开放科学").first.click()
    page.get_by_role("link", name="Check-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check-in")

    # Typed as a person reads it off a phone: lower case, with spaces around.
    page.get_by_label("Scan or type the code").fill(f" {code.lower()} ")
    page.get_by_role("button", name="Check in", exact=True).click()
    result = page.locator(".checkin-result")
    expect(result).to_have_attribute("role", "alert")
    expect(result).to_have_text("Checked in: Chen (CAS)")

    page.get_by_label("Scan or type the code").fill(code)
    page.get_by_label("Scan or type the code").press("Enter")
    # The time is the door's local time, in the event's time zone (Asia/Shanghai).
    expect(result).to_have_text(re.compile(r"^\s*Chen is already checked in at \d{1,2} \w{3} \d{4} \d\d:\d\d\.\s*$"))
    door = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
    assert any((door + dt.timedelta(minutes=m)).strftime("%H:%M") in result.inner_text() for m in (-1, 0, 1))

    page.get_by_label("Scan or type the code").fill("NOT-A-CODE")
    page.get_by_role("button", name="Check in", exact=True).click()
    expect(result).to_have_text("Unknown code for this event.")

    # The other attendee is untouched; the registrants list shows who came.
    page.get_by_label("Or find by name or e-mail").fill("Ana")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".checkin-matches li")).to_have_count(1)
    expect(page.locator(".checkin-matches li").get_by_role("button", name="Check in")).to_be_visible()
