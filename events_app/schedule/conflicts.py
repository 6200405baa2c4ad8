"""Timetable conflict rules: one place that says when two items cannot both happen as scheduled.

Rooms are physical and people are people, so room and person clashes are looked for across *all* of the
institution's events, not just the one being edited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.core.i18n import gettext as _
from events_app.core.timefmt import format_clock, format_day, in_zone
from events_app.events.models import Event
from events_app.schedule.models import Room, ScheduleSession, Talk, TalkSpeaker, session_chair
from events_app.speakers.models import Invitation, InvitationStatus, Person

# Room and person clashes are refused unless the organiser overrides; the others are warnings.
BLOCKING_RULES = {"room", "person"}


@dataclass
class Slot:
    """A talk, break or session as the conflict rules see it."""

    kind: str  # "talk" or "session"
    id: int | None
    event_id: int
    event_title: str
    timezone: str
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    room_id: int | None = None
    room_name: str = ""
    session_id: int | None = None  # for talks inside a session
    people: dict[int, str] = field(default_factory=dict)  # person id -> display name (speakers or chairs)

    @property
    def key(self) -> tuple[str, int | None]:
        return (self.kind, self.id)

    def describe(self) -> str:
        what = _("session") if self.kind == "session" else _("talk")
        start = in_zone(self.starts_at, self.timezone)
        return _(
            "%(what)s “%(title)s” (%(event)s, %(day)s %(start)s–%(end)s)",
            what=what,
            title=self.title,
            event=self.event_title,
            day=format_day(start, self.timezone, "medium"),
            start=format_clock(self.starts_at, self.timezone),
            end=format_clock(self.ends_at, self.timezone),
        )


@dataclass
class ScheduleProblem:
    rule: str  # room | person | outside_session | outside_presence
    message: str
    first: Slot
    second: Slot | None = None

    @property
    def blocking(self) -> bool:
        return self.rule in BLOCKING_RULES


def _display(honorific: str, name: str) -> str:
    return f"{honorific} {name}".strip() if honorific else name


def _contains(outer: Slot, inner: Slot) -> bool:
    return inner.kind == "talk" and outer.kind == "session" and inner.session_id == outer.id and outer.id is not None


def pair_problems(a: Slot, b: Slot) -> list[ScheduleProblem]:
    """Clashes between two items that overlap in time."""
    if not (a.starts_at < b.ends_at and b.starts_at < a.ends_at) or a.key == b.key:
        return []
    # A talk inside a session shares the session's room, and its chair may speak in it.
    if _contains(a, b) or _contains(b, a):
        return []
    problems = []
    if a.room_id is not None and a.room_id == b.room_id:
        problems.append(ScheduleProblem(
            "room",
            _("Room %(room)s is booked twice at the same time: %(a)s and %(b)s.",
              room=a.room_name or b.room_name, a=a.describe(), b=b.describe()),
            a, b,
        ))
    for person_id in sorted(a.people.keys() & b.people.keys()):
        problems.append(ScheduleProblem(
            "person",
            _("%(name)s is in two places at once: %(a)s and %(b)s.",
              name=a.people[person_id], a=a.describe(), b=b.describe()),
            a, b,
        ))
    return problems


def problems_among(slots: Sequence[Slot], *, involving: set[tuple[str, int | None]] | None = None) -> list[ScheduleProblem]:
    """All room and person clashes among the slots (sweep over start times: no n² scan of a big programme)."""
    ordered = sorted(slots, key=lambda s: (s.starts_at, s.ends_at))
    active: list[Slot] = []
    problems: list[ScheduleProblem] = []
    for slot in ordered:
        active = [s for s in active if s.ends_at > slot.starts_at]
        for other in active:
            if involving is not None and slot.key not in involving and other.key not in involving:
                continue
            problems.extend(pair_problems(other, slot))
        active.append(slot)
    return problems


async def slots_between(
    session: AsyncSession, starts: dt.datetime, ends: dt.datetime, *, event_id: int | None = None
) -> list[Slot]:
    """Every talk and session (of any event, or of one) overlapping [starts, ends), with rooms and people."""
    room_of_talk = func.coalesce(Talk.room_id, ScheduleSession.room_id)
    talk_rows = await session.execute(
        select(
            Talk.id, Talk.event_id, Event.title, Event.timezone, Talk.title, Talk.starts_at, Talk.ends_at,
            room_of_talk, Room.name, Talk.session_id,
        )
        .join(Event, Event.id == Talk.event_id)
        .outerjoin(ScheduleSession, ScheduleSession.id == Talk.session_id)
        .outerjoin(Room, Room.id == room_of_talk)
        .where(*_window(Talk, starts, ends, event_id))
    )
    slots: dict[tuple[str, int], Slot] = {}
    for tid, eid, etitle, tz, title, s, e, room_id, room_name, session_id in talk_rows:
        if s is None or e is None:
            continue  # never: an unscheduled talk matches no window
        slots[("talk", tid)] = Slot("talk", tid, eid, etitle, tz, title, s, e, room_id, room_name or "", session_id)
    session_rows = await session.execute(
        select(
            ScheduleSession.id, ScheduleSession.event_id, Event.title, Event.timezone, ScheduleSession.title,
            ScheduleSession.starts_at, ScheduleSession.ends_at, ScheduleSession.room_id, Room.name,
        )
        .join(Event, Event.id == ScheduleSession.event_id)
        .outerjoin(Room, Room.id == ScheduleSession.room_id)
        .where(*_window(ScheduleSession, starts, ends, event_id))
    )
    for sid, eid, etitle, tz, title, begins, finishes, session_room, room_name in session_rows:
        slots[("session", sid)] = Slot("session", sid, eid, etitle, tz, title, begins, finishes, session_room,
                                     room_name or "")
    speaker_rows = await session.execute(
        select(TalkSpeaker.talk_id, Person.id, Person.honorific, Person.full_name)
        .join(Person, Person.id == TalkSpeaker.person_id)
        .join(Talk, Talk.id == TalkSpeaker.talk_id)
        .where(*_window(Talk, starts, ends, event_id))
    )
    for tid, pid, honorific, name in speaker_rows:
        slots[("talk", tid)].people[pid] = _display(honorific, name)
    chair_rows = await session.execute(
        select(session_chair.c.session_id, Person.id, Person.honorific, Person.full_name)
        .join(Person, Person.id == session_chair.c.person_id)
        .join(ScheduleSession, ScheduleSession.id == session_chair.c.session_id)
        .where(*_window(ScheduleSession, starts, ends, event_id))
    )
    for sid, pid, honorific, name in chair_rows:
        slots[("session", sid)].people[pid] = _display(honorific, name)
    return list(slots.values())


def _window(model: Any, starts: dt.datetime, ends: dt.datetime, event_id: int | None) -> list:
    conditions = [model.starts_at < ends, model.ends_at > starts]
    if event_id is not None:
        conditions.append(model.event_id == event_id)
    return conditions


async def lock_timetables(session: AsyncSession) -> None:
    """Serialise timetable writes so two organisers cannot book the same room or person at once.

    Clashes span events, so a row lock on one event is not enough; one transaction-scoped advisory lock is
    cheap because timetable edits are rare. SQLite already allows a single writer at a time.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(7405001)"))


