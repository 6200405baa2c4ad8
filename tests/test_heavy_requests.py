"""A heavy request does not stall everyone: big feeds are built off the event loop, identical concurrent misses
are computed once, and a big conference's page links to its programme instead of listing every talk."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest

from events_app.calendar import feeds as calendar_feeds
from events_app.calendar import services as calendar_services
from events_app.calendar import serving as calendar_serving
from events_app.settings import Settings
from tests.test_query_counts import event_with_programme


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, event_page_talk_limit=4)  # a "big" programme: more than 4 talks


async def test_concurrent_identical_feed_requests_build_the_feed_once(app, client, db, organiser, monkeypatch):
    event = await event_with_programme(db, organiser, title="Summit", talks=6, speakers_per_talk=2, days_ahead=15)
    original = calendar_feeds.programme_entries
    builds = 0

    async def slow_programme_entries(*args, **kwargs):
        nonlocal builds
        builds += 1
        await asyncio.sleep(0.2)  # long enough for every request below to arrive while the first builds
        return await original(*args, **kwargs)

    monkeypatch.setattr(calendar_feeds, "programme_entries", slow_programme_entries)
    # httpx straight on the ASGI app: requests really run concurrently (the test client takes them in turn).
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as many:
        answers = await asyncio.gather(*(many.get(f"/events/{event.slug}.ics") for _ in range(8)))
    assert [a.status_code for a in answers] == [200] * 8
    assert len({a.content for a in answers}) == 1 and b"BEGIN:VEVENT" in answers[0].content
    assert builds == 1
    assert calendar_serving.feed_flights(app).computations == 1

    assert len(calendar_serving.feed_flights(app)) == 0  # nothing left in flight


async def test_a_feed_built_in_a_worker_thread_is_the_same_feed(app, client, db, organiser, monkeypatch):
    event = await event_with_programme(db, organiser, title="Summit", talks=6, speakers_per_talk=2, days_ahead=15)
    on_loop = await client.get(f"/events/{event.slug}.ics?lang=zh")
    app.state.pop("calendar_vevent_cache", None)
    monkeypatch.setattr(calendar_services, "OFF_LOOP_ENTRIES", 1)
    monkeypatch.setattr(calendar_serving, "OFF_LOOP_ENTRIES", 1)
    threads = []
    original = asyncio.to_thread

    async def counting_to_thread(function, *args, **kwargs):
        threads.append(function.__name__)
        return await original(function, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counting_to_thread)
    off_loop = await client.get(f"/events/{event.slug}.ics?lang=zh")
    assert threads == ["build_all", "serialise"]
    assert off_loop.status_code == 200 and off_loop.content == on_loop.content  # the language went along too


async def test_a_big_conference_page_links_to_its_programme_instead_of_listing_every_talk(app, client, db, organiser):
    small = await event_with_programme(db, organiser, title="Workshop", talks=3, speakers_per_talk=1, days_ahead=10)
    big = await event_with_programme(db, organiser, title="Congress", talks=5, speakers_per_talk=2, days_ahead=20)

    listed = (await client.get(f"/events/{small.slug}")).text
    assert listed.count('class="talk"') == 3 and 'class="speaker-list"' in listed

    page = await client.get(f"/events/{big.slug}")
    assert page.status_code == 200
    assert 'class="talk"' not in page.text and 'class="speaker-list"' not in page.text
    assert "The programme has 5 talks." in page.text
    assert f'href="/events/{big.slug}/programme"' in page.text
    assert "日程共有 5 场报告。" in (await client.get(f"/events/{big.slug}?lang=zh")).text


async def test_concurrent_identical_programme_exports_are_built_once(app, client, db, organiser, monkeypatch):
    from events_app.schedule import controllers as schedule_controllers

    event = await event_with_programme(db, organiser, title="Summit", talks=3, speakers_per_talk=1, days_ahead=15)
    original = schedule_controllers.load_programme
    loads = 0

    async def slow_load_programme(*args, **kwargs):
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.2)
        return await original(*args, **kwargs)

    monkeypatch.setattr(schedule_controllers, "load_programme", slow_load_programme)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as many:
        for path in (f"/events/{event.slug}/schedule.json", f"/events/{event.slug}/programme"):
            answers = await asyncio.gather(*(many.get(path) for _ in range(6)))
            assert [a.status_code for a in answers] == [200] * 6 and len({a.content for a in answers}) == 1
    assert loads == 2  # one for the JSON, one for the page
