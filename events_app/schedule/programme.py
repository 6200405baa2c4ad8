"""The public programme as plain data: a handful of column queries, whatever the number of talks.

Pages and exports read this instead of ORM objects: a 2,000-talk conference is re-read by every attendee's
phone and by apps polling schedule.xml, so the read path is kept to a constant number of cheap queries, and
the rendered result is cached per programme revision (the same revision that makes the ETag).
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload

from events_app.events.models import Event, EventStatus
from events_app.schedule.models import (
    ProgrammeState,
    ProgrammeVersion,
    Room,
    ScheduleSession,
    Talk,
    TalkKind,
    TalkSpeaker,
    session_chair,
)
from events_app.speakers.models import Person

GRID_MINUTES = 5


@dataclass(frozen=True)
class ProgrammeHead:
    """Just enough to answer a conditional request: one indexed query."""

    event_id: int
    slug: str
    public: bool
    event_revision: int
    programme_revision: int
    # Timestamps too, so a restored or re-created database can never match a cached tag by counter alone.
    stamp: str = ""

    def tag(self, *parts: str) -> str:
        return "-".join(
            (str(self.event_id), str(self.event_revision), str(self.programme_revision), self.stamp, *parts)
        )


async def programme_head(session: AsyncSession, slug: str) -> ProgrammeHead | None:
    row = (await session.execute(
        select(Event.id, Event.slug, Event.status, Event.revision, func.coalesce(ProgrammeState.revision, 0),
               Event.updated_at, ProgrammeState.updated_at)
        .outerjoin(ProgrammeState, ProgrammeState.event_id == Event.id)
        .where(Event.slug == slug)
    )).first()
    if row is None:
        return None
    event_id, slug, status, revision, programme_revision, event_changed, programme_changed = row
    stamp = "".join(f"{int(t.timestamp() * 1_000_000):x}" for t in (event_changed, programme_changed) if t)
    return ProgrammeHead(event_id, slug, status != EventStatus.DRAFT, revision, programme_revision, stamp)


@dataclass
class Speaker:
    id: int
    name: str
    display_name: str


@dataclass
class Item:
    id: int
    kind: str
    title: str
    abstract: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    local_start: dt.datetime
    local_end: dt.datetime
    room_id: int | None
    room_name: str
    session_id: int | None
    session_title: str
    track: str
    speakers: list[Speaker] = field(default_factory=list)
    change: str = ""  # "new" or "moved" since the previous published version
    was: str = ""  # where and when a moved item was before

    @property
    def is_break(self) -> bool:
        return self.kind == TalkKind.BREAK.value

    @property
    def minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


@dataclass
class SessionInfo:
    id: int
    title: str
    track: str
    room_name: str
    local_start: dt.datetime
    local_end: dt.datetime
    chairs: list[Speaker] = field(default_factory=list)


@dataclass
class Column:
    key: int | None
    name: str


@dataclass
class Day:
    index: int
    date: dt.date
    items: list[Item]
    columns: list[Column]
    start: dt.datetime  # local, the grid's first row
    end: dt.datetime

    def row_of(self, moment: dt.datetime) -> int:
        return int((moment - self.start).total_seconds() // (GRID_MINUTES * 60)) + 2

    def column_of(self, item: Item) -> int:
        for position, column in enumerate(self.columns):
            if column.key == item.room_id and (column.key is not None or column.name == item.room_name):
                return position + 2
        return 2

    @property
    def rows(self) -> int:
        return self.row_of(self.end) - 1

    def hour_marks(self) -> list[tuple[int, dt.datetime]]:
        marks = []
        moment = self.start
        while moment < self.end:
            marks.append((self.row_of(moment), moment))
            moment += dt.timedelta(minutes=30)
        return marks


@dataclass
class Cancelled:
    title: str
    local_start: dt.datetime
    room_name: str


@dataclass
class Programme:
    event: Event
    items: list[Item]
    sessions: list[SessionInfo]
    days: list[Day]
    rooms: list[str]
    version_number: int | None = None
    version_published_at: dt.datetime | None = None
    version_note: str = ""
    previous_number: int | None = None
    cancelled: list[Cancelled] = field(default_factory=list)

    @property
    def talks(self) -> list[Item]:
        return [item for item in self.items if not item.is_break]

    @property
    def changed(self) -> list[Item]:
        return [item for item in self.items if item.change]


def _display(honorific: str, name: str) -> str:
    return f"{honorific} {name}".strip() if honorific else name


async def load_programme(session: AsyncSession, event_id: int) -> Programme:
    event = await session.scalar(
        select(Event).where(Event.id == event_id).options(raiseload(Event.managers), raiseload(Event.talks))
    )
    zone = ZoneInfo(event.timezone)
    room_of_talk = func.coalesce(Talk.room_id, ScheduleSession.room_id)
    rows = await session.execute(
        select(
            Talk.id, Talk.kind, Talk.title, Talk.abstract, Talk.starts_at, Talk.ends_at, room_of_talk,
            func.coalesce(Room.name, Talk.room), Talk.session_id, ScheduleSession.title, ScheduleSession.track,
        )
        .outerjoin(ScheduleSession, ScheduleSession.id == Talk.session_id)
        .outerjoin(Room, Room.id == room_of_talk)
        .where(Talk.event_id == event_id)
        .order_by(Talk.starts_at, Talk.id)
    )
    items: list[Item] = []
    by_id: dict[int, Item] = {}
    for tid, kind, title, abstract, starts, ends, room_id, room_name, sid, stitle, track in rows:
        item = Item(tid, kind or "talk", title, abstract or "", starts, ends, starts.astimezone(zone),
                    ends.astimezone(zone), room_id, room_name or "", sid, stitle or "", track or "")
        items.append(item)
        by_id[tid] = item
    speaker_rows = await session.execute(
        select(TalkSpeaker.talk_id, Person.id, Person.honorific, Person.full_name)
        .join(Talk, Talk.id == TalkSpeaker.talk_id)
        .join(Person, Person.id == TalkSpeaker.person_id)
        .where(Talk.event_id == event_id)
        .order_by(TalkSpeaker.talk_id, TalkSpeaker.position)
    )
    for tid, pid, honorific, name in speaker_rows:
        by_id[tid].speakers.append(Speaker(pid, name, _display(honorific, name)))
    sessions = await _sessions(session, event_id, zone)
    programme = Programme(event, items, sessions, [], sorted({i.room_name for i in items if i.room_name}))
    await _mark_changes(session, programme, zone)
    programme.days = _days(event, items, zone)
    return programme


async def _sessions(session: AsyncSession, event_id: int, zone: ZoneInfo) -> list[SessionInfo]:
    rows = await session.execute(
        select(ScheduleSession.id, ScheduleSession.title, ScheduleSession.track, Room.name,
               ScheduleSession.starts_at, ScheduleSession.ends_at)
        .outerjoin(Room, Room.id == ScheduleSession.room_id)
        .where(ScheduleSession.event_id == event_id)
        .order_by(ScheduleSession.starts_at, ScheduleSession.id)
    )
    sessions = {sid: SessionInfo(sid, title, track or "", room or "", s.astimezone(zone), e.astimezone(zone))
                for sid, title, track, room, s, e in rows}
    # Asked even when there are no sessions, so the number of queries never depends on the programme.
    chairs = await session.execute(
        select(session_chair.c.session_id, Person.id, Person.honorific, Person.full_name)
        .join(Person, Person.id == session_chair.c.person_id)
        .join(ScheduleSession, ScheduleSession.id == session_chair.c.session_id)
        .where(ScheduleSession.event_id == event_id)
        .order_by(Person.full_name)
    )
    for sid, pid, honorific, name in chairs:
        sessions[sid].chairs.append(Speaker(pid, name, _display(honorific, name)))
    return list(sessions.values())


async def _mark_changes(session: AsyncSession, programme: Programme, zone: ZoneInfo) -> None:
    """Marks what the latest published version changed against the one before it."""
    versions = (await session.execute(
        select(ProgrammeVersion.number, ProgrammeVersion.published_at, ProgrammeVersion.note, ProgrammeVersion.snapshot)
        .where(ProgrammeVersion.event_id == programme.event.id)
        .order_by(ProgrammeVersion.number.desc())
        .limit(2)
    )).all()
    if not versions:
        return
    latest = versions[0]
    programme.version_number, programme.version_published_at, programme.version_note = latest[0], latest[1], latest[2]
    if len(versions) < 2:
        return
    programme.previous_number = versions[1][0]
    now, before = latest[3] or {}, versions[1][3] or {}

    def same_item(key: str) -> bool:
        return key in before and before[key][4:5] == now[key][4:5]

    for item in programme.items:
        key = str(item.id)
        if key not in now:
            continue
        if not same_item(key):
            item.change = "new"
        elif before[key][1:4] != now[key][1:4]:
            item.change = "moved"
            was_start = dt.datetime.fromisoformat(before[key][1]).astimezone(zone)
            item.was = f"{was_start:%Y-%m-%d %H:%M}" + (f", {before[key][3]}" if before[key][3] else "")
    for key, (title, starts, _ends, room, *_created) in before.items():
        if key not in now or not same_item(key):
            programme.cancelled.append(Cancelled(title, dt.datetime.fromisoformat(starts).astimezone(zone), room))
    programme.cancelled.sort(key=lambda c: c.local_start)


def _days(event: Event, items: list[Item], zone: ZoneInfo) -> list[Day]:
    first = event.starts_at.astimezone(zone).date()
    last = event.ends_at.astimezone(zone).date()
    days: list[Day] = []
    grouped: dict[dt.date, list[Item]] = {}
    for item in items:
        grouped.setdefault(item.local_start.date(), []).append(item)
    count = (last - first).days + 1
    for offset in range(count):
        date = first + dt.timedelta(days=offset)
        day_items = grouped.get(date, [])
        if not day_items:
            continue
        named: dict[tuple[int | None, str], Column] = {}
        for item in day_items:
            named.setdefault((item.room_id, item.room_name), Column(item.room_id, item.room_name))
        columns = sorted(named.values(), key=lambda c: (c.name == "", c.name))
        start = min(i.local_start for i in day_items)
        start = start.replace(minute=start.minute - start.minute % 30, second=0, microsecond=0)
        end = max(i.local_end if i.local_end.date() == date else
                  dt.datetime.combine(date, dt.time(23, 55), zone) for i in day_items)
        days.append(Day(offset + 1, date, day_items, columns, start, end))
    return days


class RenderedCache:
    """Rendered exports per (event, revision, variant): safe to lose, never stale (the key moves on)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: OrderedDict[str, bytes] = OrderedDict()

    def get(self, key: str) -> bytes | None:
        body = self._items.get(key)
        if body is not None:
            self._items.move_to_end(key)
        return body

    def put(self, key: str, body: bytes) -> bytes:
        self._items[key] = body
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return body

    def __contains__(self, key: str) -> bool:
        return key in self._items


rendered_cache = RenderedCache()
