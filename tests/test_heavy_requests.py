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
    assert calendar_serving.feed_flights(app).computations == 2  # one build, one gzip (httpx accepts gzip)

    assert len(calendar_serving.feed_flights(app)) == 0  # nothing left in flight


async def test_a_repeated_feed_request_is_served_as_it_was_built_until_something_changes(client, db, organiser,
                                                                                       monkeypatch):
    from events_app.events.services import EventService

    event = await event_with_programme(db, organiser, title="Summit", talks=3, speakers_per_talk=1, days_ahead=15)
    original = calendar_feeds.programme_entries
    builds = 0

    async def counting_programme_entries(*args, **kwargs):
        nonlocal builds
        builds += 1
        return await original(*args, **kwargs)

    monkeypatch.setattr(calendar_feeds, "programme_entries", counting_programme_entries)
    first = await client.get(f"/events/{event.slug}.ics")
    again = await client.get(f"/events/{event.slug}.ics")
    assert first.status_code == again.status_code == 200 and again.content == first.content
    assert builds == 1  # the second request read no talks: the finished feed was kept under its ETag

    service = EventService(session=db)
    await service.update_event(await service.load(event.id), {"title": "Summit renamed"})
    await db.commit()
    changed = await client.get(f"/events/{event.slug}.ics")
    assert builds == 2 and b"Summit renamed" in changed.content
    assert changed.headers["etag"] != first.headers["etag"]
    assert (await client.get(f"/events/{event.slug}.ics?lang=zh")).status_code == 200
    assert builds == 3  # another language is another feed


async def test_a_client_accepting_gzip_gets_the_feed_compressed_under_its_own_etag(app, client, db, organiser):
    import gzip

    event = await event_with_programme(db, organiser, title="Summit", talks=3, speakers_per_talk=1, days_ahead=15)
    url = f"/events/{event.slug}.ics"
    plain = await client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    # Read without decoding, as sent: one gzip member holding exactly the plain feed. Through the same client:
    # it runs the app on its own event loop, and the app's pooled connections belong to that loop.
    async with client.stream("GET", url, headers={"Accept-Encoding": "br, gzip;q=0.8"}) as packed:
        body = b"".join([chunk async for chunk in packed.aiter_raw()])
    assert packed.headers["content-encoding"] == "gzip" and gzip.decompress(body) == plain.content
    assert int(packed.headers["content-length"]) == len(body) < len(plain.content)
    assert "Accept-Encoding" in packed.headers["vary"] and "Accept-Encoding" in plain.headers["vary"]
    assert packed.headers["etag"] != plain.headers["etag"] and packed.headers["etag"].endswith('-gzip"')
    refused = await client.get(url, headers={"Accept-Encoding": "gzip;q=0, deflate"})
    assert "content-encoding" not in refused.headers and refused.headers["etag"] == plain.headers["etag"]
    # Either copy is current: the same feed in another representation.
    for tag in (plain.headers["etag"], packed.headers["etag"]):
        assert (await client.get(url, headers={"If-None-Match": tag})).status_code == 304


async def test_a_feed_built_in_a_worker_thread_is_the_same_feed(app, client, db, organiser, monkeypatch):
    event = await event_with_programme(db, organiser, title="Summit", talks=6, speakers_per_talk=2, days_ahead=15)
    on_loop = await client.get(f"/events/{event.slug}.ics?lang=zh")
    app.state.pop("calendar_vevent_cache", None)
    app.state.pop("calendar_feed_bodies", None)  # the finished feed too, or it is served as it was
    monkeypatch.setattr(calendar_services, "OFF_LOOP_ENTRIES", 1)
    monkeypatch.setattr(calendar_serving, "OFF_LOOP_ENTRIES", 1)
    threads = []
    original = asyncio.to_thread

    async def counting_to_thread(function, *args, **kwargs):
        threads.append(function.__name__)
        return await original(function, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counting_to_thread)
    off_loop = await client.get(f"/events/{event.slug}.ics?lang=zh")
    assert threads == ["build_all_paused", "serialise_paused"]
    assert off_loop.status_code == 200 and off_loop.content == on_loop.content  # the language went along too


def test_the_garbage_collector_is_paused_while_builds_run_and_resumes_after_the_last():
    import gc

    from events_app.core.gc_pause import collector_paused

    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # two builds at once (two threads)
            assert not gc.isenabled()
        assert not gc.isenabled()  # the first is still running
    assert gc.isenabled()


async def test_a_started_app_keeps_the_collector_off_what_start_up_built_and_collects_the_young_less_often(client):
    import gc

    from events_app.core.gc_pause import YOUNG_GENERATION

    # The client's app has started (its lifespan ran): a full collection would no longer walk the modules, the
    # app and its templates, and a request's objects mostly die before the youngest generation is collected.
    assert (await client.get("/healthz")).status_code == 200
    assert gc.get_freeze_count() > 10_000
    assert gc.get_threshold()[0] == YOUNG_GENERATION


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
