"""What issue #11 found missing: subscribe links where people look, the feeds readable by a department's
JavaScript calendar, online events with their meeting link, the personal feed's zone, and a warning for local
times that daylight saving skips or repeats."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import icalendar

from tests.calendar_parsers import read_everywhere
from tests.conftest import login, make_event, post_form
from tests.registration_helpers import make_registration_event, register
from tests.test_calendar_feeds import add_speaker_talk
from tests.test_registration_calendar import create_feed

BASE = "http://testserver.local"


def links(page: str) -> list[str]:
    return [html.unescape(href) for href in re.findall(r'href="([^"]+)"', page)]


def subscribe_links_for(page: str, feed: str) -> dict[str, str]:
    """The webcal, Google and Outlook subscribe links of the page that point to ``feed`` (a path)."""
    found = {}
    for href in links(page):
        query = parse_qs(urlsplit(href).query)
        if href == f"webcal://testserver.local{feed}":
            found["webcal"] = href
        elif href.startswith("https://calendar.google.com/calendar/render?") and query.get("cid") == [
            f"webcal://testserver.local{feed}"
        ]:
            found["google"] = href
        elif href.startswith("https://outlook.live.com/calendar/0/addfromweb?") and query.get("url") == [
            f"{BASE}{feed}"
        ]:
            found["outlook"] = href
    return found


async def test_home_page_and_its_filters_offer_subscriptions_for_every_calendar(client, db, organiser):
    from events_app.events.services import SeriesService

    series = await SeriesService(session=db).create_series({"title": "Distinguished Lectures"}, creator=organiser)
    await db.commit()
    await make_event(db, organiser, series=series.slug)
    home = await client.get("/")
    assert set(subscribe_links_for(home.text, "/calendar.ics")) == {"webcal", "google", "outlook"}
    assert "Subscribe in Google Calendar" in home.text and "Subscribe in Outlook.com" in home.text
    filtered = (await client.get("/", params={"kind": "lecture", "series": series.slug})).text
    feed = f"/calendar.ics?kind=lecture&series={series.slug}"
    found = subscribe_links_for(filtered, feed)
    assert set(found) == {"webcal", "google", "outlook"}
    assert parse_qs(urlsplit(found["outlook"]).query)["name"] == ["Distinguished Lectures – Lecture"]
    assert (await client.get(feed)).status_code == 200  # the link leads somewhere real
    # A filter the feed does not know is left out rather than linking to a 404.
    assert subscribe_links_for((await client.get("/", params={"kind": "party"})).text, "/calendar.ics")
    assert "在 Google 日历中订阅" in (await client.get("/?lang=zh")).text


async def test_series_speaker_and_event_pages_offer_the_same_subscriptions(client, db, organiser):
    from events_app.events.services import SeriesService

    series = await SeriesService(session=db).create_series({"title": "Distinguished Lectures"}, creator=organiser)
    await db.commit()
    event = await make_event(db, organiser, series=series.slug, starts_at="2030-03-05T09:00",
                             ends_at="2030-03-05T18:00")
    speaker, _talk = await add_speaker_talk(db, event)
    for page, feed in ((f"/series/{series.slug}", f"/series/{series.slug}.ics"),
                       (f"/speakers/{speaker.id}", f"/speakers/{speaker.id}.ics"),
                       (f"/events/{event.slug}", f"/events/{event.slug}.ics"),
                       (f"/events/{event.slug}", f"/series/{series.slug}.ics")):
        assert set(subscribe_links_for((await client.get(page)).text, feed)) == {"webcal", "google", "outlook"}, page


async def test_public_feeds_may_be_read_by_other_sites_and_the_personal_one_may_not(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, event_overrides={
        "starts_at": "2030-03-05T09:00", "ends_at": "2030-03-05T18:00"})
    speaker, _talk = await add_speaker_talk(db, event)
    for url in ("/calendar.ics", "/calendar.ics?kind=lecture", f"/events/{event.slug}.ics", f"/speakers/{speaker.id}.ics"):
        response = await client.get(url, headers={"Origin": "https://physics.example.edu"})
        assert response.headers["access-control-allow-origin"] == "*", url
        cached = await client.get(url, headers={"If-None-Match": response.headers["etag"]})
        assert cached.status_code == 304 and cached.headers["access-control-allow-origin"] == "*"
    ana = await register(db, settings, event, "Ana")
    path, _page = await create_feed(client, ana.token)
    personal = await client.get(path, headers={"Origin": "https://physics.example.edu"})
    assert personal.status_code == 200 and "access-control-allow-origin" not in personal.headers


async def test_the_personal_feed_names_its_time_zone(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, event_overrides={"timezone": "Europe/Berlin"})
    ana = await register(db, settings, event, "Ana")
    path, _page = await create_feed(client, ana.token)
    calendar = icalendar.Calendar.from_ical((await client.get(path)).content)
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/Berlin"


async def test_online_and_hybrid_events_carry_the_meeting_link(client, db, organiser):
    online = await make_event(db, organiser, title="Online seminar", venue_name="",
                              online_url="https://meet.example.org/seminar")
    hybrid = await make_event(db, organiser, title="Hybrid lecture", online_url="https://meet.example.org/hybrid")
    onsite = await make_event(db, organiser, title="On site")
    body = (await client.get("/calendar.ics")).content
    calendar = icalendar.Calendar.from_ical(body)
    events = {str(e["SUMMARY"]): e for e in calendar.events}
    read = read_everywhere(body)
    assert read[f"event-{online.id}@testserver.local"].location == "Online"
    assert read[f"event-{hybrid.id}@testserver.local"].location == "Lecture Hall 1"
    for title, link in (("Online seminar", "https://meet.example.org/seminar"),
                        ("Hybrid lecture", "https://meet.example.org/hybrid")):
        vevent = events[title]
        assert str(vevent["URL"]) == link
        conference = vevent["CONFERENCE"]
        assert str(conference) == link and conference.params["VALUE"] == "URI"
        assert "VIDEO" in conference.params["FEATURE"]
        assert link in str(vevent["DESCRIPTION"])
    assert str(events["On site"]["URL"]) == f"{BASE}/events/{onsite.slug}" and "CONFERENCE" not in events["On site"]
    assert b"\r\nCONFERENCE;" in body


async def test_the_builder_takes_the_meeting_link_as_an_explicit_input(settings):
    """A later issue lets organisers keep a link for registered attendees only: the public feed then passes
    no link, the invitation the real one."""
    from events_app.calendar import build
    from tests.test_calendar_build import unsaved_event

    event = unsaved_event(online_url="https://meet.example.org/private", venue_name="")
    public = build.event_to_vevent(event, speakers=[], settings=settings, online_url="").to_ical()
    assert b"meet.example.org" not in public and b"CONFERENCE" not in public
    private = build.event_to_vevent(event, speakers=[], settings=settings, online_url=event.online_url).to_ical()
    assert b"CONFERENCE;" in private


async def test_the_event_form_warns_about_a_skipped_or_repeated_local_time_and_saves(client, db, organiser):
    from events_app.events.services import EventService

    event = await make_event(db, organiser, timezone="America/New_York", starts_at="2026-10-31T10:00",
                             ends_at="2026-10-31T12:00")
    await login(client, organiser.email)
    form = {"title": event.title, "kind": "lecture", "timezone": "America/New_York", "venue_name": "Hall",
            "summary": "", "starts_at": "2026-11-01T01:30", "ends_at": "2026-11-01T03:00"}
    edited = await post_form(client, f"/organiser/events/{event.slug}/edit", form, follow_redirects=True)
    assert edited.status_code == 200
    assert "01:30 happens twice on 2026-11-01 in America/New_York" in html.unescape(edited.text)
    assert "the first one (01:30 EDT, 2026-11-01T05:30Z)" in html.unescape(edited.text)
    saved = await EventService(session=db).load(event.id)
    assert saved.starts_at.isoformat() == "2026-11-01T05:30:00+00:00"

    form.update(starts_at="2027-03-14T02:30", ends_at="2027-03-14T04:00")
    edited = await post_form(client, f"/organiser/events/{event.slug}/edit", form, follow_redirects=True)
    assert "02:30 does not exist on 2027-03-14 in America/New_York" in html.unescape(edited.text)
    assert "saved as 03:30 EDT" in html.unescape(edited.text)
    form.update(starts_at="2027-03-15T16:00", ends_at="2027-03-15T17:00")
    edited = await post_form(client, f"/organiser/events/{event.slug}/edit", form, follow_redirects=True)
    assert "happens twice" not in edited.text and "does not exist" not in edited.text


async def test_the_talk_form_warns_too(client, db, organiser):
    event = await make_event(db, organiser, timezone="Europe/Berlin", starts_at="2030-03-30T09:00",
                             ends_at="2030-03-31T18:00")
    await login(client, organiser.email)
    page = f"/organiser/events/{event.slug}/talks/new"
    created = await post_form(client, page, {"title": "Night talk", "kind": "talk", "starts_at": "2030-03-31T02:15",
                                             "ends_at": "2030-03-31T04:00"}, follow_redirects=True)
    assert created.status_code == 200
    assert "02:15 does not exist on 2030-03-31 in Europe/Berlin" in html.unescape(created.text)
