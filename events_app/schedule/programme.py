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

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload

from events_app.events.models import Event, EventStatus
from events_app.schedule.models import (
    Material,
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
from events_app.web.urls import url_path

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
class TalkDetail:
    """What a talk shows besides its place and time; reused while the talk's version is unchanged."""

    version: tuple
    title: str
    abstract: str
    session_title: str
    track: str
    speakers: list[Speaker]
    # (kind, title, href) of the talk's materials; href is the link, or the file's path on this site.
    materials: list[tuple[str, str, str]] = field(default_factory=list)
    # Rendered pieces of this talk (grid cell, XML event, JSON object), keyed by what else they depend on.
    fragments: dict[tuple, object] = field(default_factory=dict)


@dataclass
class Item:
    id: int
    kind: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    local_start: dt.datetime
    local_end: dt.datetime
    room_id: int | None
    room_name: str
    session_id: int | None
    detail: TalkDetail
    change: str = ""  # "new" or "moved" since the previous published version
    was: tuple[dt.datetime, str] | None = None  # when and where a moved item was before (shown in the reader's locale)
    row: tuple = ()  # the layout row it was made from, to reuse it while that row is unchanged
    zone: ZoneInfo | None = None

    @property
    def title(self) -> str:
        return self.detail.title

    @property
    def abstract(self) -> str:
        return self.detail.abstract

    @property
    def session_title(self) -> str:
        return self.detail.session_title

    @property
    def track(self) -> str:
        return self.detail.track

    @property
    def speakers(self) -> list[Speaker]:
        return self.detail.speakers

    @property
    def is_break(self) -> bool:
        return self.kind == TalkKind.BREAK.value

    @property
    def minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    @property
    def spans_all_rooms(self) -> bool:
        """A break with no room of its own is everyone's break: drawn across the whole grid."""
        return self.is_break and self.room_id is None and not self.room_name


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

    def column_of(self, item: Item) -> int | str:
        if item.spans_all_rooms:
            return "2 / -1"
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
    # Rendered days, reused while a day's items are the same objects (see exports and grid).
    day_pieces: dict = field(default_factory=dict)

    @property
    def talks(self) -> list[Item]:
        return [item for item in self.items if not item.is_break]

    @property
    def changed(self) -> list[Item]:
        return [item for item in self.items if item.change]


def _display(honorific: str, name: str) -> str:
    return f"{honorific} {name}".strip() if honorific else name


# Rows changed this recently are read again on every cache refresh: a transaction that stamped its rows
# before another one committed later is still seen (no transaction edits a timetable for minutes).
REREAD_WINDOW = dt.timedelta(minutes=5)


def _layout_statement(event_id: int) -> Select:
    room_of_talk = func.coalesce(Talk.room_id, ScheduleSession.room_id)
    return (
        select(
            Talk.id, Talk.kind, Talk.starts_at, Talk.ends_at, room_of_talk, func.coalesce(Room.name, Talk.room),
            Talk.session_id, Talk.created_at, Talk.updated_at, ScheduleSession.updated_at,
        )
        .outerjoin(ScheduleSession, ScheduleSession.id == Talk.session_id)
        .outerjoin(Room, Room.id == room_of_talk)
        .where(Talk.event_id == event_id)
    )


async def _fingerprint(session: AsyncSession, event_id: int) -> tuple:
    """Counts, id sums and latest changes of the event's talks, sessions and versions, in one query."""
    def scalar(expression, model):
        return select(expression).where(model.event_id == event_id).scalar_subquery()

    row = (await session.execute(select(
        scalar(func.count(Talk.id), Talk), scalar(func.coalesce(func.sum(Talk.id), 0), Talk),
        scalar(func.max(Talk.updated_at), Talk),
        scalar(func.count(ScheduleSession.id), ScheduleSession),
        scalar(func.coalesce(func.sum(ScheduleSession.id), 0), ScheduleSession),
        scalar(func.max(ScheduleSession.updated_at), ScheduleSession),
        scalar(func.max(ProgrammeVersion.id), ProgrammeVersion),
    ))).one()
    return tuple(row)


async def _current_layout(session: AsyncSession, event_id: int, cache: EventCache | None, fingerprint: tuple) -> dict:
    talk_count, talk_id_sum, talk_changed, _sc, _ss, session_changed, _v = fingerprint
    if cache is not None and cache.layout is not None and cache.since is not None:
        cutoff = cache.since - REREAD_WINDOW
        rows = await session.execute(
            _layout_statement(event_id).where(
                or_(Talk.updated_at > cutoff, ScheduleSession.updated_at > cutoff)
            )
        )
        layout = dict(cache.layout)
        for row in rows:
            layout[row[0]] = tuple(row)
        if len(layout) == talk_count and sum(layout) == talk_id_sum:
            return layout
        # Something was deleted: the delta cannot show that, so read everything again.
    return {row[0]: tuple(row) for row in await session.execute(_layout_statement(event_id))}


async def load_programme(session: AsyncSession, event_id: int, store: ProgrammeStore | None = None) -> Programme:
    """The programme as plain data.

    With a store (the public pages), a refresh after a change reads only the talks and sessions changed since
    the last read (found by their updated_at), so its cost barely depends on the size of the programme.
    """
    event = (await session.execute(
        select(Event).where(Event.id == event_id).options(raiseload(Event.managers), raiseload(Event.talks))
    )).scalar_one()
    zone = ZoneInfo(event.timezone)
    fingerprint = await _fingerprint(session, event_id)
    cache = store.event_cache(event_id) if store is not None else None
    layout = await _current_layout(session, event_id, cache, fingerprint)
    known = cache.details if cache is not None else {}
    versions = {tid: (row[7], row[8], row[9]) for tid, row in layout.items()}
    for stale in [tid for tid, detail in known.items() if versions.get(tid) != detail.version]:
        del known[stale]
    wanted = [tid for tid in versions if tid not in known]
    if wanted:
        await _read_details(session, event_id, wanted, versions, known, everything=len(wanted) == len(versions))
    # Unscheduled talks (no time yet) stay in the layout, which must count every talk, but not in the programme.
    ordered = sorted((row for row in layout.values() if row[2] is not None), key=lambda row: (row[2], row[0]))
    previous = cache.items if cache is not None else {}
    items = []
    for row in ordered:
        tid = row[0]
        item = previous.get(tid)
        if item is None or item.row != row or item.detail is not known[tid] or item.zone is not zone:
            _tid, kind, starts, ends, room_id, room_name, sid, *_versions = row
            item = Item(tid, kind or "talk", starts, ends, starts.astimezone(zone), ends.astimezone(zone), room_id,
                        room_name or "", sid, known[tid], row=row, zone=zone)
        else:
            item.change, item.was = "", None
        items.append(item)
    if cache is not None:
        cache.items = {item.id: item for item in items}
    sessions_key = (fingerprint[3], fingerprint[4], fingerprint[5], event.timezone)
    if cache is not None and cache.sessions_key == sessions_key and cache.sessions is not None:
        sessions = cache.sessions
    else:
        sessions = await _sessions(session, event_id, zone)
    programme = Programme(event, items, sessions, [], sorted({i.room_name for i in items if i.room_name}),
                          day_pieces=cache.day_pieces if cache is not None else {})
    await _mark_changes(session, programme, zone, store, latest_version_id=fingerprint[6])
    programme.days = _days(event, items, zone)
    if cache is not None:
        changes = [t for t in (fingerprint[2], fingerprint[5]) if t is not None]
        cache.layout, cache.since = layout, max(changes) if changes else None
        cache.sessions, cache.sessions_key = sessions, sessions_key
    return programme


async def _read_details(session: AsyncSession, event_id: int, wanted: list[int], versions: dict, known: dict,
                        *, everything: bool) -> None:
    # One query for the talks and one for their speakers, whether 1 or 2,000 talks changed.
    talk_filter = Talk.event_id == event_id if everything else Talk.id.in_(wanted)
    rows = await session.execute(
        select(Talk.id, Talk.title, Talk.abstract, ScheduleSession.title, ScheduleSession.track)
        .outerjoin(ScheduleSession, ScheduleSession.id == Talk.session_id)
        .where(talk_filter)
    )
    fresh = {tid: TalkDetail(versions[tid], title, abstract or "", stitle or "", track or "", [])
             for tid, title, abstract, stitle, track in rows if tid in versions}
    speaker_filter = Talk.event_id == event_id if everything else TalkSpeaker.talk_id.in_(wanted)
    speaker_rows = await session.execute(
        select(TalkSpeaker.talk_id, Person.id, Person.honorific, Person.full_name)
        .join(Talk, Talk.id == TalkSpeaker.talk_id)
        .join(Person, Person.id == TalkSpeaker.person_id)
        .where(speaker_filter)
        .order_by(TalkSpeaker.talk_id, TalkSpeaker.position)
    )
    for tid, pid, honorific, name in speaker_rows:
        if tid in fresh:
            fresh[tid].speakers.append(Speaker(pid, name, _display(honorific, name)))
    material_filter = Talk.event_id == event_id if everything else Material.talk_id.in_(wanted)
    material_rows = await session.execute(
        select(Material.talk_id, Material.id, Material.kind, Material.title, Material.url, Material.file_path)
        .join(Talk, Talk.id == Material.talk_id).where(material_filter).order_by(Material.id)
    )
    for material_talk, mid, kind, title, url, file_path in material_rows:
        if material_talk in fresh:
            file_url = url or url_path("material_file", material_id=mid, name=file_path.rsplit("/", 1)[-1])
            fresh[material_talk].materials.append((kind, title, file_url))
    known.update(fresh)


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


async def _mark_changes(session: AsyncSession, programme: Programme, zone: ZoneInfo,
                        store: ProgrammeStore | None, *, latest_version_id: int | None) -> None:
    """Marks what the latest published version changed against the one before it."""
    event_id = programme.event.id
    if latest_version_id is None:
        return  # nothing published yet
    key = (event_id, latest_version_id, programme.event.timezone)
    cached = store.diffs.get(key) if store is not None else None
    if cached is None:
        cached = await _version_changes(session, event_id, zone)
        if store is not None:
            # Published versions never change, so their comparison is worked out once per process.
            store.diffs[key] = cached
    header, diff = cached
    programme.version_number, programme.version_published_at, programme.version_note, programme.previous_number = header
    if diff is None:
        return
    marks, cancelled = diff
    for item in programme.items:
        if item.id in marks:
            item.change, item.was = marks[item.id]
    programme.cancelled = list(cancelled)


async def _version_changes(session: AsyncSession, event_id: int, zone: ZoneInfo) -> tuple:
    versions = (await session.execute(
        select(ProgrammeVersion.number, ProgrammeVersion.published_at, ProgrammeVersion.note, ProgrammeVersion.snapshot)
        .where(ProgrammeVersion.event_id == event_id)
        .order_by(ProgrammeVersion.number.desc())
        .limit(2)
    )).all()
    if not versions:
        return (None, None, "", None), None
    latest = versions[0]
    if len(versions) < 2:
        return (latest[0], latest[1], latest[2], None), None
    return (latest[0], latest[1], latest[2], versions[1][0]), _compare(latest[3] or {}, versions[1][3] or {}, zone)


def _compare(now: dict, before: dict, zone: ZoneInfo
             ) -> tuple[dict[int, tuple[str, tuple[dt.datetime, str] | None]], list[Cancelled]]:
    def same_item(key: str) -> bool:
        return key in before and before[key][4:5] == now[key][4:5]

    # The instant, not a formatted string: this comparison is cached per process and read in every locale.
    marks: dict[int, tuple[str, tuple[dt.datetime, str] | None]] = {}
    for key, entry in now.items():
        if not same_item(key):
            marks[int(key)] = ("new", None)
        elif before[key][1:4] != entry[1:4]:
            was_start = dt.datetime.fromisoformat(before[key][1]).astimezone(zone)
            marks[int(key)] = ("moved", (was_start, before[key][3] or ""))
    cancelled = [
        Cancelled(title, dt.datetime.fromisoformat(starts).astimezone(zone), room)
        for key, (title, starts, _ends, room, *_created) in before.items()
        if key not in now or not same_item(key)
    ]
    cancelled.sort(key=lambda c: c.local_start)
    return marks, cancelled


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
            if not item.spans_all_rooms:
                named.setdefault((item.room_id, item.room_name), Column(item.room_id, item.room_name))
        columns = sorted(named.values(), key=lambda c: (c.name == "", c.name)) or [Column(None, "")]
        start = min(i.local_start for i in day_items)
        start = start.replace(minute=start.minute - start.minute % 30, second=0, microsecond=0)
        end = max(i.local_end if i.local_end.date() == date else
                  dt.datetime.combine(date, dt.time(23, 55), zone) for i in day_items)
        days.append(Day(offset + 1, date, day_items, columns, start, end))
    return days


@dataclass
class EventCache:
    details: dict[int, TalkDetail] = field(default_factory=dict)
    layout: dict[int, tuple] | None = None
    since: dt.datetime | None = None
    sessions: list[SessionInfo] | None = None
    sessions_key: tuple | None = None
    items: dict[int, Item] = field(default_factory=dict)
    day_pieces: dict = field(default_factory=dict)


class ProgrammeStore:
    """Per process and safe to lose: talk details, their rendered pieces, version comparisons, whole bodies.

    Every entry is keyed by versions read from the database, so a change made through another process is
    seen on the next request; nothing here needs invalidating.
    """

    def __init__(self, max_events: int = 32, max_bodies: int = 64) -> None:
        self._events: OrderedDict[int, EventCache] = OrderedDict()
        self.max_events = max_events
        self.diffs: dict[tuple, tuple] = {}
        self.bodies = RenderedCache(max_bodies)

    def event_cache(self, event_id: int) -> EventCache:
        if event_id not in self._events:
            self._events[event_id] = EventCache()
            while len(self._events) > self.max_events:
                self._events.popitem(last=False)
        self._events.move_to_end(event_id)
        return self._events[event_id]


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

