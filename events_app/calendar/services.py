"""What the calendar feeds contain, read cheaply; the records deletions and withdrawals leave behind; and the
one place that turns those entries into VEVENTs, for feeds and invitations alike."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from icalendar import Event as VEvent
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.calendar import build
from events_app.calendar.build import SpeakerLine, talk_sequence
from events_app.calendar.models import CalendarTombstone, WithdrawnEvent
from events_app.core.gc_pause import collector_paused
from events_app.events.models import Event, EventKind, EventStatus, Series
from events_app.schedule.models import Room, Talk, TalkSpeaker
from events_app.settings import Settings
from events_app.speakers.models import Person

# Cancelled and withdrawn events stay in feeds until this long after their end, deleted talks this long after
# their deletion, so every polling client sees the cancellation.
CANCELLED_KEPT_FOR = dt.timedelta(days=30)
# Past this many ids an IN list is slower than the feed's own filter (and hits parameter limits).
IN_LIST_LIMIT = 500


# ---- deletions and withdrawals ---------------------------------------------------------------------------------
def _talk_tombstone(talk: Talk, *, timezone: str, sequence: int, person_ids: list[int], at: dt.datetime) -> CalendarTombstone:
    return CalendarTombstone(
        talk_id=talk.id, event_id=talk.event_id, summary=talk.title, starts_at=talk.starts_at, ends_at=talk.ends_at,
        timezone=timezone, sequence=sequence, deleted_at=at, person_ids=person_ids,
    )


async def _speaker_ids(session: AsyncSession, talk_ids: Sequence[int]) -> dict[int, list[int]]:
    people: dict[int, list[int]] = defaultdict(list)
    if talk_ids:
        rows = await session.execute(
            select(TalkSpeaker.talk_id, TalkSpeaker.person_id)
            .where(TalkSpeaker.talk_id.in_(talk_ids)).order_by(TalkSpeaker.talk_id, TalkSpeaker.position)
        )
        for talk_id, person_id in rows:
            people[talk_id].append(person_id)
    return people


async def record_deleted_talk(session: AsyncSession, *, talk: Talk) -> CalendarTombstone | None:
    """Receives schedule's ``talk_deleted`` (sent before the row goes) and ``talk_unscheduled`` (sent while the
    talk still has its time): its feeds keep announcing it as cancelled for CANCELLED_KEPT_FOR.

    A talk of a draft was never published (or, if its event was withdrawn, its tombstone already says what
    was): nothing to announce, and its title must not reach a speaker's feed. An unscheduled talk was never in
    a feed (or already left its tombstone when it lost its time)."""
    if talk.starts_at is None or talk.ends_at is None:
        return None
    event_row = (
        await session.execute(select(Event.timezone, Event.revision, Event.status).where(Event.id == talk.event_id))
    ).one()
    if event_row.status == EventStatus.DRAFT:
        return None
    # SQLite (no AUTOINCREMENT) can hand a deleted talk's id to a new talk; keep one tombstone per id.
    await session.execute(delete(CalendarTombstone).where(CalendarTombstone.talk_id == talk.id))
    tombstone = _talk_tombstone(
        talk, timezone=event_row.timezone, sequence=talk_sequence(talk.revision, event_row.revision) + 1,
        person_ids=(await _speaker_ids(session, [talk.id]))[talk.id], at=dt.datetime.now(dt.UTC),
    )
    session.add(tombstone)
    await session.flush()
    return tombstone


async def record_withdrawal(session: AsyncSession, *, event: Event, previous_status: EventStatus) -> None:
    """Receives events' ``event_withdrawn`` (revision already bumped): a published or cancelled event taken back
    to draft is announced as cancelled in the feeds, with its talks, as they were last public."""
    now = dt.datetime.now(dt.UTC)
    await session.execute(delete(WithdrawnEvent).where(WithdrawnEvent.event_id == event.id))
    session.add(WithdrawnEvent(
        event_id=event.id, kind=event.kind.value, series_id=event.series_id, summary=event.title,
        starts_at=event.starts_at, ends_at=event.ends_at, timezone=event.timezone, sequence=event.revision,
        withdrawn_at=now,
    ))
    talks = list(await session.scalars(
        select(Talk).where(Talk.event_id == event.id, Talk.starts_at.is_not(None)).order_by(Talk.id)
    ))
    ids = [talk.id for talk in talks]
    if ids:
        await session.execute(delete(CalendarTombstone).where(CalendarTombstone.talk_id.in_(ids)))
    people = await _speaker_ids(session, ids)
    for talk in talks:
        session.add(_talk_tombstone(
            talk, timezone=event.timezone, sequence=talk_sequence(talk.revision, event.revision),
            person_ids=people[talk.id], at=now,
        ))
    await session.flush()


async def forget_withdrawal(session: AsyncSession, *, event: Event, previous_status: EventStatus,
                            **_change: Any) -> None:
    """Receives events' ``event_changed``: an event back from draft is public again under a higher SEQUENCE,
    so the record of its withdrawal goes."""
    if previous_status == EventStatus.DRAFT and event.is_public:
        await session.execute(delete(WithdrawnEvent).where(WithdrawnEvent.event_id == event.id))
        await session.execute(delete(CalendarTombstone).where(
            # An unscheduled talk's tombstone stays: it is still not in the feeds.
            CalendarTombstone.talk_id.in_(select(Talk.id).where(Talk.event_id == event.id, Talk.starts_at.is_not(None)))
        ))
        await session.flush()


# ---- which events a feed holds --------------------------------------------------------------------------------
def _live(now: dt.datetime) -> ColumnElement[bool]:
    return and_(
        Event.is_public,
        or_(Event.status != EventStatus.CANCELLED, Event.ends_at >= now - CANCELLED_KEPT_FOR),
    )


def _withdrawn(now: dt.datetime) -> ColumnElement[bool]:
    """For a query joining WithdrawnEvent: withdrawn events still announced."""
    return and_(Event.status == EventStatus.DRAFT, WithdrawnEvent.ends_at >= now - CANCELLED_KEPT_FOR)


def listed_in_feeds(now: dt.datetime) -> ColumnElement[bool]:
    """Events the feeds show: public ones (cancelled ones until CANCELLED_KEPT_FOR after their end) and withdrawn
    ones as long; never a draft that was not published."""
    withdrawn = exists().where(
        WithdrawnEvent.event_id == Event.id, WithdrawnEvent.ends_at >= now - CANCELLED_KEPT_FOR
    )
    return or_(_live(now), and_(Event.status == EventStatus.DRAFT, withdrawn))


@dataclass(frozen=True)
class FeedScope:
    """The events of a subscription feed: all public ones, optionally of one kind or one series."""

    kind: EventKind | None = None
    series_id: int | None = None

    def where(self, now: dt.datetime) -> ColumnElement[bool]:
        conditions = [_live(now)]
        if self.kind is not None:
            conditions.append(Event.kind == self.kind)
        if self.series_id is not None:
            conditions.append(Event.series_id == self.series_id)
        return and_(*conditions)

    def where_withdrawn(self, now: dt.datetime) -> ColumnElement[bool]:
        # By what the event was when withdrawn: the draft's later edits are not public.
        conditions = [_withdrawn(now)]
        if self.kind is not None:
            conditions.append(WithdrawnEvent.kind == self.kind.value)
        if self.series_id is not None:
            conditions.append(WithdrawnEvent.series_id == self.series_id)
        return and_(*conditions)


@dataclass(slots=True)  # not frozen: a big programme makes thousands per request, and frozen costs 2x
class FeedEntry:
    """One VEVENT of a feed with everything its bytes depend on: equal keys mean equal bytes.

    kind: "event" (a live event), "withdrawn" (an event taken back to draft), "talk", "tombstone" (a deleted
    talk, or one of a withdrawn event). ``changed_at`` is the last change of anything the VEVENT shows
    (its LAST-MODIFIED).
    """

    kind: str
    id: int
    key: tuple
    starts_at: dt.datetime
    ends_at: dt.datetime
    timezone: str
    changed_at: dt.datetime
    tentative: bool = False
    event_id: int | None = None  # a talk's event

    def as_tentative(self) -> FeedEntry:
        return replace(self, tentative=True, key=(*self.key, "tentative"))


def _latest(*values: dt.datetime | None) -> dt.datetime:
    # Both databases hand back aware datetimes (DateTimeUTC); _aware only guards the result.
    return _aware(max(v for v in values if v is not None))


async def _event_entries(
    session: AsyncSession, where: ColumnElement[bool], *, event_ids: Sequence[int] | None = None
) -> list[FeedEntry]:
    """Live events matching ``where``, each with its cache key, from one aggregate query (no objects loaded)."""

    def only(column: Any, statement: Any) -> Any:
        # For a few events, aggregate only theirs (SQLite would otherwise group every talk).
        return statement.where(column.in_(event_ids)) if event_ids is not None else statement

    programme = only(Talk.event_id, (
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
    )).subquery()
    # A deleted talk may take a speaker off the event's DESCRIPTION: its deletion is a change too.
    deleted = only(CalendarTombstone.event_id, (
        select(CalendarTombstone.event_id.label("event_id"), func.max(CalendarTombstone.deleted_at).label("at"))
        .group_by(CalendarTombstone.event_id)
    )).subquery()
    # Plain Core execution on the session's connection: the ORM result layer costs ~5x more for these rows.
    connection = await session.connection()
    rows = await connection.execute(
        select(
            Event.id, Event.revision, Event.updated_at, Event.starts_at, Event.ends_at, Event.timezone,
            Series.updated_at.label("series_changed"),
            programme.c.talks, programme.c.talks_changed, programme.c.links, programme.c.people_changed,
            deleted.c.at.label("talk_deleted"),
        )
        .outerjoin(Series, Series.id == Event.series_id)
        .outerjoin(programme, programme.c.event_id == Event.id)
        .outerjoin(deleted, deleted.c.event_id == Event.id)
        .where(where)
        .order_by(Event.starts_at, Event.id)
    )
    return [
        FeedEntry(
            kind="event",
            id=row.id,
            key=("event", row.id, row.revision, row.updated_at, row.series_changed, row.talks or 0,
                 row.talks_changed, row.links or 0, row.people_changed, row.talk_deleted),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            timezone=row.timezone,
            changed_at=_latest(row.updated_at, row.series_changed, row.talks_changed, row.people_changed,
                               row.talk_deleted),
        )
        for row in rows
    ]


async def _withdrawn_entries(session: AsyncSession, where: ColumnElement[bool]) -> list[FeedEntry]:
    rows = await session.execute(
        select(WithdrawnEvent).join(Event, Event.id == WithdrawnEvent.event_id).where(where)
        .order_by(WithdrawnEvent.starts_at, WithdrawnEvent.event_id)
    )
    return [
        FeedEntry(
            kind="withdrawn", id=w.event_id, key=("withdrawn", w.id, w.event_id, w.withdrawn_at),
            starts_at=w.starts_at, ends_at=w.ends_at, timezone=w.timezone, changed_at=_aware(w.withdrawn_at),
        )
        for w in rows.scalars()
    ]


def _in_order(entries: Iterable[FeedEntry]) -> list[FeedEntry]:
    return sorted(entries, key=lambda e: (_aware(e.starts_at), e.kind, e.id))


async def feed_entries(session: AsyncSession, scope: FeedScope, now: dt.datetime) -> list[FeedEntry]:
    """The events of a subscription feed (live and withdrawn) in order."""
    live = await _event_entries(session, scope.where(now))
    withdrawn = await _withdrawn_entries(session, scope.where_withdrawn(now))
    return _in_order([*live, *withdrawn]) if withdrawn else live


async def event_entries(session: AsyncSession, event_ids: Sequence[int], now: dt.datetime) -> dict[int, FeedEntry]:
    """The current entry of each given event, whatever its status: live, or withdrawn (a draft with a record).

    A draft that was never published has none. This is the one answer to "what does the calendar say about
    this event's UID now", for feeds and for invitations composed by the worker alike.
    """
    if not event_ids:
        return {}
    ids = list(event_ids)
    entries = {e.id: e for e in await _event_entries(
        session, and_(Event.id.in_(ids), Event.is_public), event_ids=ids,
    )}
    for entry in await _withdrawn_entries(session, and_(Event.id.in_(ids), Event.status == EventStatus.DRAFT)):
        entries[entry.id] = entry
    return entries


def _talk_entry(row: Any) -> FeedEntry:
    return FeedEntry(
        kind="talk",
        id=row.id,
        key=("talk", row.id, row.revision, row.updated_at, row.room_name, row.event_id, row.event_revision,
             row.event_changed, row.series_changed),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        timezone=row.timezone,
        changed_at=_latest(row.updated_at, row.event_changed, row.series_changed),
        event_id=row.event_id,
    )


async def _talk_entries(session: AsyncSession, where: ColumnElement[bool], *joins: Any) -> list[FeedEntry]:
    statement = (
        select(
            Talk.id, Talk.revision, Talk.updated_at, Talk.starts_at, Talk.ends_at,
            func.coalesce(Room.name, Talk.room).label("room_name"),
            Talk.event_id, Event.revision.label("event_revision"), Event.updated_at.label("event_changed"),
            Event.timezone, Series.updated_at.label("series_changed"),
        )
        .join(Event, Event.id == Talk.event_id)
        .outerjoin(Room, Room.id == Talk.room_id)
        .outerjoin(Series, Series.id == Event.series_id)
    )
    for target, condition in joins:
        statement = statement.join(target, condition)
    connection = await session.connection()
    # An unscheduled talk has no VEVENT (no time to give); losing its time left a tombstone instead.
    rows = await connection.execute(statement.where(where, Talk.starts_at.is_not(None)).order_by(Talk.starts_at, Talk.id))
    return [_talk_entry(row) for row in rows]


def _tombstone_entries(tombstones: Iterable[Any]) -> list[FeedEntry]:
    return [
        FeedEntry(
            kind="tombstone", id=t.id,
            key=("tombstone", t.id, t.talk_id, t.deleted_at, t.sequence, t.event_slug),
            starts_at=t.starts_at, ends_at=t.ends_at, timezone=t.timezone, changed_at=_aware(t.deleted_at),
        )
        for t in tombstones
    ]


async def recent_tombstones(
    session: AsyncSession, now: dt.datetime, *, event_id: int | None = None, person_id: int | None = None
) -> list[Any]:
    """Deleted talks (and talks of withdrawn events) still announced, each with ``event_slug`` (None when its
    event is not public: no link to a page that answers 404)."""
    live_talk = (
        select(Talk.id).join(Event, Event.id == Talk.event_id)
        .where(Talk.id == CalendarTombstone.talk_id, Event.is_public, Talk.starts_at.is_not(None))
    )
    statement = (
        select(CalendarTombstone, Event.slug, Event.status)
        .join(Event, Event.id == CalendarTombstone.event_id)
        .where(
            CalendarTombstone.deleted_at >= now - CANCELLED_KEPT_FOR,
            # never two VEVENTs with one UID: not while the talk is live (republished; or SQLite reused the id)
            ~exists(live_talk),
        )
    )
    if event_id is not None:
        statement = statement.where(CalendarTombstone.event_id == event_id)
    rows = (await session.execute(statement.order_by(CalendarTombstone.starts_at, CalendarTombstone.id))).all()
    found = []
    for tombstone, slug, status in rows:
        # JSON containment differs between SQLite and PostgreSQL; recent tombstones are few.
        if person_id is not None and person_id not in (tombstone.person_ids or []):
            continue
        # A transient attribute for the feed builder, never stored.
        tombstone.event_slug = slug if status != EventStatus.DRAFT else None  # type: ignore[attr-defined]
        found.append(tombstone)
    return found


async def programme_entries(
    session: AsyncSession, event: FeedEntry, now: dt.datetime, *, with_talks: bool
) -> tuple[list[FeedEntry], dict[int, Any]]:
    """/events/{slug}.ics: the event, then its talks (none if withdrawn) and its tombstones."""
    entries = [event]
    tombstones: dict[int, Any] = {}
    if with_talks:
        if event.kind == "event":
            entries += await _talk_entries(session, Talk.event_id == event.id)
        found = await recent_tombstones(session, now, event_id=event.id)
        tombstones = {t.id: t for t in found}
        entries += _tombstone_entries(found)
    return entries, tombstones


async def speaker_entries(session: AsyncSession, person_id: int, now: dt.datetime) -> tuple[list[FeedEntry], dict[int, Any]]:
    """/speakers/{id}.ics: the person's talks in public events, and their deleted or withdrawn talks."""
    talks = await _talk_entries(
        session, and_(TalkSpeaker.person_id == person_id, FeedScope().where(now)),
        (TalkSpeaker, TalkSpeaker.talk_id == Talk.id),
    )
    found = await recent_tombstones(session, now, person_id=person_id)
    return _in_order([*talks, *_tombstone_entries(found)]), {t.id: t for t in found}


