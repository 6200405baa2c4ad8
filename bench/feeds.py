"""How fast are the feeds? (issues "Must be measured": /calendar.ics, and #11: a big programme's event feed)

    EVENTS_BENCH_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/ev_calendar .venv/bin/python bench/feeds.py

WIPES the database it is given, fills it with 5,000 published events (three talks each, speakers with
affiliations) and one conference with a programme of 2,000 talks (and 20 deleted talks' tombstones), then
times, in one run, for /calendar.ics and for /events/<conference>.ics:
  floor   icalendar building and serialising the same components, already in memory (no database, no HTTP)
  cold    the feed through the app with an empty VEVENT cache
  change  the feed after one event was edited / one talk moved (warm cache)
  304     the feed with If-None-Match
Targets: cold <= 1.5x floor, change <= 0.2x floor, 304 < 5 ms. Ratios are the median of per-round ratios,
each round timing the floor and the app back to back (the machine is shared; load moves between rounds).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import logging
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alembic import command  # noqa: E402
from alembic.config import Config  # noqa: E402
from icalendar import Calendar  # noqa: E402
from litestar.testing import AsyncTestClient  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.ext.asyncio import async_sessionmaker  # noqa: E402

from events_app.app import create_app  # noqa: E402
from events_app.calendar import build  # noqa: E402
from events_app.calendar.models import CalendarTombstone  # noqa: E402
from events_app.calendar.services import (  # noqa: E402
    FeedScope,
    event_entries,
    feed_entries,
    load_events,
    load_talks,
    programme_entries,
    recent_tombstones,
    speakers_by_event,
)
from events_app.calendar.serving import main_zone  # noqa: E402
from events_app.calendar.zones import build_vtimezone  # noqa: E402
from events_app.db import create_engine  # noqa: E402
from events_app.devserver import ensure_database, throwaway_secret_key  # noqa: E402
from events_app.events.models import Event, EventKind, EventStatus, Series  # noqa: E402
from events_app.events.services import EventService  # noqa: E402
from events_app.models import metadata  # noqa: E402
from events_app.routes import build_route_table  # noqa: E402
from events_app.schedule.models import Talk, TalkSpeaker  # noqa: E402
from events_app.schedule.services import TalkService  # noqa: E402
from events_app.settings import PROJECT_ROOT, Settings  # noqa: E402
from events_app.speakers.models import Person  # noqa: E402
from events_app.web.urls import use_routes  # noqa: E402
from events_app.wiring import wire  # noqa: E402

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/ev_calendar"
ZONES = ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Europe/London", "UTC"]
PROGRAMME_SLUG = "big-programme"
ABSTRACT = ("We present recent results on decoding quantum error-correcting codes, with a comparison of "
            "belief-propagation and neural decoders on surface and colour codes; joint work, 2026.\n"
            "Slides and code: https://example.org/talks.")


def bare_floor(calendar: Calendar, components: list, span: tuple[dt.date, dt.date]) -> bytes:
    """icalendar alone: the VTIMEZONEs built (uncached) and the components serialised in one to_ical()."""
    for tzid in sorted(set().union(*(build.used_tzids(c) for c in components))):
        calendar.add_component(build_vtimezone(tzid, *span))
    for component in components:
        calendar.add_component(component)
    return calendar.to_ical()


def rebuild_schema(url: str) -> None:
    async def drop() -> None:
        engine = create_engine(Settings(database_url=url), pooled=False)
        async with engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        await engine.dispose()

    asyncio.run(drop())
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["database_url"] = url
    config.attributes["configure_logging"] = False
    command.upgrade(config, "heads")


async def fill(url: str, events: int, talks_per_event: int) -> None:
    rng = random.Random(5545)
    engine = create_engine(Settings(database_url=url), pooled=False)
    now = dt.datetime.now(dt.UTC)
    stamp = {"created_at": now, "updated_at": now}
    async with engine.begin() as conn:
        await conn.execute(insert(Series), [
            {"id": i, "slug": f"series-{i}", "title": f"Series {i}, lectures; 第{i}", "description": "", **stamp}
            for i in range(1, 21)
        ])
        await conn.execute(insert(Person), [
            {"id": i, "full_name": f"Speaker {i} 王", "honorific": "Prof." if i % 3 == 0 else "",
             "affiliation": f"University {i % 97}, Department of Physics", "country": "CN", "email": "",
             "bio": "", "homepage": "", "orcid": "", **stamp}
            for i in range(1, 2001)
        ])
        event_rows, talk_rows, link_rows = [], [], []
        talk_id = link_id = 0
        base = dt.datetime(2025, 1, 6, 1, 0, tzinfo=dt.UTC)
        for i in range(1, events + 1):
            starts = base + dt.timedelta(hours=7 * i)
            ends = starts + dt.timedelta(hours=talks_per_event + 1)
            event_rows.append({
                "id": i, "slug": f"event-{i}", "kind": rng.choice(list(EventKind)).value,
                "title": f"Event {i}: Quantum information, theory; practice 量子信息",
                "summary": "A day of talks on quantum information science.\nWith a reception afterwards.",
                "description": "", "starts_at": starts, "ends_at": ends, "timezone": rng.choice(ZONES),
                "venue_name": "Lecture Hall 1", "venue_address": "5 Yiheyuan Road, Haidian, Beijing",
                "online_url": "https://meet.example.org/room" if i % 4 == 0 else "",
                "geo_lat": 39.99, "geo_lon": 116.31, "language": "en", "organiser": "Institute of Physics",
                "partners": [], "status": EventStatus.PUBLISHED.value, "series_id": (i % 20) + 1 if i % 3 == 0 else None,
                "revision": 0, **stamp,
            })
            for j in range(talks_per_event):
                talk_id += 1
                talk_rows.append({
                    "id": talk_id, "event_id": i, "title": f"Talk {j}", "abstract": "", "room": "Room 204",
                    "starts_at": starts + dt.timedelta(hours=j), "ends_at": starts + dt.timedelta(hours=j, minutes=45),
                    "revision": 0, **stamp,
                })
                for position in range(2 if j == 0 else 1):
                    link_id += 1
                    link_rows.append({"id": link_id, "talk_id": talk_id, "person_id": rng.randint(1, 2000),
                                      "position": position, **stamp})
        # The big programme: a five-day conference, 20 rooms, 2,000 talks of one or two speakers.
        conference = events + 1
        starts = dt.datetime(2027, 5, 3, 7, 0, tzinfo=dt.UTC)
        event_rows.append({
            **event_rows[0], "id": conference, "slug": PROGRAMME_SLUG, "kind": EventKind.CONFERENCE.value,
            "title": "International Conference on Quantum Information, 2027; 量子信息国际会议",
            "starts_at": starts, "ends_at": starts + dt.timedelta(days=4, hours=11), "timezone": "Europe/Berlin",
            "series_id": None, "online_url": "https://meet.example.org/qi2027",
        })
        for n in range(2000):
            day, slot, room = n // 400, (n % 400) // 20, n % 20
            talk_id += 1
            begins = starts + dt.timedelta(days=day, minutes=30 * slot)
            talk_rows.append({
                "id": talk_id, "event_id": conference, "title": f"Talk {n}: error correction, codes; decoders",
                "abstract": ABSTRACT, "room": f"Room {room + 1}", "starts_at": begins,
                "ends_at": begins + dt.timedelta(minutes=25), "revision": 0, **stamp,
            })
            for position in range(1 + n % 2):
                link_id += 1
                link_rows.append({"id": link_id, "talk_id": talk_id, "person_id": rng.randint(1, 2000),
                                  "position": position, **stamp})
        await conn.execute(insert(Event), event_rows)
        await conn.execute(insert(Talk), talk_rows)
        await conn.execute(insert(CalendarTombstone), [
            {"id": i + 1, "talk_id": 10_000_000 + i, "event_id": conference, "summary": f"Withdrawn talk {i}",
             "starts_at": starts + dt.timedelta(hours=i), "ends_at": starts + dt.timedelta(hours=i, minutes=25),
             "timezone": "Europe/Berlin", "sequence": 1, "deleted_at": now, "person_ids": [], **stamp}
            for i in range(20)
        ])
        # a talk may get the same speaker twice by chance; keep the first
        seen, unique_links = set(), []
        for row in link_rows:
            if (row["talk_id"], row["person_id"]) not in seen:
                seen.add((row["talk_id"], row["person_id"]))
                unique_links.append(row)
        await conn.execute(insert(TalkSpeaker), unique_links)
        if url.startswith("postgresql"):
            for table in ("series", "person", "event", "talk", "talk_speaker", "calendar_tombstone"):
                await conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
                await conn.execute(text(f"ANALYZE {table}"))
    await engine.dispose()


async def measure(url: str, repeats: int) -> dict[str, float]:
    settings = Settings(database_url=url, base_url="https://events.example.org", db_pool_size=5,
                        secret_key=throwaway_secret_key())
    use_routes(build_route_table(settings))  # the floor builds VEVENTs (their URL) before any app exists
    engine = create_engine(settings, pooled=False)
    session_maker = async_sessionmaker(engine, expire_on_commit=False)
    now = dt.datetime.now(dt.UTC)

    # The same events, in memory, as the floor's input (not timed).
    async with session_maker() as session:
        entries = await feed_entries(session, FeedScope(), now)
        ids = [e.id for e in entries]
        events = await load_events(session, ids, FeedScope().where(now))
        speakers = await speakers_by_event(session, ids)
    ordered = [events[i] for i in ids]
    zone = main_zone(entries)

    changed_at = {e.id: e.changed_at for e in entries}

    def floor_once() -> bytes:
        calendar = build.feed_calendar(
            name="International Programme",
            description="Conferences, workshops and invited lectures of the International Programme.",
            settings=settings, zone=zone,
        )
        components = [
            build.event_to_vevent(event, speakers=speakers.get(event.id, []), settings=settings,
                                  online_url=event.online_url, changed_at=changed_at[event.id])
            for event in ordered
        ]
        return bare_floor(calendar, components, build.event_span(ordered))

    floor_times, cold_times, change_times, not_modified_times = [], [], [], []
    same_bytes = True
    # Floor and app are timed in the same round, back to back, so both see the same machine load.
    for round_number in range(repeats):
        gc.collect()
        started = time.perf_counter()
        floor_body = floor_once()
        floor_times.append(time.perf_counter() - started)
        app = create_app(settings)  # a fresh process-equivalent: empty cache
        async with AsyncTestClient(app=app, base_url="https://events.example.org") as client:
            await client.get("/healthz", params={"db": 1})  # connection pool and imports warm
            gc.collect()
            started = time.perf_counter()
            cold = await client.get("/calendar.ics")
            cold_times.append(time.perf_counter() - started)
            assert cold.status_code == 200, cold.status_code
            if round_number == 0:  # later rounds follow an edit
                same_bytes = cold.content == floor_body

            async with session_maker() as session:
                service = EventService(session=session)
                event = await service.load(ids[len(ids) // 2])
                await service.update_event(event, {"venue_name": f"Lecture Hall {round_number + 2}"})
                await session.commit()
            gc.collect()
            started = time.perf_counter()
            changed = await client.get("/calendar.ics")
            change_times.append(time.perf_counter() - started)
            assert changed.status_code == 200 and changed.content != cold.content

            etag = changed.headers["etag"]
            for _ in range(30):
                started = time.perf_counter()
                response = await client.get("/calendar.ics", headers={"If-None-Match": etag})
                not_modified_times.append(time.perf_counter() - started)
                assert response.status_code == 304
    await engine.dispose()
    return {
        "events": len(ids),
        "bytes": len(floor_body),
        "floor": statistics.median(floor_times),
        "cold_ratio": statistics.median(c / f for c, f in zip(cold_times, floor_times, strict=True)),
        "change_ratio": statistics.median(c / f for c, f in zip(change_times, floor_times, strict=True)),
        "cold": statistics.median(cold_times),
        "change": statistics.median(change_times),
        "not_modified": statistics.median(not_modified_times),
        "same_bytes": same_bytes,
    }


async def measure_programme(url: str, repeats: int) -> dict[str, float]:
    """/events/<conference>.ics: the event, its 2,000 talks and 20 tombstones."""
    settings = Settings(database_url=url, base_url="https://events.example.org", db_pool_size=5,
                        secret_key=throwaway_secret_key())
    use_routes(build_route_table(settings))
    engine = create_engine(settings, pooled=False)
    session_maker = async_sessionmaker(engine, expire_on_commit=False)
    now = dt.datetime.now(dt.UTC)
    path = f"/events/{PROGRAMME_SLUG}.ics"

    async def inputs():
        """The same components' inputs, in memory (not timed)."""
        async with session_maker() as session:
            event_id = await session.scalar(text(f"SELECT id FROM event WHERE slug = '{PROGRAMME_SLUG}'"))
            entry = (await event_entries(session, [event_id], now))[event_id]
            entries, _tombstones = await programme_entries(session, entry, now, with_talks=True)
            talks = await load_talks(session, [e.id for e in entries if e.kind == "talk"], [event_id])
            event = (await load_events(session, [event_id]))[event_id]
            speakers = (await speakers_by_event(session, [event_id])).get(event_id, [])
            tombstones = await recent_tombstones(session, now, event_id=event_id)
        return event_id, entries, event, speakers, talks, tombstones

    def floor_once(state) -> bytes:
        event_id, entries, event, speakers, talks, tombstones = state
        changed = {(e.kind, e.id): e.changed_at for e in entries}
        calendar = build.feed_calendar(name=event.title, description=event.summary, settings=settings,
                                       zone=event.timezone)
        components = [build.event_to_vevent(event, speakers=speakers, settings=settings, online_url=event.online_url,
                                            changed_at=changed["event", event_id])]
        for e in entries:
            if e.kind == "talk":
                talk, people = talks[e.id]
                components.append(build.talk_to_vevent(talk, event, speakers=people, settings=settings,
                                                       online_url=event.online_url, changed_at=e.changed_at))
        components += [build.tombstone_to_vevent(t, settings=settings, event=event) for t in tombstones]
        return bare_floor(calendar, components, build.event_span(entries))

    floor_times, cold_times, change_times, not_modified_times = [], [], [], []
    same_bytes = True
    for _round in range(repeats):
        state = await inputs()
        gc.collect()
        started = time.perf_counter()
        floor_body = floor_once(state)
        floor_times.append(time.perf_counter() - started)
        app = create_app(settings)
        async with AsyncTestClient(app=app, base_url="https://events.example.org") as client:
            await client.get("/healthz", params={"db": 1})
            gc.collect()
            started = time.perf_counter()
            cold = await client.get(path)
            cold_times.append(time.perf_counter() - started)
            assert cold.status_code == 200, cold.status_code
            same_bytes = same_bytes and cold.content == floor_body

            async with session_maker() as session:  # one talk moves by five minutes
                talks = TalkService(session=session)
                event = await EventService(session=session).by_slug(PROGRAMME_SLUG)
                talk = await talks.by_id(sorted(state[4])[len(state[4]) // 2])
                await talks.update_talk(event, talk, {"starts_at": (talk.starts_at + dt.timedelta(minutes=5)).isoformat(),
                                                      "ends_at": (talk.ends_at + dt.timedelta(minutes=5)).isoformat()},
                                        override=True)
                await session.commit()
            gc.collect()
            started = time.perf_counter()
            changed = await client.get(path)
            change_times.append(time.perf_counter() - started)
            assert changed.status_code == 200 and changed.content != cold.content

            etag = changed.headers["etag"]
            for _ in range(30):
                started = time.perf_counter()
                response = await client.get(path, headers={"If-None-Match": etag})
                not_modified_times.append(time.perf_counter() - started)
                assert response.status_code == 304
    await engine.dispose()
    return {
        "events": len(state[1]),
        "bytes": len(floor_body),
        "floor": statistics.median(floor_times),
        "cold_ratio": statistics.median(c / f for c, f in zip(cold_times, floor_times, strict=True)),
        "change_ratio": statistics.median(c / f for c, f in zip(change_times, floor_times, strict=True)),
        "cold": statistics.median(cold_times),
        "change": statistics.median(change_times),
        "not_modified": statistics.median(not_modified_times),
        "same_bytes": same_bytes,
    }


def report(title: str, figures: dict, change: str) -> None:
    floor = figures["floor"]
    print(f"--- {title}: {figures['events']} VEVENTs, {figures['bytes'] / 1e6:.2f} MB")
    print(f"floor (icalendar, in memory): {floor * 1000:8.1f} ms")
    print(f"cold cache via the app:       {figures['cold'] * 1000:8.1f} ms  = {figures['cold_ratio']:.2f}x floor (target <= 1.5x)")
    print(f"after {change}:{' ' * (23 - len(change))}{figures['change'] * 1000:8.1f} ms  = {figures['change_ratio']:.2f}x floor (target <= 0.2x)")
    print(f"conditional request, 304:     {figures['not_modified'] * 1000:8.2f} ms  (target < 5 ms)")
    print(f"app output identical to plain icalendar output: {figures['same_bytes']}")


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would bury the figures
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--talks", type=int, default=3, help="talks per event")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    url = os.environ.get("EVENTS_BENCH_DATABASE_URL", DEFAULT_URL)
    wire()
    print(f"database: {url}")
    asyncio.run(ensure_database(url))
    rebuild_schema(url)
    asyncio.run(fill(url, args.events, args.talks))
    report("/calendar.ics", asyncio.run(measure(url, args.repeats)), "one event changed")
    report(f"/events/{PROGRAMME_SLUG}.ics", asyncio.run(measure_programme(url, args.repeats)), "one talk moved")


if __name__ == "__main__":
    main()
