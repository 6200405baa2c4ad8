"""A talk accepted without a time waits under "To be scheduled" on the organiser's timetable, is nowhere on the
public programme, and gets its place (day, start, room; the event's usual length) from that list, with and
without JavaScript."""

from __future__ import annotations

import re

import pytest

from tests.browser.actions import axe_violations, expect, log_in, unlabelled_fields
from tests.browser.arrange import workshop_with_two_rooms

pytestmark = pytest.mark.browser

PROPOSAL = "Persistent identifiers for 古籍 collections"


def add_unscheduled_talk(site, slug: str) -> None:
    async def arrange(session):
        from sqlalchemy import select

        from events_app.events.models import Event
        from events_app.events.services import EventService
        from events_app.schedule.services import TalkService
        from events_app.speakers.services import PersonService

        event = await session.scalar(select(Event).where(Event.slug == slug))
        await EventService(session=session).update_event(event, {"default_talk_minutes": 45})
        speaker = await PersonService(session=session).create_person(
            {"full_name": "Zoë Ørsted", "affiliation": "Royal Danish Library"})
        await TalkService(session=session).create_unscheduled(event.id, PROPOSAL, "Identifiers.", [speaker.id])
        await session.commit()

    site.arrange(arrange)


@pytest.mark.parametrize("browser_page", ["page", "page_without_javascript"])
def test_organiser_schedules_a_talk_from_the_to_be_scheduled_list(site, browser_page: str, request, axe_script: str):
    page = request.getfixturevalue(browser_page)
    workshop = workshop_with_two_rooms(site)
    slug = workshop["slug"]
    add_unscheduled_talk(site, slug)

    page.goto(f"/events/{slug}/programme")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Programme")
    expect(page.get_by_text(PROPOSAL)).to_have_count(0)
    page.goto(f"/events/{slug}")
    expect(page.get_by_text(PROPOSAL)).to_have_count(0)
    expect(page.get_by_text("Zoë Ørsted")).to_have_count(0)

    log_in(page, workshop["organiser"])
    page.goto(f"/organiser/events/{slug}/timetable")
    waiting = page.locator("section", has=page.get_by_role("heading", name=re.compile("To be scheduled")))
    expect(waiting.get_by_role("heading")).to_have_text("To be scheduled (1)")
    expect(waiting).to_contain_text(PROPOSAL)
    expect(waiting).to_contain_text("Zoë Ørsted")
    expect(waiting).to_contain_text("it lasts 45 minutes")
    if browser_page == "page":
        assert axe_violations(page, axe_script) == []
        assert unlabelled_fields(page) == []

    item = waiting.get_by_role("listitem").filter(has_text=PROPOSAL)
    item.get_by_label("Start").fill("14:00")
    item.get_by_label("Room", exact=True).select_option(label="Room 305")
    item.get_by_role("button", name=re.compile("Schedule")).click()
    expect(page).to_have_url(re.compile(rf"/organiser/events/{slug}/timetable$"))
    expect(page.get_by_role("status")).to_contain_text(f"“{PROPOSAL}” is scheduled.")
    expect(page.get_by_role("heading", name=re.compile("To be scheduled"))).to_have_count(0)
    row = page.get_by_role("row", name=re.compile(re.escape(PROPOSAL)))
    expect(row).to_contain_text("14:00–14:45")
    expect(row).to_contain_text("Room 305")

    page.goto(f"/events/{slug}/programme")
    cell = page.locator(".grid [id^='talk-']", has_text=PROPOSAL)
    expect(cell.locator(".when")).to_have_text("14:00–14:45")
    expect(cell.locator(".where")).to_have_text("Room 305")


def workshop_with_an_invitation(site) -> dict:
    """The workshop, and a speaker invited to it without a talk yet; answers its slug, organiser and link."""
    workshop = workshop_with_two_rooms(site)

    async def arrange(session):
        from sqlalchemy import select

        from events_app.events.models import Event
        from events_app.settings import Settings
        from events_app.speakers.services import InvitationService

        event = await session.scalar(select(Event).where(Event.slug == workshop["slug"]))
        _invitation, token = await InvitationService(session=session).invite(
            event, {"full_name": "Zoë Ørsted", "email": "zoe@example.dk", "kind": "talk", "title": "Draft title"},
            settings=Settings(base_url=site.url("").rstrip("/")), by=None)
        await session.commit()
        return token

    return {**workshop, "link": f"/invitations/{site.arrange(arrange)}"}