# ---- reading what a VEVENT shows --------------------------------------------------------------------------------
# What event_to_vevent reads of an event (and of its series, the title).
FEED_EVENT_COLUMNS = (
    Event.id, Event.slug, Event.kind, Event.title, Event.summary, Event.starts_at, Event.ends_at, Event.timezone,
    Event.venue_name, Event.venue_address, Event.online_url, Event.online_url_private, Event.geo_lat, Event.geo_lon,
    Event.organiser,
    Event.status, Event.revision, Event.created_at, Event.updated_at,
)


async def load_events(session: AsyncSession, ids: Sequence[int], where: ColumnElement[bool] | None = None) -> dict[int, Any]:
    """Read-only views of the events whose VEVENTs are still to be built: the same attributes as Event
    (series as an object with a title), read as Core rows, since ORM objects cost several times more and
    a feed only reads them. With many ids, ``where`` (the feed's own filter) is used instead of an IN list."""
    statement = select(*FEED_EVENT_COLUMNS, Series.title.label("series_title")).outerjoin(
        Series, Series.id == Event.series_id
    )
    use_filter = where is not None and len(ids) > IN_LIST_LIMIT
    statement = statement.where(where if use_filter and where is not None else Event.id.in_(ids))
    connection = await session.connection()
    events = {}
    for row in await connection.execute(statement):
        values = row._asdict()
        title = values.pop("series_title")
        events[row.id] = SimpleNamespace(**values, series=SimpleNamespace(title=title) if title is not None else None)
    return events


