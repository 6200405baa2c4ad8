"""An organiser builds a workshop in a real browser, with and without JavaScript, and the public sees it."""

from __future__ import annotations

import re

import pytest

from tests.browser.actions import expect, log_in

pytestmark = pytest.mark.browser


def add_speaker(site, full_name: str, affiliation: str) -> None:
    from events_app.speakers.services import PersonService

    site.arrange(lambda session: PersonService(session=session).create_person(
        {"full_name": full_name, "affiliation": affiliation}
    ))


def add_talk(page, title: str, starts: str, ends: str, room: str, speaker: str) -> None:
    page.get_by_role("link", name="Add talk").click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Starts").fill(starts)
    page.get_by_label("Ends").fill(ends)
    page.get_by_label("Room").fill(room)
    page.get_by_label("Speakers").select_option(label=speaker)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Talk added.")


@pytest.mark.parametrize("browser_page", ["page", "page_without_javascript"])
def test_organiser_creates_a_workshop_adds_talks_in_two_rooms_publishes_and_sees_the_programme(
    site, browser_page: str, request
):
    page = request.getfixturevalue(browser_page)
    email = site.organiser()
    add_speaker(site, "王小明", "Peking University Library")
    add_speaker(site, "Anna Müller", "TIB Hannover")

    log_in(page, email)
    page.get_by_role("link", name="New event").click()
    page.get_by_label("Title").fill("Advanced Workshop on Multilingual Metadata")
    page.get_by_label("Kind").select_option("workshop")
    page.get_by_label("Starts").fill("2031-05-12T09:00")
    page.get_by_label("Ends").fill("2031-05-13T17:00")
    page.get_by_label("Time zone").fill("Asia/Shanghai")
    page.get_by_label("Venue").fill("National Science Library, Training Centre")
    page.get_by_role("button", name="Save").click()
    # POST, then redirect to the event's organiser page (works the same with JavaScript off).
    expect(page).to_have_url(re.compile(r"/organiser/events/advanced-workshop-on-multilingual-metadata$"))
    expect(page.get_by_role("status")).to_contain_text("Event created as a draft")

    add_talk(page, "Metadata in Chinese research libraries", "2031-05-12T10:00", "2031-05-12T11:00", "Room 201",
             "王小明 — Peking University Library")
    add_talk(page, "Knowledge graphs for scholarly records", "2031-05-12T10:00", "2031-05-12T11:00", "Room 305",
             "Anna Müller — TIB Hannover")
    talks = page.get_by_role("table")
    expect(talks).to_contain_text("Room 201")
    expect(talks).to_contain_text("Room 305")

    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("status")).to_contain_text("The event is published.")
    page.get_by_role("link", name="View public page").click()

    expect(page).to_have_url(re.compile(r"/events/advanced-workshop-on-multilingual-metadata$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Advanced Workshop on Multilingual Metadata")
    programme = page.locator("section.programme")
    expect(programme.get_by_role("heading", name="Programme")).to_be_visible()
    expect(programme).to_contain_text("Times are in Asia/Shanghai.")
    for text in ("10:00–11:00", "Metadata in Chinese research libraries", "Room 201", "王小明",
                 "Knowledge graphs for scholarly records", "Room 305", "Anna Müller"):
        expect(programme).to_contain_text(text)

    programme.get_by_role("link", name="王小明").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("王小明")
    expect(page.get_by_role("link", name="Advanced Workshop on Multilingual Metadata")).to_be_visible()
