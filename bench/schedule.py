"""Programme and schedule exports of a 2,000-talk conference, on PostgreSQL.

Builds one conference (2,000 talks in 10 rooms over 5 days, 200 chaired sessions, speakers with Chinese and
Latin names), then times, in the same run and in-process (no network):
  - the programme page, schedule.xml and schedule.json, cold (first request after the app starts) and after
    one talk has moved (first request after the change, so the rendered cache cannot help);
  - a conditional request (If-None-Match with the programme's ETag) answered 304;
  - the SQL statements each request runs, next to the same counts for a 20-talk conference.

    EVENTS_BENCH_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/events_bench python bench/schedule.py

The database is emptied and migrated first (it is created if missing). Loops are bounded; nothing is left running.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event as sa_event
from sqlalchemy import insert

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/events_bench"
TALKS, ROOMS, DAYS = 2000, 10, 5
ZONE = "Asia/Shanghai"
SURNAMES_ZH = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN_ZH = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "小明", "建华"]
LATIN_FIRST = ["José", "Ana", "Leila", "Jürgen", "Siobhán", "Chloé", "Mateus", "Olga", "Thabo", "Priya", "Kenji", "Ewa"]
LATIN_LAST = ["Álvarez", "Souza", "Haddad", "Müller", "O'Brien", "Lefèvre", "Nakamura", "Kowalska", "Nkosi", "Iyer"]


async def prepare_database(url: str) -> None:
    import asyncpg

    from events_app.cli import alembic_config
    from events_app.devserver import ensure_database

    await ensure_database(url)
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    from alembic import command

    config = alembic_config(url)
    config.attributes["configure_logging"] = False
    await asyncio.to_thread(command.upgrade, config, "head")


async def build(url: str, organiser_email: str = "bench@example.org") -> dict:
    """The big conference is written with bulk inserts (2,000 talks through the clash checks would only slow the
    set-up); the small one, and the change that is timed later, go through the services."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from events_app.accounts.models import Role
    from events_app.accounts.services import AccountService
    from events_app.db import create_engine
    from events_app.events.services import EventService
    from events_app.schedule.models import Room, ScheduleSession, Talk, TalkSpeaker, Venue, session_chair
    from events_app.schedule.services import TalkService, bump_programme
    from events_app.settings import Settings
    from events_app.speakers.models import Person

    rng = random.Random(2030)
    engine = create_engine(Settings(database_url=url), pooled=False)
    async with async_sessionmaker(engine, expire_on_commit=False)() as db:
        organiser = await AccountService(session=db).create_account(
            organiser_email, "bench-password-123", full_name="Bench", role=Role.ORGANISER)
        events = EventService(session=db)
        big = await events.create_event({
            "title": "International Congress on Catalysis 2030", "kind": "conference",
            "starts_at": "2030-06-03T08:00", "ends_at": "2030-06-07T19:00", "timezone": ZONE,
            "venue_name": "Convention Centre", "status": "published",
        }, creator=organiser)
        small = await events.create_event({
            "title": "Small workshop", "kind": "workshop", "starts_at": "2030-06-10T08:00",
            "ends_at": "2030-06-10T19:00", "timezone": ZONE, "status": "published",
        }, creator=organiser)
        # The programme was put together days ago, as a real one is; only the timed changes are recent.
        now = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
        stamps = {"created_at": now, "updated_at": now}
        venue_id = (await db.execute(insert(Venue).values(name="Convention Centre", address="", **stamps)
                                     .returning(Venue.id))).scalar_one()
        room_ids = list((await db.execute(insert(Room).returning(Room.id), [
            {"venue_id": venue_id, "name": f"Room {i + 1:02d}", "capacity": 100 + 20 * i, **stamps}
            for i in range(ROOMS)])).scalars())
        people = []
        for i in range(1500):
            if i % 2:
                name = rng.choice(SURNAMES_ZH) + rng.choice(GIVEN_ZH)
            else:
                name = f"{rng.choice(LATIN_FIRST)} {rng.choice(LATIN_LAST)}"
            people.append({"full_name": name, "honorific": rng.choice(["", "", "Dr.", "Prof."]),
                           "affiliation": f"University {i % 97}", "country": "", "email": f"p{i}@example.org",
                           "bio": "", "homepage": "", "orcid": "", "photo_path": "", **stamps})
        person_ids = list((await db.execute(insert(Person).returning(Person.id), people)).scalars())
        zone = ZoneInfo(ZONE)
        per_room_day = TALKS // (ROOMS * DAYS)  # 40 talks of 15 minutes, 08:00-18:00
        sessions, talks, chairs = [], [], []
        for day in range(DAYS):
            base = dt.datetime(2030, 6, 3 + day, 8, 0, tzinfo=zone)
            for r, room_id in enumerate(room_ids):
                for block in range(4):
                    start = base + dt.timedelta(minutes=150 * block)
                    sessions.append({"event_id": big.id, "title": f"Session {day + 1}.{r + 1}.{block + 1}",
                                     "track": f"Track {(r % 5) + 1}", "room_id": room_id,
                                     "starts_at": start.astimezone(dt.UTC),
                                     "ends_at": (start + dt.timedelta(minutes=150)).astimezone(dt.UTC), **stamps})
        session_ids = list((await db.execute(insert(ScheduleSession).returning(ScheduleSession.id), sessions)).scalars())
        for sid in session_ids:
            chairs.append({"session_id": sid, "person_id": rng.choice(person_ids)})
        await db.execute(insert(session_chair), chairs)
        index = 0
        for day in range(DAYS):
            base = dt.datetime(2030, 6, 3 + day, 8, 0, tzinfo=zone)
            for r in range(len(room_ids)):
                for slot in range(per_room_day):
                    start = base + dt.timedelta(minutes=15 * slot)
                    talks.append({
                        "event_id": big.id, "title": f"Talk {index}: advances in catalytic surface chemistry",
                        "abstract": "We report on " + "results " * 40, "kind": "talk", "revision": 0,
                        "starts_at": start.astimezone(dt.UTC), "ends_at": (start + dt.timedelta(minutes=15)).astimezone(dt.UTC),
                        "room": f"Room {r + 1:02d}", "room_id": None,
                        "session_id": session_ids[(day * ROOMS + r) * 4 + slot // 10], **stamps,
                    })
                    index += 1
        talk_ids = list((await db.execute(insert(Talk).returning(Talk.id), talks)).scalars())
        links = []
        for tid in talk_ids:
            for position, pid in enumerate(rng.sample(person_ids, rng.choice([1, 1, 2]))):
                links.append({"talk_id": tid, "person_id": pid, "position": position, **stamps})
        await db.execute(insert(TalkSpeaker), links)
        await bump_programme(db, big.id)
        small_talks = TalkService(session=db)
        for i in range(20):
            await small_talks.create_talk(small, {
                "title": f"Workshop talk {i}", "starts_at": f"2030-06-10T{8 + i // 2:02d}:{30 * (i % 2):02d}",
                "ends_at": f"2030-06-10T{8 + i // 2:02d}:{30 * (i % 2) + 25:02d}", "room": "Seminar room",
                "speaker_ids": [person_ids[i]]})
        await db.commit()
        counts = {"talks": len(talk_ids), "speaker_links": len(links), "sessions": len(session_ids),
                  "people": len(person_ids)}
    await engine.dispose()
    return {"big": big.slug, "big_id": big.id, "small": small.slug, "talk_ids": talk_ids, **counts}


async def move_one_talk(url: str, event_id: int, talk_id: int, minutes: int) -> None:
    """The organiser's change, through the service (clash check, revision bump) in its own transaction."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from events_app.db import create_engine
    from events_app.events.services import EventService
    from events_app.schedule.services import TalkService
    from events_app.settings import Settings

    engine = create_engine(Settings(database_url=url), pooled=False)
    async with async_sessionmaker(engine, expire_on_commit=False)() as db:
        event = await EventService(session=db).load(event_id)
        talks = TalkService(session=db)
        talk = await talks.by_id(talk_id)
        await talks.update_talk(event, talk, {"title": f"{talk.title.split(' (')[0]} (moved {minutes})"}, override=True)
        await db.commit()
    await engine.dispose()


ROUNDS_COLD, ROUNDS_CHANGED, ROUNDS_304 = 5, 15, 50


async def timed(client, url: str, headers: dict | None = None):
    """Wall time of one request, and the CPU time this process spent on it (the app runs in this process),
    which the other jobs sharing the machine disturb much less."""
    wall, cpu = time.perf_counter(), time.process_time()
    response = await client.get(url, headers=headers or {})
    return response, (time.perf_counter() - wall, time.process_time() - cpu)


def figure(timings: list[tuple[float, float]]) -> str:
    wall = statistics.median(t[0] for t in timings) * 1000
    cpu = statistics.median(t[1] for t in timings) * 1000
    return f"{wall:.1f} ({cpu:.1f})"


async def main() -> None:
    url = os.environ.get("EVENTS_BENCH_DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgresql"):
        sys.exit("The schedule benchmark runs on PostgreSQL: set EVENTS_BENCH_DATABASE_URL.")
    from litestar.testing import AsyncTestClient

    from events_app.app import create_app
    from events_app.devserver import throwaway_secret_key
    from events_app.settings import Settings

    t0 = time.perf_counter()
    await prepare_database(url)
    data = await build(url)
    print(f"built {data['talks']} talks, {data['speaker_links']} speaker links, {data['sessions']} sessions, "
          f"{data['people']} people in {time.perf_counter() - t0:.1f} s")

    paths = {"programme page": "programme", "schedule.xml": "schedule.xml", "schedule.json": "schedule.json"}
    results: dict[str, dict[str, list[float]]] = {name: {"first": [], "cold": [], "changed": [], "304": []} for name in paths}
    queries: dict[str, dict[str, int]] = {name: {} for name in paths}
    sizes: dict[str, int] = {}
    media = Path(tempfile.mkdtemp(prefix="bench-media-"))
    secret_key = throwaway_secret_key()

    # Cold: a fresh app for each request, three rounds. "first" is the very first request the process serves
    # (templates compiled and locale data loaded on the way); "cold" is the first request for this programme in
    # a process that has already served another event's pages (nothing of the big programme cached).
    for _round in range(ROUNDS_COLD):
        for name, path in paths.items():
            for warm in (False, True):
                app = create_app(Settings(database_url=url, media_dir=media, db_pool_size=5, secret_key=secret_key))
                async with AsyncTestClient(app=app, base_url="http://bench.local") as client:
                    await client.get("/healthz?db=1")  # opens the pool: connecting is not what is measured
                    if warm:
                        await client.get(f"/events/{data['small']}/{path}")
                    # Collect what the previous rounds' discarded apps left behind: a real process has one app,
                    # and a full collection of that garbage would otherwise land in the timed request.
                    gc.collect()
                    response, timing = await timed(client, f"/events/{data['big']}/{path}")
                    results[name]["cold" if warm else "first"].append(timing)
                    assert response.status_code == 200, response.status_code
                    sizes[name] = len(response.content)

    gc.collect()
    app = create_app(Settings(database_url=url, media_dir=media, db_pool_size=5, secret_key=secret_key))
    engine = app.state.db_config.get_engine()
    statements: list[str] = []
    sa_event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    async with AsyncTestClient(app=app, base_url="http://bench.local") as client:
        await client.get("/healthz?db=1")
        for name, path in paths.items():
            for slug, label in ((data["small"], "20 talks"), (data["big"], f"{data['talks']} talks")):
                # a fresh store, so both counts are for a first read
                app.state.programme_store = None
                statements.clear()
                await client.get(f"/events/{slug}/{path}")
                queries[name][label] = len(statements)
        # After one change: move a talk, then the first request of each kind (a cache miss by construction).
        for round_number in range(ROUNDS_CHANGED):
            await move_one_talk(url, data["big_id"], data["talk_ids"][round_number * 37], round_number)
            for name, path in paths.items():
                response, timing = await timed(client, f"/events/{data['big']}/{path}")
                results[name]["changed"].append(timing)
                assert response.status_code == 200
                assert f"(moved {round_number})" in response.text
        for name, path in paths.items():
            etag = (await client.get(f"/events/{data['big']}/{path}")).headers["etag"]
            statements.clear()
            for _ in range(ROUNDS_304):
                response, timing = await timed(client, f"/events/{data['big']}/{path}", {"If-None-Match": etag})
                results[name]["304"].append(timing)
                assert response.status_code == 304
            queries[name]["304"] = len(statements) // ROUNDS_304

    print(f"\nmedian wall ms (CPU ms of the app process); rounds: cold {ROUNDS_COLD}, after a change "
          f"{ROUNDS_CHANGED}, 304 {ROUNDS_304}")
    print(f"{'request':<16}{'first in process':>20}{'cold':>18}{'after one change':>20}{'304':>14}{'body':>10}")
    for name in paths:
        r = results[name]
        print(f"{name:<16}{figure(r['first']):>20}{figure(r['cold']):>18}{figure(r['changed']):>20}"
              f"{figure(r['304']):>14}{sizes[name] / 1024:>8.0f} kB")
    print("\nSQL statements per request (the same for 20 and 2,000 talks):")
    for name in paths:
        print(f"  {name:<16}" + ", ".join(f"{label}: {n}" for label, n in queries[name].items()))


if __name__ == "__main__":
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(main())