def _speaker_line(row: Any) -> SpeakerLine:
    # Person.display_name is the one rule for how a name is shown; rows carry the same attributes.
    display_name: property = Person.__dict__["display_name"]
    return SpeakerLine(display_name.fget(row), row.affiliation or "")  # type: ignore[misc]  # fget is set


async def speakers_by_event(session: AsyncSession, event_ids: Sequence[int]) -> dict[int, list[SpeakerLine]]:
    """Distinct speakers of each event in programme order, read as plain rows (no Talk objects)."""
    if not event_ids:
        return {}
    statement = (
        select(Talk.event_id, Person.id, Person.honorific, Person.full_name, Person.affiliation)
        .join(TalkSpeaker, TalkSpeaker.talk_id == Talk.id)
        .join(Person, Person.id == TalkSpeaker.person_id)
        .where(Talk.starts_at.is_not(None))  # a talk not yet in the programme does not announce its speaker
        .order_by(Talk.event_id, Talk.starts_at, Talk.id, TalkSpeaker.position)
    )
    if len(event_ids) <= IN_LIST_LIMIT:
        statement = statement.where(Talk.event_id.in_(event_ids))
    wanted = set(event_ids)
    seen: dict[int, dict[int, SpeakerLine]] = defaultdict(dict)
    connection = await session.connection()  # Core rows: the ORM result layer costs ~5x more here
    for row in await connection.execute(statement):
        if row.event_id in wanted and row.id not in seen[row.event_id]:
            seen[row.event_id][row.id] = _speaker_line(row)
    return {event_id: list(people.values()) for event_id, people in seen.items()}


