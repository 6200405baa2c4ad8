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
    words_broken_in_tables,
)
from tests.browser.arrange import open_lecture, workshop_with_two_rooms
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
                "speaker board": f"/organiser/events/{conference}/speakers",
                "letters and certificates": f"/organiser/events/{conference}/documents"}

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
    "letters and certificates": (None, True),
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


def talk_form_warning_of_a_room_clash(site, page) -> None:
    workshop = workshop_with_two_rooms(site)
    log_in(page, workshop["organiser"])
    page.goto(f"/organiser/events/{workshop['slug']}/talks/new?back=timetable")
    page.get_by_label("Title").fill("Linked open data in practice")
    page.get_by_label("Starts").fill("2031-05-12T10:30")
    page.get_by_label("Ends").fill("2031-05-12T11:30")
    page.get_by_label("Room", exact=True).select_option(label="Room 201")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".error-summary")).to_contain_text("Room 201 is booked twice at the same time")


def timetable_listing_a_clash(site, page) -> None:
    workshop = workshop_with_two_rooms(site, clash=True)
    log_in(page, workshop["organiser"])
    page.goto(f"/organiser/events/{workshop['slug']}/timetable")
    expect(page.locator(".problems")).to_contain_text("Room 201 is booked twice at the same time")


def programme_grid_with_two_rooms(site, page) -> None:
    workshop = workshop_with_two_rooms(site)
    page.goto(f"/events/{workshop['slug']}/programme")
    expect(page.locator(".grid .room-head")).to_have_text(["Room 201", "Room 305"])


def check_in_answering_a_scan(site, page) -> None:
    lecture = open_lecture(site, capacity=5, registrants=("Chen",))
    log_in(page, lecture["organiser"])
    page.goto(f"/organiser/events/{lecture['slug']}/checkin")
    page.get_by_label("Scan or type the code").fill(lecture["codes"][0])
    page.get_by_role("button", name="Check in", exact=True).click()
    expect(page.locator(".checkin-result")).to_have_text("Checked in: Chen (CAS)")


def manage_page_of_a_confirmed_attendee(site, page) -> None:
    lecture = open_lecture(site, capacity=5, registrants=("Chen",))
    page.goto(f"/registrations/{lecture['tokens'][0]}")
    expect(page.locator(".status")).to_have_text("Confirmed")


STATES = {
    "talk form warning of a room clash": talk_form_warning_of_a_room_clash,
    "timetable listing a clash": timetable_listing_a_clash,
    "programme grid with two rooms": programme_grid_with_two_rooms,
    "check-in answering a scan": check_in_answering_a_scan,
    "manage page of a confirmed attendee": manage_page_of_a_confirmed_attendee,
}


@pytest.mark.parametrize("name", list(STATES))
def test_page_reached_by_acting_passes_axe_labels_every_field_and_fits_a_phone(
    site, page, axe_script: str, name: str
):
    STATES[name](site, page)
    assert axe_violations(page, axe_script) == []
    assert unlabelled_fields(page) == []
    # The same page as a phone shows it: the layout follows the narrower viewport without a reload, which
    # would repeat the POST behind some of these pages.
    page.set_viewport_size(PHONE)
    assert page_width(page) <= PHONE["width"], wider_than_viewport(page)


def test_the_speaker_board_breaks_no_word_at_1280_px(site, page):
    from sqlalchemy import select

    from events_app.events.models import Event
    from events_app.settings import Settings
    from events_app.speakers.services import InvitationService

    path = demo_addresses(site)["speaker board"]

    async def invite(session) -> None:
        event = await session.scalar(select(Event).where(Event.slug == path.split("/")[3]))
        settings = Settings(base_url=site.url("").rstrip("/"))
        for name, email, title in [
            ("Maximilian Schwarzenberger", "maximilian.schwarzenberger@universitaet-heidelberg.example",
             "Heterogeneous catalysis: characterisation with synchrotron radiation"),
            ("张晓林", "zhang.xiaolin@example.cn", "开放科学与数据共享"),
        ]:
            await InvitationService(session=session).invite(
                event, {"full_name": name, "email": email, "kind": "lecture", "title": title},
                settings=settings, by=None)
        await session.commit()

    site.arrange(invite)
    log_in(page, site.organiser("admin@example.org", admin=True))
    page.set_viewport_size({"width": 1280, "height": 900})
    response = page.goto(path)
    assert response is not None and response.status == 200
    assert page.locator("table td").count() > 0
    assert words_broken_in_tables(page) == []
    assert page_width(page) <= 1280, wider_than_viewport(page)