@pytest.mark.parametrize("browser_page", ["page", "page_without_javascript"])
def test_a_speaker_accepts_and_the_organiser_finds_the_talk_waiting_for_a_time(site, browser_page: str, request):
    page = request.getfixturevalue(browser_page)
    workshop = workshop_with_an_invitation(site)
    page.goto(workshop["link"])
    page.get_by_label("Title").fill(PROPOSAL)
    page.get_by_label("Abstract").fill("How 古籍 get identifiers that last.")
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("status")).to_be_visible()

    [mail] = site.wait_for_mail(workshop["organiser"])
    assert PROPOSAL in str(mail["Subject"])

    page.goto(f"/events/{workshop['slug']}/programme")
    expect(page.get_by_text(PROPOSAL)).to_have_count(0)

    log_in(page, workshop["organiser"])
    page.goto(f"/organiser/events/{workshop['slug']}")
    notice = page.locator(".waiting-talks")
    expect(notice).to_contain_text("1 talk is waiting for a time")
    expect(notice.get_by_role("listitem")).to_have_text([f"“{PROPOSAL}” — Zoë Ørsted"])
    notice.get_by_role("link", name="Schedule them on the timetable").click()
    expect(page).to_have_url(re.compile(rf"/organiser/events/{workshop['slug']}/timetable$"))
    waiting = page.locator("section.unscheduled")
    expect(waiting).to_contain_text(PROPOSAL)


def test_the_talk_form_starts_at_the_rooms_first_free_slot_for_the_events_talk_length(site, page):
    workshop = workshop_with_two_rooms(site)
    slug = workshop["slug"]
    log_in(page, workshop["organiser"])
    page.goto(f"/organiser/events/{slug}/edit")
    page.get_by_label("Usual talk length (minutes)").fill("90")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/organiser/events/{slug}$"))

    page.goto(f"/organiser/events/{slug}/timetable")
    page.get_by_role("link", name="Add talk or break").click()
    # Room 201 is taken 10:00-11:00: 90 minutes from the day's 09:00 start do not fit before it.
    page.get_by_label("Where").select_option("Room 201")
    page.get_by_role("button", name="Find the first free slot").click()
    expect(page.get_by_label("Starts")).to_have_value("2031-05-12T11:00")
    expect(page.get_by_label("Ends")).to_have_value("2031-05-12T12:30")
    page.get_by_label("Where").select_option("Room 305")
    page.get_by_role("button", name="Find the first free slot").click()
    expect(page.get_by_label("Starts")).to_have_value("2031-05-12T11:00")  # 305 is taken 10:00-11:00 too


NEW_ROOM = "Seminar room 3 · 研讨室"


@pytest.mark.parametrize("browser_page", ["page", "page_without_javascript"])
def test_one_room_control_adds_a_room_from_the_talk_form_and_offers_it_to_sessions(
    site, browser_page: str, request, axe_script: str
):
    page = request.getfixturevalue(browser_page)
    workshop = workshop_with_two_rooms(site)
    slug = workshop["slug"]
    log_in(page, workshop["organiser"])
    page.goto(f"/organiser/events/{slug}/talks/new?back=timetable")
    room = page.get_by_label("Room", exact=True)
    name = page.get_by_label("Name of the new room")
    expect(room.locator("option")).to_have_text(
        ["None of its own (the session's room)", "Room 201", "Room 305", "New room…"])
    if browser_page == "page":
        expect(name).to_be_hidden()  # shown only for "New room…"
        room.select_option(label="New room…")
        expect(name).to_be_visible()
        expect(name).to_be_focused()
        assert axe_violations(page, axe_script) == []
        assert unlabelled_fields(page) == []
    else:
        expect(name).to_be_visible()
        room.select_option(label="New room…")
    page.get_by_label("Title").fill("Reading old catalogues")
    page.get_by_label("Starts").fill("2031-05-12T14:00")
    page.get_by_label("Ends").fill("2031-05-12T14:30")
    name.fill(NEW_ROOM)
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/organiser/events/{slug}/timetable$"))
    expect(page.get_by_role("row", name=re.compile("Reading old catalogues"))).to_contain_text(NEW_ROOM)

    page.get_by_role("link", name="Add session").click()
    room = page.get_by_label("Room", exact=True)
    expect(room.locator("option")).to_have_text(["No room", "Room 201", "Room 305", NEW_ROOM, "New room…"])
    page.get_by_label("Title").fill("Afternoon session")
    page.get_by_label("Starts").fill("2031-05-12T15:00")  # after the talk in that room
    page.get_by_label("Ends").fill("2031-05-12T16:30")
    room.select_option(label=NEW_ROOM)
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/organiser/events/{slug}/timetable$"))
    sessions = page.locator("section", has=page.get_by_role("heading", name="Sessions"))
    expect(sessions).to_contain_text(f"Afternoon session, {NEW_ROOM}")