async def problems_for(session: AsyncSession, candidate: Slot) -> list[ScheduleProblem]:
    """What would clash if the candidate were saved as described (it may not be in the database yet)."""
    others = [s for s in await slots_between(session, candidate.starts_at, candidate.ends_at) if s.key != candidate.key]
    problems: list[ScheduleProblem] = []
    for other in others:
        problems.extend(pair_problems(candidate, other))
    if candidate.kind == "talk":
        problems.extend(await _talk_placement_problems(session, [candidate]))
    return problems


async def event_problems(session: AsyncSession, event: Event) -> list[ScheduleProblem]:
    """Every problem touching the event's timetable, for the organiser's editor."""
    everything = await slots_between(session, event.starts_at, event.ends_at)
    own = {s.key for s in everything if s.event_id == event.id}
    problems = problems_among(everything, involving=own)
    talks = [s for s in everything if s.kind == "talk" and s.event_id == event.id]
    problems.extend(await _talk_placement_problems(session, talks, sessions=[s for s in everything if s.kind == "session"]))
    return problems


async def _talk_placement_problems(
    session: AsyncSession, talks: Iterable[Slot], *, sessions: Iterable[Slot] | None = None
) -> list[ScheduleProblem]:
    talks = list(talks)
    if not talks:
        return []
    problems: list[ScheduleProblem] = []
    session_ids = {t.session_id for t in talks if t.session_id}
    known = {s.id: s for s in sessions or []}
    missing = session_ids - known.keys()
    if missing:
        rows = await session.execute(
            select(ScheduleSession.id, ScheduleSession.event_id, Event.title, Event.timezone, ScheduleSession.title,
                   ScheduleSession.starts_at, ScheduleSession.ends_at)
            .join(Event, Event.id == ScheduleSession.event_id)
            .where(ScheduleSession.id.in_(missing))
        )
        for sid, eid, etitle, tz, title, s, e in rows:
            known[sid] = Slot("session", sid, eid, etitle, tz, title, s, e)
    for talk in talks:
        parent = known.get(talk.session_id) if talk.session_id else None
        if parent and (talk.starts_at < parent.starts_at or talk.ends_at > parent.ends_at):
            problems.append(ScheduleProblem(
                "outside_session",
                _("%(a)s lies outside its %(b)s.", a=talk.describe(), b=parent.describe()),
                talk, parent,
            ))
    # Presence: the dates an invited speaker said they are at the event (accepted invitations only).
    pairs = {(t.event_id, pid) for t in talks for pid in t.people}
    if pairs:
        event_ids = {e for e, _p in pairs}
        person_ids = {p for _e, p in pairs}
        stays = await session.execute(
            select(Invitation.event_id, Invitation.person_id, Invitation.arrival_date, Invitation.departure_date)
            .where(
                Invitation.event_id.in_(event_ids),
                Invitation.person_id.in_(person_ids),
                Invitation.status == InvitationStatus.ACCEPTED.value,
                and_(Invitation.arrival_date.is_not(None) | Invitation.departure_date.is_not(None)),
            )
        )
        presence = {(e, p): (a, d) for e, p, a, d in stays}
        for talk in talks:
            for pid, name in talk.people.items():
                dates = presence.get((talk.event_id, pid))
                if not dates:
                    continue
                arrival, departure = dates
                first_day = in_zone(talk.starts_at, talk.timezone).date()
                last_day = in_zone(talk.ends_at, talk.timezone).date()
                if (arrival and first_day < arrival) or (departure and last_day > departure):
                    problems.append(ScheduleProblem(
                        "outside_presence",
                        _("%(name)s is scheduled for %(a)s but said they are present from %(arrival)s to %(departure)s.",
                          name=name, a=talk.describe(), arrival=arrival.isoformat() if arrival else "?",
                          departure=departure.isoformat() if departure else "?"),
                        talk,
                    ))
    return problems