async def load_talks(
    session: AsyncSession, ids: Sequence[int], event_ids: Sequence[int]
) -> dict[int, tuple[Any, list[SpeakerLine]]]:
    """Views of talks (with room_name) and their speakers in order, as Core rows. A big programme is read by
    its events (``event_ids``) rather than by a long IN list."""
    if not ids:
        return {}
    wanted = set(ids)
    by_events = len(ids) > IN_LIST_LIMIT
    connection = await session.connection()
    statement = select(
        Talk.id, Talk.event_id, Talk.title, Talk.abstract, Talk.starts_at, Talk.ends_at, Talk.revision,
        Talk.created_at, Talk.updated_at, func.coalesce(Room.name, Talk.room).label("room_name"),
    ).outerjoin(Room, Room.id == Talk.room_id)
    statement = statement.where(Talk.event_id.in_(event_ids) if by_events else Talk.id.in_(ids))
    talks = {
        row.id: SimpleNamespace(**row._asdict())
        for row in await connection.execute(statement) if row.id in wanted
    }
    people = (
        select(TalkSpeaker.talk_id, Person.honorific, Person.full_name, Person.affiliation)
        .join(Person, Person.id == TalkSpeaker.person_id)
        .order_by(TalkSpeaker.talk_id, TalkSpeaker.position, TalkSpeaker.id)
    )
    if by_events:
        people = people.join(Talk, Talk.id == TalkSpeaker.talk_id).where(Talk.event_id.in_(event_ids))
    else:
        people = people.where(TalkSpeaker.talk_id.in_(ids))
    speakers: dict[int, list[SpeakerLine]] = defaultdict(list)
    for row in await connection.execute(people):
        if row.talk_id in wanted:
            speakers[row.talk_id].append(_speaker_line(row))
    return {talk_id: (talk, speakers.get(talk_id, [])) for talk_id, talk in talks.items()}


