"""The Content-Security-Policy blocks nothing the pages need, and does block what they must never run."""

from __future__ import annotations

import pytest

from tests.browser.actions import csp_violations, log_in
from tests.browser.arrange import open_lecture, workshop_with_two_rooms

pytestmark = pytest.mark.browser


def test_pages_run_under_the_policy_without_a_single_violation(site, page):
    lecture = open_lecture(site, capacity=5, registrants=("Chen",))
    site.organiser("admin@example.org", admin=True)
    for path in ["/", f"/events/{lecture['slug']}", f"/registrations/{lecture['tokens'][0]}", "/login",
                 "/no-such-page"]:
        response = page.goto(path)
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        assert csp_violations(page) == [], path

    log_in(page, "admin@example.org")
    for path in ["/organiser", "/organiser/accounts/", "/organiser/account/",
                 f"/organiser/events/{lecture['slug']}/registrations",
                 f"/organiser/events/{lecture['slug']}/registrations/dashboard"]:
        response = page.goto(path)
        assert response.status == 200, path
        assert csp_violations(page) == [], path


def test_the_programme_grid_keeps_its_layout_under_the_policy(site, page):
    workshop = workshop_with_two_rooms(site)
    page.goto(f"/events/{workshop['slug']}/programme")
    # Boxes are placed with style attributes (computed grid positions): the policy lets those through.
    first_room = page.locator(".grid .room-head").first
    assert first_room.evaluate("el => getComputedStyle(el).gridColumnStart") == "2"
    log_in(page, workshop["organiser"])
    page.goto(f"/organiser/events/{workshop['slug']}/timetable")
    assert csp_violations(page) == []


def test_an_injected_inline_script_is_blocked_and_reported(site, page):
    page.goto("/")
    with page.expect_console_message(lambda message: "CSP violation" in message.text):
        page.evaluate("""() => {
            const script = document.createElement('script');
            script.textContent = 'window.injected = true';
            document.body.append(script);
        }""")
    assert page.evaluate("window.injected === undefined")
    assert any("script-src" in report for report in csp_violations(page))
    csp_violations(page).clear()  # expected here; the fixture's own check is for unexpected reports
