"""A visitor finds an invited lecture on the home page through the filters and opens it."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.actions import expect

pytestmark = pytest.mark.browser

LECTURE = "Multilingual Metadata: Lessons from Arabic-Script Collections"


def test_visitor_filters_the_home_page_down_to_an_invited_lecture_and_opens_it(site, page):
    site.demo()
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Upcoming events")
    expect(page.locator(".card")).not_to_have_count(1)

    page.get_by_label("Kind").select_option("lecture")
    page.get_by_label("Series").select_option(label="Distinguished Lectures on Open Science")
    page.get_by_label("Search").fill("metadata")
    page.get_by_role("button", name="Filter").click()

    # A GET form: the filters land in the address, so the result can be bookmarked and shared.
    expect(page).to_have_url(re.compile(r"kind=lecture"))
    query = parse_qs(urlsplit(page.url).query)
    assert query["kind"] == ["lecture"] and query["series"] == ["distinguished-lectures"] and query["q"] == ["metadata"]
    expect(page.get_by_label("Kind")).to_have_value("lecture")
    cards = page.locator(".card")
    expect(cards).to_have_count(1)
    expect(cards).to_contain_text("Lecture")
    expect(cards).to_contain_text("National Science Library, Lecture Hall 1")

    cards.get_by_role("link", name=LECTURE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(LECTURE)
    expect(page.locator(".facts")).to_contain_text("Asia/Shanghai")
    speakers = page.locator("section.speakers")
    expect(speakers.get_by_role("link", name="ليلى حداد")).to_be_visible()
    expect(speakers).to_contain_text("American University of Beirut")


def test_visitor_reads_the_site_in_chinese(site, page):
    site.demo()
    page.goto("/?lang=zh")
    expect(page.locator("html")).to_have_attribute("lang", re.compile("^zh"))
    # Chinese glyphs need fonts-noto-cjk; a missing font would still pass here but shows in the screenshots.
    expect(page.get_by_role("heading", level=1)).not_to_have_text("Upcoming events")
