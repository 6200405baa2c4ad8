"""The public read path (events/public.py): plain rows of published and cancelled events for the pages and the
API, kept between requests where nothing per request depends on them; a draft is never served through it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import pytest
from litestar.exceptions import NotFoundException

from events_app.settings import Settings
from tests.calls_helpers import make_call
from tests.conftest import make_event
from tests.registration_helpers import make_registration_event, register


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, page_cache_seconds=0)  # every request renders; kept parts stay on


def _in_future(days: int, hour: int = 14) -> str:
    day = dt.date.today() + dt.timedelta(days=days)
    return f"{day.isoformat()}T{hour:02d}:00"


async def test_public_reads_never_return_a_draft_and_do_return_a_cancelled_event(db, organiser):
    from events_app.events.public import public_event, public_events
    from events_app.events.services import EventFilters

    draft = await make_event(db, organiser, title="Secret Draft", publish=False, starts_at=_in_future(4),
                             ends_at=_in_future(4, 16))
    cancelled = await make_event(db, organiser, title="Cancelled Lecture", status="cancelled",
                                 starts_at=_in_future(5), ends_at=_in_future(5, 16))
    with pytest.raises(NotFoundException):
        await public_event(db, draft.slug)
    assert (await public_event(db, cancelled.slug)).is_cancelled
    listed, total = await public_events(db, EventFilters(limit=20))
    assert [e.slug for e in listed] == [cancelled.slug] and total.count == 1
    found, total = await public_events(db, EventFilters(q="secret", limit=20))
    assert found == [] and total.count == 0


async def test_an_event_taken_back_to_draft_leaves_its_page_the_list_and_the_api_at_once(client, db, organiser):
    from events_app.events.models import EventStatus
    from events_app.events.services import EventService

    event = await make_event(db, organiser, title="Withdrawn Lecture", starts_at=_in_future(6),
                             ends_at=_in_future(6, 16))
    for _ in range(2):  # the second request is served from the kept row
        assert (await client.get(f"/events/{event.slug}")).status_code == 200
        assert "Withdrawn Lecture" in (await client.get("/")).text
    await EventService(session=db).set_status(await EventService(session=db).load(event.id), EventStatus.DRAFT)
    await db.commit()
    assert (await client.get(f"/events/{event.slug}")).status_code == 404
    assert "Withdrawn Lecture" not in (await client.get("/")).text
    assert (await client.get("/api/events")).json()["items"] == []


async def test_the_api_shows_a_public_row_exactly_as_it_showed_the_model(db, organiser, settings):
    from events_app.events.public import public_event
    from events_app.events.schemas import event_out
    from events_app.events.services import EventService, SeriesService

    series = await SeriesService(session=db).create_series({"title": "Distinguished Lectures"}, creator=organiser)
    await db.commit()
    event = await make_event(db, organiser, title="Lecture <one>", series=series.slug, partners=["TIB", "中国科学院"],
                             online_url="https://meet.example.org/x", online_url_private=True, geo_lat=39.9,
                             geo_lon=116.4, timezone="Europe/Berlin")
    model = await EventService(session=db).load(event.id)
    row = await public_event(db, event.slug)
    assert event_out(row, settings.base_url) == event_out(model, settings.base_url)
    assert event_out(row, settings.base_url).online_url == ""  # kept for registered attendees


async def test_an_upcoming_listing_counts_its_events_once_and_again_after_a_change(app, client, db, organiser):
    from tests.test_query_counts import counted_statements

    await make_event(db, organiser, title="First Lecture", starts_at=_in_future(3), ends_at=_in_future(3, 16))
    assert "1 event" in (await client.get("/")).text
    # Kept where every process's writes are heard (PostgreSQL): the page's keys and the total, so the page shown
    # again reads nothing. SQLite reads the page and counts with it, in the same statement.
    kept = app.state.page_cache.needs_listener
    for url in ("/", "/api/events"):
        for _ in range(20):  # on PostgreSQL the arrangement's own notifications arrive asynchronously
            await client.get(url)
            with counted_statements(app) as statements:
                await client.get(url)
            if not statements:
                break
        if kept:
            assert statements == [], statements
        else:
            assert len(statements) == 1 and "count(" in statements[0].lower(), statements
    if kept:  # another page of the same listing: its keys are read, not counted again
        with counted_statements(app) as statements:
            assert (await client.get("/api/events?limit=1")).json()["total"] == 1
        assert len(statements) == 1 and "count(" not in statements[0].lower(), statements
    await make_event(db, organiser, title="Second Lecture", starts_at=_in_future(4), ends_at=_in_future(4, 16))
    assert "2 events" in (await client.get("/")).text
    assert (await client.get("/api/events")).json()["total"] == 2


async def test_the_event_list_answers_the_same_bytes_from_kept_items_and_shows_a_change_at_once(client, db, organiser):
    from events_app.events.services import EventService

    for number in range(3):
        await make_event(db, organiser, title=f"Lecture <{number}>", starts_at=_in_future(3 + number),
                         ends_at=_in_future(3 + number, 16), partners=["TIB", "中国科学院"])
    first = (await client.get("/api/events?limit=2")).content
    for _ in range(3):  # the total and the items kept (on PostgreSQL once the arrangement's notifications arrived)
        assert (await client.get("/api/events?limit=2")).content == first
    assert [e["title"] for e in (await client.get("/api/events?limit=2&offset=2")).json()["items"]] == ["Lecture <2>"]
    listed = (await client.get("/api/events?limit=2")).json()["items"][0]
    await EventService(session=db).update_event(await EventService(session=db).load(listed["id"]),
                                                {"title": "Renamed"})
    await db.commit()
    body = (await client.get("/api/events?limit=2")).json()
    assert body["items"][0]["title"] == "Renamed" and body["total"] == 3


async def test_an_address_kept_for_one_event_never_shows_another_that_took_it_in_another_process(
        app, client, db, organiser, settings):
    """The browser tests' data helper writes from another process; on SQLite this process hears nothing of it."""
    from events_app.events.public import public_event

    event = await make_registration_event(db, organiser, settings, capacity=3)
    assert (await client.get(f"/events/{event.slug}")).status_code == 200
    if not app.state.page_cache.needs_listener:  # SQLite: the row is read on every request, never kept by address
        await client.get(f"/events/{event.slug}")
        cache = app.state.fragments
        assert not any(key[:2] == ("value", "public-event") for key in cache.fragments)
    assert (await public_event(db, event.slug)).id == event.id


