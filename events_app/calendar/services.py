"""What the calendar feeds contain, read cheaply; and the record a deleted talk leaves behind."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import noload

from events_app.calendar.build import SpeakerLine, talk_sequence
from events_app.calendar.models import CalendarTombstone
from events_app.events.models import Event, EventKind, EventStatus, Series
from events_app.schedule.models import Talk, TalkSpeaker
from events_app.speakers.models import Person

# Cancelled events and deleted talks stay in feeds this long, so every polling client sees the cancellation.
CANCELLED_KEPT_FOR = dt.timedelta(days=30)


# ---- deletions ------------------------------------------------------------------------------------------------
async def record_deleted_talk(session: AsyncSession, talk: Talk) -> CalendarTombstone:
    """Call before deleting a talk: its feeds keep announcing it as cancelled for CANCELLED_KEPT_FOR."""
    event_row = (
        await session.execute(select(Event.timezone, Event.revision).where(Event.id == talk.event_id))
    ).one()
    person_ids = list(
        await session.scalars(
            select(TalkSpeaker.person_id).where(TalkSpeaker.talk_id == talk.id).order_by(TalkSpeaker.position)
        )
    )
    # SQLite (no AUTOINCREMENT) can hand a deleted talk's id to a new talk; keep one tombstone per id.
    await session.execute(delete(CalendarTombstone).where(CalendarTombstone.talk_id == talk.id))
    tombstone = CalendarTombstone(
        talk_id=talk.id,
        event_id=talk.event_id,
        summary=talk.title,
        starts_at=talk.starts_at,
        ends_at=talk.ends_at,
        timezone=event_row.timezone,
        sequence=talk_sequence(talk.revision, event_row.revision) + 1,
        deleted_at=dt.datetime.now(dt.UTC),
        person_ids=person_ids,
    )
    session.add(tombstone)
    await session.flush()
    return tombstone


# ---- which events a feed holds --------------------------------------------------------------------------------
@dataclass(frozen=True)
class FeedScope:
    """The events of a subscription feed: all public ones, optionally of one kind or one series."""

    kind: EventKind | None = None
    series_id: int | None = None

    def where(self, now: dt.datetime) -> ColumnElement[bool]:
        conditions = [
            Event.status != EventStatus.DRAFT,
            or_(Event.status != EventStatus.CANCELLED, Event.ends_at >= now - CANCELLED_KEPT_FOR),
        ]
        if self.kind is not None:
            conditions.append(Event.kind == self.kind)
        if self.series_id is not None:
            conditions.append(Event.series_id == self.series_id)
        return and_(*conditions)


@dataclass(frozen=True)
class EventEntry:
    """One event of a feed with everything its VEVENT depends on; equal keys mean equal bytes."""

    id: int
    key: tuple
    starts_at: dt.datetime
    ends_at: dt.datetime
    timezone: str


async def feed_entries(session: AsyncSession, scope: FeedScope, now: dt.datetime) -> list[EventEntry]:
    """The feed's events in order, each with a cache key, from one aggregate query (no objects loaded)."""
    programme = (
        select(
            Talk.event_id.label("event_id"),
            func.count(func.distinct(Talk.id)).label("talks"),
            func.max(Talk.updated_at).label("talks_changed"),
            func.count(TalkSpeaker.id).label("links"),
            func.max(Person.updated_at).label("people_changed"),
        )
        .outerjoin(TalkSpeaker, TalkSpeaker.talk_id == Talk.id)
        .outerjoin(Person, Person.id == TalkSpeaker.person_id)
        .group_by(Talk.event_id)
        .subquery()
    )
    # Plain Core execution on the session's connection: the ORM result layer costs ~5x more for these rows.
    connection = await session.connection()
    rows = await connection.execute(
        select(
            Event.id, Event.revision, Event.updated_at, Event.starts_at, Event.ends_at, Event.timezone,
            Series.updated_at.label("series_changed"),
            programme.c.talks, programme.c.talks_changed, programme.c.links, programme.c.people_changed,
        )
        .outerjoin(Series, Series.id == Event.series_id)
        .outerjoin(programme, programme.c.event_id == Event.id)
        .where(scope.where(now))
        .order_by(Event.starts_at, Event.id)
    )
    return [
        EventEntry(
            id=row.id,
            key=(row.id, row.revision, row.updated_at, row.series_changed, row.talks or 0, row.talks_changed,
                 row.links or 0, row.people_changed),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            timezone=row.timezone,
        )
        for row in rows
    ]


# What event_to_vevent reads of an event (and of its series, the title).
FEED_EVENT_COLUMNS = (
    Event.id, Event.slug, Event.kind, Event.title, Event.summary, Event.starts_at, Event.ends_at, Event.timezone,
    Event.venue_name, Event.venue_address, Event.online_url, Event.geo_lat, Event.geo_lon, Event.organiser,
    Event.status, Event.revision, Event.created_at, Event.updated_at,
)


async def load_events(
    session: AsyncSession, ids: Sequence[int], scope: FeedScope, now: dt.datetime
) -> dict[int, Any]:
    """Read-only views of the events whose VEVENTs are still to be built: the same attributes as Event
    (series as an object with a title), read as Core rows, since ORM objects cost several times more and
    a feed only reads them."""
    statement = select(*FEED_EVENT_COLUMNS, Series.title.label("series_title")).outerjoin(
        Series, Series.id == Event.series_id
    )
    # A long IN list is slower than the feed's own filter (and hits parameter limits); past a few hundred
    # misses, load the whole feed.
    statement = statement.where(Event.id.in_(ids)) if len(ids) <= 500 else statement.where(scope.where(now))
    connection = await session.connection()
    events = {}
    for row in await connection.execute(statement):
        values = row._asdict()
        title = values.pop("series_title")
        events[row.id] = SimpleNamespace(**values, series=SimpleNamespace(title=title) if title is not None else None)
    return events