async def build_components(
    session: AsyncSession, entries: Sequence[FeedEntry], settings: Settings, *,
    tombstones: dict[int, Any] | None = None, event_filter: ColumnElement[bool] | None = None,
    stamp: dt.datetime | None = None, attendee: bool = False,
) -> dict[tuple, VEvent]:
    """VEVENTs for the entries, by key: the one way an entry becomes a component, for every feed and for the
    invitations. ``stamp`` is DTSTAMP for iTIP messages (feeds leave it None). ``attendee``: for a registered
    person (their feed, their invitations), so a meeting link kept for attendees is included; public feeds
    leave it out."""
    by_kind: dict[str, list[FeedEntry]] = defaultdict(list)
    for entry in entries:
        by_kind[entry.kind].append(entry)
    # Read everything first; then build, which is CPU only (off the event loop when it is a big feed).
    talk_rows = await load_talks(
        session, [e.id for e in by_kind["talk"]], sorted({e.event_id for e in by_kind["talk"] if e.event_id})
    )
    event_ids = {e.id for e in by_kind["event"]} | {talk.event_id for talk, _people in talk_rows.values()}
    events = await load_events(session, sorted(event_ids), event_filter) if event_ids else {}
    speakers = await speakers_by_event(session, [e.id for e in by_kind["event"]])
    withdrawn = {
        w.event_id: w for w in await session.scalars(
            select(WithdrawnEvent).where(WithdrawnEvent.event_id.in_([e.id for e in by_kind["withdrawn"]]))
        )
    } if by_kind["withdrawn"] else {}

    def build_all() -> dict[tuple, VEvent]:
        return _build_components(by_kind, talk_rows, events, speakers, withdrawn, settings, tombstones, stamp,
                                 attendee)

    def build_all_paused() -> dict[tuple, VEvent]:
        with collector_paused():  # a full collection here would stop the event loop too (core/gc_pause.py)
            return build_all()

    if len(entries) >= OFF_LOOP_ENTRIES:
        return await asyncio.to_thread(build_all_paused)  # copies the context: the language of the request
    return build_all()


