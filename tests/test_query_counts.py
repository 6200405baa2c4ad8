"""No N+1 queries: the number of SQL statements a public page or API read costs does not grow with the data.

Each test counts the statements the app's own engine sends while serving one request, for a small and a large
case, and expects the same number (a page that loads talks or speakers one by one would differ).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event as sa_event

from events_app.settings import Settings
from tests.conftest import make_event


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Measure the rendering path itself, not the rendered-page cache in front of it.
    return dataclasses.replace(settings, page_cache_seconds=0)


@contextmanager
def counted_statements(app) -> Iterator[list[str]]:
    engine = app.state.db_config.get_engine()
    statements: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        statements.append(statement)

    sa_event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa_event.remove(engine.sync_engine, "before_cursor_execute", record)


async def statements_for(app, client, url: str) -> list[str]:
    with counted_statements(app) as statements:
        response = await client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return list(statements)


def future_day(days: int) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


async def event_with_programme(db, organiser, *, title: str, talks: int, speakers_per_talk: int, days_ahead: int):
    """A two-day conference with `talks` talks of `speakers_per_talk` distinct speakers each."""
    from events_app.schedule.services import TalkService
    from events_app.speakers.services import PersonService

    day = future_day(days_ahead)
    next_day = future_day(days_ahead + 1)
    event = await make_event(
        db, organiser, title=title, kind="conference", starts_at=f"{day}T08:00", ends_at=f"{next_day}T20:00"
    )
    people = PersonService(session=db)
    talk_service = TalkService(session=db)
    first = dt.datetime.fromisoformat(f"{day}T08:00")
    for number in range(talks):
        speakers = [
            await people.create_person(
                {"full_name": f"{title} 演讲者 {number}-{s}", "affiliation": f"Institute {s}", "country": "CN"}
            )
            for s in range(speakers_per_talk)
        ]
        start = first + dt.timedelta(minutes=30 * number)
        await talk_service.create_talk(event, {
            "title": f"Talk {number}",
            "starts_at": start.isoformat(),
            "ends_at": (start + dt.timedelta(minutes=25)).isoformat(),
            "room": f"Room {number % 3}",
            "speaker_ids": [p.id for p in speakers],
        })
    await db.commit()
    return event


async def events_in_series(db, organiser, count: int, *, first_day: int) -> None:
    from events_app.events.services import SeriesService

    series = await SeriesService(session=db).create_series({"title": f"Series from day {first_day}"}, creator=organiser)
    await db.commit()
    for number in range(count):
        day = future_day(first_day + number)
        await make_event(
            db, organiser, title=f"Lecture {first_day}-{number}", series=series.slug if number % 2 else None,
            starts_at=f"{day}T14:00", ends_at=f"{day}T16:00", status="cancelled" if number % 5 == 4 else "published",
        )


async def test_event_page_costs_the_same_queries_for_2_talks_and_for_30_talks_of_3_speakers(app, client, db, organiser):
    small = await event_with_programme(db, organiser, title="Small", talks=2, speakers_per_talk=1, days_ahead=10)
    large = await event_with_programme(db, organiser, title="Large", talks=30, speakers_per_talk=3, days_ahead=20)

    small_statements = await statements_for(app, client, f"/events/{small.slug}")
    large_statements = await statements_for(app, client, f"/events/{large.slug}")

    assert len(large_statements) == len(small_statements), large_statements
    assert len(small_statements) <= 6, small_statements
    page = (await client.get(f"/events/{large.slug}")).text
    assert page.count('class="talk"') == 30 and "Large 演讲者 29-2" in page


async def test_event_api_costs_the_same_queries_for_2_talks_and_for_30_talks_of_3_speakers(app, client, db, organiser):
    small = await event_with_programme(db, organiser, title="Small", talks=2, speakers_per_talk=1, days_ahead=10)
    large = await event_with_programme(db, organiser, title="Large", talks=30, speakers_per_talk=3, days_ahead=20)

    small_statements = await statements_for(app, client, f"/api/events/{small.slug}")
    large_statements = await statements_for(app, client, f"/api/events/{large.slug}")

    assert len(large_statements) == len(small_statements), large_statements
    body = (await client.get(f"/api/events/{large.slug}")).json()
    assert len(body["talks"]) == 30 and all(len(t["speakers"]) == 3 for t in body["talks"])


async def test_home_page_costs_the_same_queries_for_3_and_for_20_events(app, client, db, organiser):
    await events_in_series(db, organiser, 3, first_day=5)
    few = await statements_for(app, client, "/")

    await events_in_series(db, organiser, 17, first_day=50)
    await event_with_programme(db, organiser, title="Big", talks=5, speakers_per_talk=3, days_ahead=90)
    many = await statements_for(app, client, "/")

    assert len(many) == len(few), many
    assert len(few) <= 6, few
    assert (await client.get("/")).text.count('<article class="card') == 20


async def test_event_list_api_costs_the_same_queries_for_3_and_for_20_events(app, client, db, organiser):
    await events_in_series(db, organiser, 3, first_day=5)
    few = await statements_for(app, client, "/api/events")

    await events_in_series(db, organiser, 17, first_day=50)
    many = await statements_for(app, client, "/api/events?limit=50")

    assert len(many) == len(few), many
    assert (await client.get("/api/events?limit=50")).json()["total"] == 20


async def test_speaker_page_costs_the_same_queries_for_1_and_for_8_talks(app, client, db, organiser):
    from events_app.schedule.services import TalkService
    from events_app.speakers.services import PersonService

    people = PersonService(session=db)
    busy = await people.create_person({"full_name": "Maria González", "affiliation": "Universidad de Granada"})
    occasional = await people.create_person({"full_name": "王芳", "affiliation": "ISTIC"})
    talks = TalkService(session=db)
    for number in range(8):
        day = future_day(10 + number)
        event = await make_event(db, organiser, title=f"Lecture {number}", starts_at=f"{day}T09:00", ends_at=f"{day}T17:00")
        speakers = [busy.id, occasional.id] if number == 0 else [busy.id]
        await talks.create_talk(event, {"title": f"Talk {number}", "starts_at": f"{day}T10:00",
                                        "ends_at": f"{day}T11:00", "speaker_ids": speakers})
    await db.commit()

    one = await statements_for(app, client, f"/speakers/{occasional.id}")
    eight = await statements_for(app, client, f"/speakers/{busy.id}")

    assert len(eight) == len(one), eight
    assert (await client.get(f"/speakers/{busy.id}")).text.count("Talk ") == 8


async def test_the_event_list_reads_its_page_and_the_total_in_one_statement(app, client, db, organiser):
    for number in range(3):
        day = future_day(5 + number)
        await make_event(db, organiser, title=f"Lecture {number}", starts_at=f"{day}T14:00", ends_at=f"{day}T16:00")
    statements = await statements_for(app, client, "/api/events?limit=2")
    assert len(statements) == 1
    first = (await client.get("/api/events?limit=2")).json()
    assert [e["title"] for e in first["items"]] == ["Lecture 0", "Lecture 1"] and first["total"] == 3
    second = (await client.get("/api/events?limit=2&offset=2")).json()
    assert [e["title"] for e in second["items"]] == ["Lecture 2"] and second["total"] == 3
    beyond = (await client.get("/api/events?limit=2&offset=10")).json()
    assert beyond["items"] == [] and beyond["total"] == 3
    assert "3 events" in (await client.get("/")).text
