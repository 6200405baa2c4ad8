"""An organiser builds a workshop's timetable in a real browser, with and without JavaScript: two rooms, three
talks, a room clash the editor warns about and the organiser fixes, then the published programme grid."""

from __future__ import annotations

import re

import pytest

from tests.browser.actions import expect, log_in

pytestmark = pytest.mark.browser

TITLE = "Advanced Workshop on Multilingual Metadata"
SLUG = "advanced-workshop-on-multilingual-metadata"


def add_speaker(site, full_name: str, affiliation: str) -> None:
    from events_app.speakers.services import PersonService

    site.arrange(lambda session: PersonService(session=session).create_person(
        {"full_name": full_name, "affiliation": affiliation}
    ))


def add_room(page, name: str) -> None:
    rooms = page.locator("form[action$='/rooms']")
    expect(rooms.get_by_label("Venue")).to_have_value("National Science Library, Training Centre")
    rooms.get_by_label("Room").fill(name)
    rooms.get_by_label("Capacity").fill("40")
    rooms.get_by_role("button", name="Add room").click()
    expect(page.get_by_role("status")).to_contain_text(f"Room {name} added.")


def fill_talk(page, title: str, starts: str, ends: str, room: str, speaker: str) -> None:
    page.get_by_role("link", name="Add talk or break").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add talk")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Starts").fill(starts)
    page.get_by_label("Ends").fill(ends)
    page.get_by_label("Room", exact=True).select_option(label=room)
    page.get_by_label("Speakers").select_option(label=speaker)
    page.get_by_role("button", name="Save").click()


def column_of(locator) -> int:
    return int(re.search(r"grid-column:\s*(\d+)", locator.get_attribute("style")).group(1))


@pytest.mark.parametrize("browser_page", ["page", "page_without_javascript"])
def test_organiser_sets_up_rooms_and_talks_is_warned_of_a_room_clash_fixes_it_and_publishes_the_programme(
    site, browser_page: str, request
):
    page = request.getfixturevalue(browser_page)
    email = site.organiser()
    add_speaker(site, "王小明", "Peking University Library")
    add_speaker(site, "Anna Müller", "TIB Hannover")
    add_speaker(site, "Kwame Mensah", "University of Ghana")

    log_in(page, email)
    page.get_by_role("link", name="New event").click()
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Kind").select_option("workshop")
    page.get_by_label("Starts").fill("2031-05-12T09:00")
    page.get_by_label("Ends").fill("2031-05-13T17:00")
    page.get_by_label("Time zone").fill("Asia/Shanghai")
    page.get_by_label("Venue").fill("National Science Library, Training Centre")
    page.get_by_role("button", name="Save").click()
    # POST, then redirect to the event's organiser page (works the same with JavaScript off).
    expect(page).to_have_url(re.compile(rf"/organiser/events/{SLUG}$"))
    expect(page.get_by_role("status")).to_contain_text("Event created as a draft")

    page.get_by_role("link", name="Timetable").click()
    expect(page).to_have_url(re.compile(rf"/organiser/events/{SLUG}/timetable$"))
    add_room(page, "Room 201")
    add_room(page, "Room 305")
    rooms = page.locator("section", has=page.get_by_role("heading", name="Rooms"))
    expect(rooms.get_by_role("listitem")).to_have_text([
        "National Science Library, Training Centre: Room 201 (40 seats)",
        "National Science Library, Training Centre: Room 305 (40 seats)",
    ])

    fill_talk(page, "Metadata in Chinese research libraries", "2031-05-12T10:00", "2031-05-12T11:00", "Room 201",
              "王小明 — Peking University Library")
    expect(page.get_by_role("status")).to_contain_text("Talk added.")
    fill_talk(page, "Knowledge graphs for scholarly records", "2031-05-12T12:00", "2031-05-12T13:00", "Room 305",
              "Anna Müller — TIB Hannover")
    expect(page.get_by_role("status")).to_contain_text("Talk added.")

    # The third talk overlaps the first in Room 201: the editor refuses, names both talks and asks.
    fill_talk(page, "Linked open data in practice", "2031-05-12T10:30", "2031-05-12T11:30", "Room 201",
              "Kwame Mensah — University of Ghana")
    warning = page.locator(".error-summary")
    expect(warning).to_have_attribute("role", "alert")
    expect(warning).to_contain_text("This would clash with the timetable:")
    expect(warning).to_contain_text("Room 201 is booked twice at the same time")
    expect(warning).to_contain_text("“Linked open data in practice”")
    expect(warning).to_contain_text("“Metadata in Chinese research libraries”")
    expect(warning.get_by_label("I know; schedule it anyway")).not_to_be_checked()
    # What the organiser typed is kept; they move the talk to the other room and save again.
    expect(page.get_by_label("Title")).to_have_value("Linked open data in practice")
    page.get_by_label("Room", exact=True).select_option(label="Room 305")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/organiser/events/{SLUG}/timetable$"))
    expect(page.get_by_role("status")).to_contain_text("Talk added.")
    expect(page.get_by_text("No conflicts found.")).to_be_visible()
    timetable = page.get_by_role("table")
    expect(timetable.get_by_role("row", name=re.compile("Linked open data in practice"))).to_contain_text("Room 305")

    page.get_by_role("link", name=f"← {TITLE}").click()
    # Registration was never opened: the page says so before publishing, and the flash warns after.
    expect(page.locator(".registration-closed-notice")).to_contain_text("Registration is closed")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator(".flash-success")).to_contain_text("The event is published.")
    expect(page.get_by_role("status").filter(has_text="Registration is closed")).to_contain_text("Open it under")
    page.get_by_role("link", name="Timetable").click()
    page.get_by_label("What changed (shown to attendees)").fill("First programme")
    page.get_by_role("button", name="Publish programme version").click()
    expect(page.get_by_role("status")).to_contain_text("Programme version 1 published.")

    page.get_by_role("link", name="Public programme").click()
    expect(page).to_have_url(re.compile(rf"/events/{SLUG}/programme$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Programme: {TITLE}")
    expect(page.locator(".zone-note")).to_contain_text("All times are in Asia/Shanghai.")
    grid = page.locator(".grid")
    heads = {name: column_of(grid.locator(".room-head", has_text=name)) for name in ("Room 201", "Room 305")}
    assert heads["Room 201"] != heads["Room 305"]
    for title, room, when, speaker in [
        ("Metadata in Chinese research libraries", "Room 201", "10:00–11:00", "王小明"),
        ("Linked open data in practice", "Room 305", "10:30–11:30", "Kwame Mensah"),
        ("Knowledge graphs for scholarly records", "Room 305", "12:00–13:00", "Anna Müller"),
    ]:
        cell = grid.locator("[id^='talk-']", has_text=title)
        expect(cell.locator(".when")).to_have_text(when)
        expect(cell.locator(".where")).to_have_text(room)
        expect(cell.locator(".who")).to_contain_text(speaker)
        assert column_of(cell) == heads[room], (title, room)