async def speakers_by_event(session: AsyncSession, event_ids: Sequence[int]) -> dict[int, list[SpeakerLine]]:
    """Distinct speakers of each event in programme order, read as plain rows (no Talk objects)."""
    if not event_ids:
        return {}
    statement = (
        select(Talk.event_id, Person.id, Person.honorific, Person.full_name, Person.affiliation)
        .join(TalkSpeaker, TalkSpeaker.talk_id == Talk.id)
        .join(Person, Person.id == TalkSpeaker.person_id)
        .order_by(Talk.event_id, Talk.starts_at, Talk.id, TalkSpeaker.position)
    )
    if len(event_ids) <= 500:
        statement = statement.where(Talk.event_id.in_(event_ids))
    wanted = set(event_ids)
    seen: dict[int, dict[int, SpeakerLine]] = defaultdict(dict)
    connection = await session.connection()  # Core rows: the ORM result layer costs ~5x more here
    for row in await connection.execute(statement):
        if row.event_id in wanted and row.id not in seen[row.event_id]:
            # Person.display_name is the one rule for how a name is shown; rows carry the same attributes.
            seen[row.event_id][row.id] = SpeakerLine(Person.display_name.fget(row), row.affiliation or "")
    return {event_id: list(people.values()) for event_id, people in seen.items()}


async def public_talks_of_person(session: AsyncSession, person_id: int, now: dt.datetime) -> list[tuple[Talk, Event]]:
    """The person's talks in public events (cancelled ones for CANCELLED_KEPT_FOR), each with its event."""
    statement = (
        select(Talk)
        .join(TalkSpeaker, TalkSpeaker.talk_id == Talk.id)
        .join(Event, Event.id == Talk.event_id)
        .where(TalkSpeaker.person_id == person_id, FeedScope().where(now))
        .order_by(Talk.starts_at, Talk.id)
    )
    talks = list(await session.scalars(statement))
    ids = sorted({t.event_id for t in talks})
    events = {e.id: e for e in await session.scalars(select(Event).options(noload(Event.managers)).where(Event.id.in_(ids)))}
    return [(talk, events[talk.event_id]) for talk in talks]


async def recent_tombstones(
    session: AsyncSession, now: dt.datetime, *, event_id: int | None = None, person_id: int | None = None
) -> list[CalendarTombstone]:
    statement = select(CalendarTombstone).where(
        CalendarTombstone.deleted_at >= now - CANCELLED_KEPT_FOR,
        # never two VEVENTs with one UID, should the id live again (SQLite reuses the highest id)
        ~exists().where(Talk.id == CalendarTombstone.talk_id),
    )
    if event_id is not None:
        statement = statement.where(CalendarTombstone.event_id == event_id)
    if person_id is not None:
        # A person's feed is public: only talks of public events (a draft's talks were never shown).
        statement = statement.where(
            exists().where(Event.id == CalendarTombstone.event_id, Event.status != EventStatus.DRAFT)
        )
    rows = list(await session.scalars(statement.order_by(CalendarTombstone.starts_at, CalendarTombstone.id)))
    if person_id is not None:
        # JSON containment differs between SQLite and PostgreSQL; recent tombstones are few.
        rows = [row for row in rows if person_id in (row.person_ids or [])]
    return rows


async def event_tombstone_owners(session: AsyncSession, tombstones: Sequence[CalendarTombstone]) -> dict[int, Event]:
    ids = sorted({t.event_id for t in tombstones})
    if not ids:
        return {}
    return {e.id: e for e in await session.scalars(select(Event).options(noload(Event.managers)).where(Event.id.in_(ids)))}


# ---- validators: has anything a feed shows changed? ------------------------------------------------------------
async def feed_validator(session: AsyncSession, now: dt.datetime) -> tuple[Any, ...]:
    """Latest change times of everything a feed shows; one round trip, each an index lookup.

    Counted globally rather than per feed: cheaper, and it errs towards sending a fresh copy. This relies on
    how the app writes: every change bumps updated_at (Advanced Alchemy), talks are the only rows ever
    deleted and leave a tombstone, and a speaker change bumps the talk. The only change with no write is a
    cancelled event or a tombstone ageing out of the feeds, hence the two time-window terms.
    Returns the values plus, last, the time of the latest change for Last-Modified.
    """
    cutoff = now - CANCELLED_KEPT_FOR
    terms = [
        select(func.max(Event.updated_at)),
        # When the latest cancelled event that has left the feeds did so (its end plus the 30 days).
        select(func.max(Event.ends_at)).where(Event.status == EventStatus.CANCELLED, Event.ends_at < cutoff),
        select(func.max(Talk.updated_at)),
        select(func.max(Person.updated_at)),
        select(func.max(Series.updated_at)),
        select(func.max(CalendarTombstone.deleted_at)),
        select(func.count(CalendarTombstone.id)).where(CalendarTombstone.deleted_at >= cutoff),
    ]
    row = (await session.execute(select(*(term.scalar_subquery() for term in terms)))).one()
    values = list(row)
    changes = [_aware(v) for i, v in enumerate(values) if isinstance(v, dt.datetime) and i != 1]
    if values[1] is not None:
        changes.append(_aware(values[1]) + CANCELLED_KEPT_FOR)
    last_modified = max(changes, default=None)
    return (*[_plain(v) for v in values], last_modified)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return _aware(value).isoformat()
    return value