# A feed of this many entries is built and serialised in a worker thread, so other requests are not held up.
OFF_LOOP_ENTRIES = 50


def published_online_url(event: Any, *, attendee: bool) -> str:
    """The meeting link a calendar may carry: a link kept for registered attendees only goes to them alone."""
    return event.online_url if attendee or not event.online_url_private else ""


def _build_components(by_kind, talk_rows, events, speakers, withdrawn, settings, tombstones, stamp, attendee=False):
    components: dict[tuple, VEvent] = {}
    for entry in by_kind["event"]:
        event = events.get(entry.id)
        if event is None:  # unpublished between the two queries: simply left out
            continue
        component = build.event_to_vevent(
            event, speakers=speakers.get(entry.id, []), settings=settings,
            online_url=published_online_url(event, attendee=attendee),
            changed_at=entry.changed_at,
        )
        components[entry.key] = build.mark_tentative(component) if entry.tentative else component
    for entry in by_kind["talk"]:
        found = talk_rows.get(entry.id)
        event = events.get(found[0].event_id) if found else None
        if found is None or event is None:
            continue
        talk, people = found
        components[entry.key] = build.talk_to_vevent(
            talk, event, speakers=people, settings=settings, online_url=published_online_url(event, attendee=attendee),
            changed_at=entry.changed_at,
        )
    for entry in by_kind["withdrawn"]:
        if entry.id in withdrawn:
            components[entry.key] = build.withdrawn_to_vevent(withdrawn[entry.id], settings=settings)
    for entry in by_kind["tombstone"]:
        tombstone = (tombstones or {}).get(entry.id)
        if tombstone is not None:
            slug = tombstone.event_slug
            components[entry.key] = build.tombstone_to_vevent(
                tombstone, settings=settings, event=SimpleNamespace(slug=slug) if slug else None
            )
    if stamp is not None:  # an iTIP message: DTSTAMP is when it was made (RFC 5546 2.1.5), not the last change
        for component in components.values():
            component.pop("DTSTAMP")
            component.add("dtstamp", stamp.astimezone(dt.UTC))
    return components