async def test_seat_counts_are_fresh_on_every_request_while_the_event_row_is_kept(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=3)
    assert "3 seats left" in (await client.get(f"/events/{event.slug}")).text
    for name, left in (("Ada", "2 seats left"), ("Grace", "1 seat left")):
        await register(db, settings, event, name)
        assert left in (await client.get(f"/events/{event.slug}")).text


async def test_the_chinese_page_is_chinese_in_every_kept_part(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=3)
    await make_call(db, organiser, event=event)
    english = (await client.get(f"/events/{event.slug}")).text
    chinese = (await client.get(f"/events/{event.slug}?lang=zh")).text
    assert "Add to your calendar" in english and "Calls for abstracts and applications" in english
    assert "添加到日历" in chinese and "报名" in chinese and "Add to your calendar" not in chinese
    assert "Calls for abstracts and applications" not in chinese
    assert "Add to your calendar" in (await client.get(f"/events/{event.slug}?lang=en")).text


async def test_a_call_is_linked_while_open_and_the_page_keeps_it_no_longer_than_the_call_stays_as_it_is(
        client, db, organiser, settings):
    from events_app.calls.services import event_page_context

    event = await make_registration_event(db, organiser, settings, capacity=3)
    later = await make_call(db, organiser, event=event, opens_in=dt.timedelta(days=2), title="Later call")
    now_open = await make_call(db, organiser, event=event, closes_in=dt.timedelta(days=5), title="Open call")
    page = (await client.get(f"/events/{event.slug}")).text
    assert "Open call" in page and "Later call" not in page
    context = await event_page_context(db, event=event)
    assert [c.id for c in context["open_calls"]] == [now_open.id]
    assert context["calls_change_at"] == later.opens_at  # when the list changes by the clock
    assert await event_page_context(db, event=event, kept_parts=frozenset({"event-calls"})) == {}


def test_a_kept_part_is_not_served_past_the_instant_it_was_given():
    from events_app.web import page_cache
    from events_app.web.fragments import FragmentCache

    cache = FragmentCache(seconds=30)
    generation, sequence = page_cache.current_generation(), page_cache.current_event_sequence()
    now = dt.datetime.now(dt.UTC)
    cache.put(("calls", 1), "<p>open</p>", generation, sequence, until=now + dt.timedelta(seconds=0.05))
    cache.put(("more", 1), "<p>kept</p>", generation, sequence, until=now + dt.timedelta(hours=1))
    assert cache.get(("calls", 1), 1) == "<p>open</p>"
    time.sleep(0.1)
    assert cache.get(("calls", 1), 1) is None
    assert cache.get(("more", 1), 1) == "<p>kept</p>"
