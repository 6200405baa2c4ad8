"""axe-core finds no serious or critical problems, every field has a label, the pages fit a phone, and the
login works by keyboard alone."""

from __future__ import annotations

import pytest

from tests.browser.actions import (
    axe_violations,
    expect,
    log_in,
    page_width,
    unlabelled_fields,
    wider_than_viewport,
)
from tests.browser.conftest import PHONE

pytestmark = pytest.mark.browser


def demo_addresses(site) -> dict[str, str]:
    """Loads the demo programme and answers the addresses of a conference page and a speaker page."""
    from sqlalchemy import select

    from events_app.events.models import Event, EventKind, EventStatus
    from events_app.speakers.models import Person

    site.demo()

    async def find(session) -> dict[str, str]:
        conference = await session.scalar(
            select(Event.slug).where(Event.kind == EventKind.CONFERENCE, Event.status == EventStatus.PUBLISHED)
            .order_by(Event.starts_at.desc()).limit(1)
        )
        person = await session.scalar(select(Person.id).where(Person.full_name == "张晓林"))
        return {"event": f"/events/{conference}", "speaker": f"/speakers/{person}",
                "talk form": f"/organiser/events/{conference}/talks/new",
                "programme": f"/events/{conference}/programme",
                "timetable": f"/organiser/events/{conference}/timetable",
                "speaker board": f"/organiser/events/{conference}/speakers"}

    return site.arrange(find)


PAGES = {
    "home": ("/", False),
    "event": (None, False),
    "speaker": (None, False),
    "login": ("/login", False),
    "organiser dashboard": ("/organiser", True),
    "event form": ("/organiser/events/new", True),
    "talk form": (None, True),
    "speaker form": ("/organiser/speakers/new", True),
    "programme": (None, False),
    "timetable": (None, True),
    "speaker board": (None, True),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_page_has_no_serious_accessibility_problems_labels_every_field_and_fits_a_phone(
    site, page, axe_script: str, name: str
):
    path, needs_login = PAGES[name]
    addresses = demo_addresses(site)
    path = path or addresses[name]
    if needs_login:
        # The demo events belong to the demo account; an admin may manage (and so open) all of them.
        log_in(page, site.organiser("admin@example.org", admin=True))

    response = page.goto(path)
    assert response is not None and response.status == 200, (path, response and response.status)
    assert axe_violations(page, axe_script) == []
    assert unlabelled_fields(page) == []

    page.set_viewport_size(PHONE)
    page.reload()
    assert page_width(page) <= PHONE["width"], wider_than_viewport(page)


def test_organiser_logs_in_with_the_keyboard_alone(site, page):
    email = site.organiser()
    page.goto("/login")

    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "f-email":
            break
    expect(page.get_by_label("E-mail")).to_be_focused()
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type("correct-horse-battery")
    page.keyboard.press("Enter")

    page.wait_for_url("**/organiser")
    expect(page.get_by_role("heading", level=1)).to_have_text("Events")


def test_skip_link_moves_focus_to_the_main_content(site, page):
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