# ---- validators: has anything a feed shows changed? ------------------------------------------------------------
@lru_cache(maxsize=1)
def _validator_statement() -> Select:
    """Built once: constructing ten subqueries and their cache key cost more than PostgreSQL's answer."""
    cutoff: BindParameter[dt.datetime] = bindparam("cutoff")
    terms = [
        select(func.max(Event.updated_at)),
        # When the latest cancelled event that has left the feeds did so (its end plus the 30 days).
        select(func.max(Event.ends_at)).where(Event.status == EventStatus.CANCELLED, Event.ends_at < cutoff),
        # The same for withdrawn events.
        select(func.max(WithdrawnEvent.ends_at)).where(WithdrawnEvent.ends_at < cutoff),
        select(func.max(Talk.updated_at)),
        select(func.max(Person.updated_at)),
        select(func.max(Series.updated_at)),
        select(func.max(Room.updated_at)),  # a room's name is a talk's LOCATION
        select(func.max(CalendarTombstone.deleted_at)),
        select(func.count(CalendarTombstone.id)).where(CalendarTombstone.deleted_at >= cutoff),
        select(func.max(WithdrawnEvent.withdrawn_at)),
    ]
    return select(*(term.scalar_subquery() for term in terms))


AGED_OUT_TERMS = (1, 2)


async def feed_validator(session: AsyncSession, now: dt.datetime) -> tuple[Any, ...]:
    """Latest change times of everything a feed shows; one round trip, each an index lookup.

    Counted globally rather than per feed: cheaper, and it errs towards sending a fresh copy. This relies on
    how the app writes: every change bumps updated_at (Advanced Alchemy), talks are the only rows ever
    deleted and leave a tombstone, and a speaker change bumps the talk. The only changes with no write are
    cancelled or withdrawn events and tombstones ageing out of the feeds, hence the time-window terms.
    Returns the values plus, last, the time of the latest change for Last-Modified.
    """
    connection = await session.connection()
    row = (await connection.execute(_validator_statement(), {"cutoff": now - CANCELLED_KEPT_FOR})).one()
    values = list(row)
    changes = [_aware(v) for i, v in enumerate(values) if isinstance(v, dt.datetime) and i not in AGED_OUT_TERMS]
    changes += [_aware(values[i]) + CANCELLED_KEPT_FOR for i in AGED_OUT_TERMS if values[i] is not None]
    last_modified = max(changes, default=None)
    return (*[_plain(v) for v in values], last_modified)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return _aware(value).isoformat()
    return value
