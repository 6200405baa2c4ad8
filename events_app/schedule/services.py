"""Timetable rules: rooms, sessions, talks and breaks, clash checks, the programme's revision and versions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from litestar.exceptions import NotFoundException
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from events_app.core.i18n import gettext as _
from events_app.core.validation import Conflict, Errors, clean_id, clean_text
from events_app.events.models import Event
from events_app.events.services import clean_minutes, parse_instant
from events_app.schedule.conflicts import ScheduleProblem, Slot, lock_timetables, problems_for
from events_app.schedule.models import (
    ProgrammeState,
    ProgrammeVersion,
    Room,
    ScheduleSession,
    Talk,
    TalkKind,
    TalkSpeaker,
    Venue,
    timetable_order,
)
from events_app.schedule.signals import talk_deleted, talk_unscheduled
from events_app.speakers.models import Person

# How long a new talk is when the event does not say (event.default_talk_minutes, 30 by default).
DEFAULT_TALK_MINUTES = 30


def event_days(event: Event) -> list[dt.date]:
    """The calendar days the event spans, in its own time zone."""
    zone = ZoneInfo(event.timezone)
    first, last = event.starts_at.astimezone(zone).date(), event.ends_at.astimezone(zone).date()
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


class ScheduleConflict(Conflict):
    """A room or person would be double-booked; the API answers 409 naming both items."""

    def __init__(self, problems: list[ScheduleProblem]) -> None:
        super().__init__("starts_at", " ".join(p.message for p in problems))
        self.problems = problems


async def bump_programme(session: AsyncSession, event_ids: int | set[int] | list[int]) -> None:
    """Counts a change to what the programme shows; the public pages' ETag is built from this counter."""
    ids = {event_ids} if isinstance(event_ids, int) else set(event_ids)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = dt.datetime.now(dt.UTC)
    for event_id in sorted(ids):
        # An upsert, so two first changes to an event's programme cannot both try to create its row.
        statement = insert(ProgrammeState).values(event_id=event_id, revision=1, created_at=now, updated_at=now)
        await session.execute(statement.on_conflict_do_update(
            index_elements=[ProgrammeState.event_id],
            set_={"revision": ProgrammeState.revision + 1, "updated_at": now},
        ))


def touch(item: Talk | ScheduleSession) -> None:
    """Marks a row as changed for the programme's per-talk caches (set here, not left to a session listener,
    so CLI, tests and the app behave the same)."""
    item.updated_at = dt.datetime.now(dt.UTC)


async def touch_talks_of_person(session: AsyncSession, person_id: int) -> None:
    """A speaker's or chair's printed name changed: their talks and sessions must be rendered again."""
    from events_app.schedule.models import session_chair

    now = dt.datetime.now(dt.UTC)
    await session.execute(
        update(Talk)
        .where(Talk.id.in_(select(TalkSpeaker.talk_id).where(TalkSpeaker.person_id == person_id)))
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(ScheduleSession)
        .where(ScheduleSession.id.in_(
            select(session_chair.c.session_id).where(session_chair.c.person_id == person_id)))
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def events_of_person(session: AsyncSession, person_id: int) -> set[int]:
    talks = await session.scalars(
        select(Talk.event_id).join(TalkSpeaker, TalkSpeaker.talk_id == Talk.id).where(TalkSpeaker.person_id == person_id)
    )
    from events_app.schedule.models import session_chair

    chaired = await session.scalars(
        select(ScheduleSession.event_id)
        .join(session_chair, session_chair.c.session_id == ScheduleSession.id)
        .where(session_chair.c.person_id == person_id)
    )
    return set(talks) | set(chaired)


def _clean_optional_id(errors: Errors, field: str, value: Any) -> int | None:
    return clean_id(errors, field, value, _("Choose from the list."))


# The room control's choice for a room that does not exist yet (its name comes in ``new_room``).
NEW_ROOM = "new"


def venue_of(event: Event) -> str:
    """The venue whose rooms an event's forms offer (and where a new room is added)."""
    return (event.venue_name or event.title)[:200]


async def clean_room_choice(session: AsyncSession, errors: Errors, data: Mapping[str, Any]) -> tuple[int | None, str]:
    """The one room control of the talk and session forms: a room id, or "new" with the name typed in
    ``new_room`` (a name typed with no room chosen counts too: without JavaScript both fields show). Answers
    (room id, "") or (None, the new room's name)."""
    choice = data.get("room_id")
    typed = data.get("new_room")
    if choice == NEW_ROOM or (choice in (None, "") and typed not in (None, "")):
        name = clean_text(errors, "new_room", typed, max_length=200, multiline=False)
        if not name and "new_room" not in errors:
            errors.add("new_room", _("Type the name of the new room."))
        return None, name
    room_id = _clean_optional_id(errors, "room_id", choice)
    if room_id is not None and await session.get(Room, room_id) is None:
        errors.add("room_id", _("Choose a room from the list."))
    return room_id, ""


async def room_named(session: AsyncSession, event: Event, name: str) -> Room:
    """That room of the event's venue, added when new."""
    room = await session.scalar(
        select(Room).join(Venue, Venue.id == Room.venue_id).where(Venue.name == venue_of(event), Room.name == name)
    )
    if room is None:
        room = await RoomService(session=session).create_room({"venue": venue_of(event), "name": name})
    return room


def _raise_if_blocking(problems: list[ScheduleProblem], override: bool) -> None:
    blocking = [p for p in problems if p.blocking]
    if blocking and not override:
        raise ScheduleConflict(blocking)


MAX_ROOM_CAPACITY = 100_000  # a stadium; the column is a 32-bit integer


# ---- rooms ------------------------------------------------------------------------------------------------
class RoomService(SQLAlchemyAsyncRepositoryService[Room]):
    class Repo(SQLAlchemyAsyncRepository[Room]):
        model_type = Room

    repository_type = Repo

    async def create_room(self, data: Mapping[str, Any]) -> Room:
        errors = Errors()
        venue_name = clean_text(errors, "venue", data.get("venue"), max_length=200, required=True, multiline=False)
        name = clean_text(errors, "name", data.get("name"), max_length=200, required=True, multiline=False)
        capacity = None
        if data.get("capacity") not in (None, ""):
            try:
                capacity = int(data["capacity"])
                if not 0 <= capacity <= MAX_ROOM_CAPACITY:
                    raise ValueError
            except (TypeError, ValueError, OverflowError):
                errors.add("capacity", _("Enter a whole number of seats."))
        errors.raise_if_any()
        session = self.repository.session
        venue = await session.scalar(select(Venue).where(Venue.name == venue_name))
        if venue is None:
            venue = Venue(name=venue_name, address=clean_text(errors, "address", data.get("address"), max_length=500))
            session.add(venue)
            await session.flush()
        elif await session.scalar(select(Room.id).where(Room.venue_id == venue.id, Room.name == name)):
            raise Conflict("name", _("This venue already has a room of that name."))
        room = Room(venue_id=venue.id, venue=venue, name=name, capacity=capacity)
        session.add(room)
        await session.flush()
        return await self.room(room.id)

    async def room(self, room_id: int) -> Room:
        room = await self.repository.session.get(Room, room_id)
        if room is None:
            raise NotFoundException("No such room.")
        return room

    async def all_rooms(self) -> list[Room]:
        rows = await self.repository.session.scalars(
            select(Room).join(Venue, Venue.id == Room.venue_id).order_by(Venue.name, Room.name)
        )
        return list(rows)


# ---- sessions ---------------------------------------------------------------------------------------------
class ScheduleSessionService(SQLAlchemyAsyncRepositoryService[ScheduleSession]):
    class Repo(SQLAlchemyAsyncRepository[ScheduleSession]):
        model_type = ScheduleSession

    repository_type = Repo

    async def clean(self, event: Event, data: Mapping[str, Any], *, existing: ScheduleSession | None = None) -> dict[str, Any]:
        errors = Errors()
        partial = existing is not None
        cleaned: dict[str, Any] = {}
        session = self.repository.session

        def given(name: str) -> bool:
            return not partial or name in data

        if given("title"):
            cleaned["title"] = clean_text(errors, "title", data.get("title"), max_length=300, required=True, multiline=False)
        if given("track"):
            cleaned["track"] = clean_text(errors, "track", data.get("track"), max_length=100, multiline=False)
        new_room = ""
        if given("room_id") or data.get("new_room"):
            cleaned["room_id"], new_room = await clean_room_choice(session, errors, data)
        for name in ("starts_at", "ends_at"):
            if given(name):
                cleaned[name] = parse_instant(errors, name, data.get(name), event.timezone)
        _check_times(errors, event, cleaned, existing, _("The session must take place within the event's dates."))
        if "chair_ids" in data:
            cleaned["chairs"] = await _people(session, errors, "chair_ids", data.get("chair_ids"))
        errors.raise_if_any()
        if new_room:
            cleaned["room_id"] = (await room_named(session, event, new_room)).id
        return cleaned

    async def _check(self, event: Event, item: ScheduleSession, cleaned: dict[str, Any], override: bool) -> None:
        session = self.repository.session
        await lock_timetables(session)
        room_id = cleaned.get("room_id", item.room_id if item.id else None)
        room = await session.get(Room, room_id) if room_id else None
        chairs = cleaned.get("chairs", item.chairs if item.id else [])
        candidate = Slot(
            "session", item.id, event.id, event.title, event.timezone, cleaned.get("title", item.title),
            cleaned.get("starts_at", item.starts_at), cleaned.get("ends_at", item.ends_at),
            room_id, room.name if room else "", None, {p.id: p.display_name for p in chairs},
        )
        _raise_if_blocking(await problems_for(session, candidate), override)

    async def create_session(self, event: Event, data: Mapping[str, Any], *, override: bool = False) -> ScheduleSession:
        cleaned = await self.clean(event, data)
        chairs = cleaned.pop("chairs", [])
        item = ScheduleSession(event_id=event.id, **cleaned)
        await self._check(event, item, {**cleaned, "chairs": chairs}, override)
        item.chairs = chairs
        self.repository.session.add(item)
        await self.repository.session.flush()
        await bump_programme(self.repository.session, event.id)
        return await self.by_id(item.id, event=event)

    async def update_session(
        self, event: Event, item: ScheduleSession, data: Mapping[str, Any], *, override: bool = False
    ) -> ScheduleSession:
        cleaned = await self.clean(event, data, existing=item)
        await self._check(event, item, cleaned, override)
        chairs = cleaned.pop("chairs", None)
        for key, value in cleaned.items():
            setattr(item, key, value)
        if chairs is not None:
            item.chairs = chairs
        touch(item)
        if "room_id" in cleaned:
            # Talks that inherit the session's room keep their printed room name in step.
            room = await self.repository.session.get(Room, item.room_id) if item.room_id else None
            await self.repository.session.execute(
                update(Talk).where(Talk.session_id == item.id, Talk.room_id.is_(None))
                .values(room=room.name if room else "").execution_options(synchronize_session=False)
            )
        await self.repository.session.flush()
        await bump_programme(self.repository.session, event.id)
        return await self.by_id(item.id, event=event)

    async def delete_session(self, item: ScheduleSession) -> None:
        # Its talks stay in the timetable as standalone items (session_id is set to NULL).
        await self.repository.session.execute(
            update(Talk).where(Talk.session_id == item.id).values(session_id=None)
            .execution_options(synchronize_session=False)
        )
        await self.repository.session.delete(item)
        await self.repository.session.flush()
        await bump_programme(self.repository.session, item.event_id)

    async def by_id(self, session_id: int, *, event: Event | None = None) -> ScheduleSession:
        item = await self.repository.session.scalar(
            select(ScheduleSession).where(ScheduleSession.id == session_id)
            .options(selectinload(ScheduleSession.chairs)).execution_options(populate_existing=True)
        )
        if item is None or (event is not None and item.event_id != event.id):
            raise NotFoundException("No such session.")
        return item

    async def sessions_of(self, event: Event) -> list[ScheduleSession]:
        rows = await self.repository.session.scalars(
            select(ScheduleSession).where(ScheduleSession.event_id == event.id)
            .order_by(ScheduleSession.starts_at, ScheduleSession.id)
        )
        return list(rows)


def _check_times(errors: Errors, event: Event, cleaned: dict[str, Any], existing: Any, outside_message: str) -> None:
    starts = cleaned.get("starts_at", existing.starts_at if existing else None)
    ends = cleaned.get("ends_at", existing.ends_at if existing else None)
    if starts and ends and "starts_at" not in errors and "ends_at" not in errors:
        if ends <= starts:
            errors.add("ends_at", _("The end must be after the start."))
        elif starts < event.starts_at or ends > event.ends_at:
            errors.add("starts_at", outside_message)


def _check_schedule_pair(errors: Errors, cleaned: dict[str, Any], existing: Talk | None) -> None:
    """A talk has a start and an end, or neither (unscheduled): never one of them."""
    starts = cleaned.get("starts_at", existing.starts_at if existing else None)
    ends = cleaned.get("ends_at", existing.ends_at if existing else None)
    if "starts_at" in errors or "ends_at" in errors or (starts is None) == (ends is None):
        return
    errors.add("ends_at" if ends is None else "starts_at",
               _("Give both the start and the end, or leave both empty to keep the talk unscheduled."))


MAX_PEOPLE = 100  # speakers of one talk or chairs of one session


async def _people(session: AsyncSession, errors: Errors, field: str, ids: Any) -> list[Person]:
    ids = ids or []
    if isinstance(ids, str):
        ids = [part for part in ids.replace(",", " ").split() if part]
    if not isinstance(ids, list | tuple) or len(ids) > MAX_PEOPLE:
        errors.add(field, _("Choose at most %(n)s people from the list.", n=MAX_PEOPLE))
        return []
    wanted = [clean_id(errors, field, i, _("Choose speakers from the list.")) for i in ids]
    if field in errors:
        return []
    if not wanted:
        return []
    found = {p.id: p for p in await session.scalars(select(Person).where(Person.id.in_(wanted)))}
    missing = [i for i in wanted if i not in found]
    if missing:
        errors.add(field, _("Unknown speaker id: %(ids)s.", ids=", ".join(map(str, missing))))
    return [found[i] for i in dict.fromkeys(wanted) if i in found]


# ---- talks and breaks -------------------------------------------------------------------------------------
class TalkService(SQLAlchemyAsyncRepositoryService[Talk]):
    class Repo(SQLAlchemyAsyncRepository[Talk]):
        model_type = Talk

    repository_type = Repo

    async def clean(self, event: Event, data: Mapping[str, Any], *, existing: Talk | None = None) -> dict[str, Any]:
        errors = Errors()
        partial = existing is not None
        cleaned: dict[str, Any] = {}
        session = self.repository.session

        def given(field: str) -> bool:
            return not partial or field in data

        if given("title"):
            cleaned["title"] = clean_text(errors, "title", data.get("title"), max_length=300, required=True, multiline=False)
        if given("abstract"):
            cleaned["abstract"] = clean_text(errors, "abstract", data.get("abstract"), max_length=20000)
        if given("room"):
            cleaned["room"] = clean_text(errors, "room", data.get("room"), max_length=200, multiline=False)
        if "kind" in data or not partial:
            kind = data.get("kind") or TalkKind.TALK.value
            if kind not in {k.value for k in TalkKind}:
                errors.add("kind", _("Choose talk, lecture or break."))
            cleaned["kind"] = kind
        new_room = ""
        if "room_id" in data or data.get("new_room"):
            cleaned["room_id"], new_room = await clean_room_choice(session, errors, data)
        if "session_id" in data:
            session_id = _clean_optional_id(errors, "session_id", data.get("session_id"))
            parent = await session.get(ScheduleSession, session_id) if session_id is not None else None
            if session_id is not None and (parent is None or parent.event_id != event.id):
                errors.add("session_id", _("Choose a session of this event."))
            cleaned["session_id"] = session_id
        for field in ("starts_at", "ends_at"):
            if given(field):
                # Empty: no time yet (an unscheduled talk), which is only whole when both are empty.
                value = data.get(field)
                cleaned[field] = None if value in (None, "") else parse_instant(errors, field, value, event.timezone)
        _check_schedule_pair(errors, cleaned, existing)
        _check_times(errors, event, cleaned, existing, _("The talk must take place within the event's dates."))
        if "speaker_ids" in data:
            cleaned["speakers"] = await _people(session, errors, "speaker_ids", data.get("speaker_ids"))
        errors.raise_if_any()
        if new_room:
            cleaned["room_id"] = (await room_named(session, event, new_room)).id
        return cleaned

    async def _effective_room(self, room_id: int | None, session_id: int | None) -> Room | None:
        session = self.repository.session
        if room_id is not None:
            return await session.get(Room, room_id)
        if session_id is not None:
            parent = await session.get(ScheduleSession, session_id)
            if parent is not None and parent.room_id is not None:
                return await session.get(Room, parent.room_id)
        return None

    async def _check(self, event: Event, talk: Talk | None, cleaned: dict[str, Any], override: bool) -> Room | None:
        def current(name: str, default: Any = None) -> Any:
            return cleaned[name] if name in cleaned else (getattr(talk, name) if talk is not None else default)

        await lock_timetables(self.repository.session)
        room = await self._effective_room(current("room_id"), current("session_id"))
        if current("starts_at") is None:
            return room  # unscheduled: it takes no room or person at any time, so nothing can clash
        speakers = cleaned.get("speakers", [link.person for link in talk.speaker_links] if talk is not None else [])
        candidate = Slot(
            "talk", talk.id if talk is not None else None, event.id, event.title, event.timezone, current("title"),
            current("starts_at"), current("ends_at"), room.id if room else None, room.name if room else "",
            current("session_id"), {p.id: p.display_name for p in speakers},
        )
        _raise_if_blocking(await problems_for(self.repository.session, candidate), override)
        return room

    def _set_speakers(self, talk: Talk, speakers: list[Person]) -> None:
        talk.speaker_links = [TalkSpeaker(person=p, person_id=p.id, position=i) for i, p in enumerate(speakers)]

    async def _resolve_room(self, event: Event, cleaned: dict[str, Any], data: Mapping[str, Any]) -> None:
        """The API's ``room`` typed by name is that room of the event's venue (created when new), so clash
        checks see it. The forms send the room control's choice instead (clean_room_choice)."""
        if "room" not in cleaned or data.get("room_id") not in (None, "") or data.get("new_room"):
            return  # nothing typed, or an explicit room record (or a new one), which wins
        if not cleaned["room"]:
            if "room_id" not in cleaned:
                cleaned["room_id"] = None
            return
        cleaned["room_id"] = (await room_named(self.repository.session, event, cleaned["room"])).id

    async def create_talk(self, event: Event, data: Mapping[str, Any], *, override: bool = False) -> Talk:
        cleaned = await self.clean(event, data)
        await self._resolve_room(event, cleaned, data)
        room = await self._check(event, None, cleaned, override)
        speakers = cleaned.pop("speakers", [])
        if room is not None:
            cleaned["room"] = room.name
        talk = Talk(event_id=event.id, revision=0, **cleaned)
        self._set_speakers(talk, speakers)
        self.repository.session.add(talk)
        await self.repository.session.flush()
        await bump_programme(self.repository.session, event.id)
        return await self.by_id(talk.id)

    async def update_talk(self, event: Event, talk: Talk, data: Mapping[str, Any], *, override: bool = False) -> Talk:
        cleaned = await self.clean(event, data, existing=talk)
        await self._resolve_room(event, cleaned, data)
        room = await self._check(event, talk, cleaned, override)
        if "room_id" in cleaned or "session_id" in cleaned:
            cleaned["room"] = room.name if room is not None else cleaned.get("room", "")
        speakers = cleaned.pop("speakers", None)
        changed = {k for k, v in cleaned.items() if getattr(talk, k) != v}
        if talk.is_scheduled and cleaned.get("starts_at", talk.starts_at) is None:
            # Taken out of the timetable: calendars must hear of it as they do of a deletion (sent while the
            # talk still has the time they knew).
            await talk_unscheduled.send(self.repository.session, talk=talk)
        for key in changed:
            setattr(talk, key, cleaned[key])
        if speakers is not None and [p.id for p in speakers] != [link.person_id for link in talk.speaker_links]:
            talk.speaker_links.clear()
            await self.repository.session.flush()
            self._set_speakers(talk, speakers)
            changed.add("speakers")
        if changed:
            talk.revision += 1
            touch(talk)
            await bump_programme(self.repository.session, event.id)
        await self.repository.session.flush()
        return await self.by_id(talk.id)

    async def create_unscheduled(self, event_id: int, title: str, abstract: str = "",
                                 speaker_person_ids: Sequence[int] = (), *, kind: str = TalkKind.TALK.value) -> Talk:
        """For other domains (accepted invitations, calls for abstracts): a talk with no time or room yet,
        listed on the organisers' timetable to be scheduled; not shown publicly until it has a time. Raises
        ValidationFailed as the forms do (title required, lengths, known speakers)."""
        event = await self.repository.session.get(Event, event_id)
        if event is None:
            raise NotFoundException("No such event.")
        return await self.create_talk(event, {
            "title": title, "abstract": abstract, "kind": kind, "speaker_ids": list(speaker_person_ids),
            "starts_at": None, "ends_at": None,
        })

    def slot_from_day_and_time(self, event: Event, data: Mapping[str, Any]) -> tuple[dt.datetime, dt.datetime]:
        """A day of the event (``day``, ISO), a wall time in its zone (``start``, 14:00) and an optional length
        (``minutes``, else the event's usual talk length) as an instant pair. Errors name ``starts_at``."""
        errors = Errors()
        day = next((d for d in event_days(event) if d.isoformat() == str(data.get("day") or "")), None)
        start_text = str(data.get("start") or "").strip()[:8]
        try:
            start = dt.time.fromisoformat(start_text) if start_text else None
        except ValueError:
            start = None
        if day is None:
            errors.add("starts_at", _("Choose one of the event's days."))
        elif start is None:
            errors.add("starts_at", _("Enter a time, e.g. 14:00."))
        minutes = clean_minutes(errors, "minutes", data.get("minutes"), default=event.default_talk_minutes)
        errors.raise_if_any()
        assert day is not None and start is not None  # raised above otherwise
        wall = dt.datetime.combine(day, start.replace(second=0, microsecond=0)).isoformat()
        begins = parse_instant(errors, "starts_at", wall, event.timezone)
        errors.raise_if_any()
        assert begins is not None
        return begins, begins + dt.timedelta(minutes=minutes)

    async def schedule_talk(self, event: Event, talk: Talk, data: Mapping[str, Any], *,
                            override: bool = False) -> Talk:
        """Gives a (usually unscheduled) talk its place: ``day``, ``start`` and ``minutes`` as in
        slot_from_day_and_time, and ``room_id`` when given."""
        starts, ends = self.slot_from_day_and_time(event, data)
        change: dict[str, Any] = {"starts_at": starts, "ends_at": ends}
        if data.get("room_id") not in (None, ""):
            change["room_id"] = data.get("room_id")
        return await self.update_talk(event, talk, change, override=override)

    async def add_speaker(self, talk: Talk, person: Person) -> None:
        """Adds an (accepted) speaker at the end of the talk's speaker list."""
        if any(link.person_id == person.id for link in talk.speaker_links):
            return
        position = max((link.position for link in talk.speaker_links), default=-1) + 1
        talk.speaker_links.append(TalkSpeaker(person=person, person_id=person.id, position=position))
        talk.revision += 1
        touch(talk)
        await self.repository.session.flush()
        await bump_programme(self.repository.session, talk.event_id)

    async def remove_speaker(self, talk: Talk, person_id: int) -> None:
        links = [link for link in talk.speaker_links if link.person_id != person_id]
        if len(links) != len(talk.speaker_links):
            talk.speaker_links = links
            talk.revision += 1
            touch(talk)
            await self.repository.session.flush()
            await bump_programme(self.repository.session, talk.event_id)

    async def delete_talk(self, talk: Talk) -> None:
        event_id = talk.event_id
        await talk_deleted.send(self.repository.session, talk=talk)
        await self.repository.session.delete(talk)
        await self.repository.session.flush()
        await bump_programme(self.repository.session, event_id)

    async def by_id(self, talk_id: int, *, event: Event | None = None) -> Talk:
        talk = await self.repository.session.scalar(
            select(Talk)
            .where(Talk.id == talk_id)
            .options(selectinload(Talk.speaker_links).joinedload(TalkSpeaker.person))
            .execution_options(populate_existing=True)
        )
        if talk is None or (event is not None and talk.event_id != event.id):
            raise NotFoundException("No such talk.")
        return talk

    async def talks_of_person(self, person_id: int) -> list[Talk]:
        rows = await self.repository.session.scalars(
            select(Talk)
            .join(TalkSpeaker, TalkSpeaker.talk_id == Talk.id)
            .where(TalkSpeaker.person_id == person_id)
            # The talk's event is joined in (its managers are not needed); speakers come by Talk's own selectin.
            .options(joinedload(Talk.event).raiseload(Event.managers))
            .order_by(*timetable_order())
        )
        return list(rows)

    async def first_free_slot(self, event: Event, *, room: str = "", day: dt.date | None = None,
                              minutes: int | None = None) -> tuple[dt.datetime, dt.datetime]:
        """Where a new talk most likely goes: the first gap of `minutes` in the room (any room when none is
        named) on the day (the event's local calendar day; its first day by default), from the event's daily
        start time. A full day answers the end of its last talk: the form then shows the clash as usual."""
        zone = ZoneInfo(event.timezone)
        first_local = event.starts_at.astimezone(zone)
        day = day or first_local.date()
        free = max(event.starts_at, dt.datetime.combine(day, first_local.time(), zone).astimezone(dt.UTC))
        length = dt.timedelta(minutes=minutes or event.default_talk_minutes or DEFAULT_TALK_MINUTES)
        taken = [(t.starts_at, t.ends_at) for t in await self.talks_of(event)
                 if t.starts_at is not None and t.ends_at is not None and t.starts_at.astimezone(zone).date() == day
                 and (not room or t.room_name.casefold() == room.strip().casefold())]
        for starts, ends in sorted(taken):
            if free + length <= starts:
                break
            free = max(free, ends)
        return free, min(free + length, max(event.ends_at, free))

    async def talks_of(self, event: Event) -> list[Talk]:
        """Every talk of the event, scheduled ones by time, then the unscheduled ones."""
        rows = await self.repository.session.scalars(
            select(Talk).where(Talk.event_id == event.id)
            .order_by(Talk.starts_at.is_(None), Talk.starts_at, Talk.room, Talk.id)
        )
        return list(rows)

    async def unscheduled_talks(self, event: Event) -> list[Talk]:
        """Talks with no time yet, oldest first: the organisers' list of what is still to be scheduled."""
        rows = await self.repository.session.scalars(
            select(Talk).where(Talk.event_id == event.id, Talk.starts_at.is_(None)).order_by(Talk.created_at, Talk.id)
        )
        return list(rows)


# ---- published versions ----------------------------------------------------------------------------------
class ProgrammeVersionService(SQLAlchemyAsyncRepositoryService[ProgrammeVersion]):
    class Repo(SQLAlchemyAsyncRepository[ProgrammeVersion]):
        model_type = ProgrammeVersion

    repository_type = Repo

    async def publish(self, event: Event, *, note: str = "") -> ProgrammeVersion:
        """Records the programme as it is now; the public page shows what changed since the latest one."""
        session = self.repository.session
        await lock_timetables(session)
        rows = await session.execute(
            select(Talk.id, Talk.title, Talk.starts_at, Talk.ends_at, Talk.room, Talk.created_at)
            .where(Talk.event_id == event.id, Talk.starts_at.is_not(None))  # unscheduled: not in the programme
        )
        # created_at tells a new talk from a deleted one whose id SQLite handed out again.
        snapshot = {str(i): [title, s.isoformat(), e.isoformat(), room, created.isoformat()]
                    for i, title, s, e, room, created in rows}
        number = (await session.scalar(
            select(func.max(ProgrammeVersion.number)).where(ProgrammeVersion.event_id == event.id)
        ) or 0) + 1
        version = ProgrammeVersion(
            event_id=event.id, number=number, published_at=dt.datetime.now(dt.UTC), snapshot=snapshot,
            note=" ".join(note.split())[:500],
        )
        session.add(version)
        await session.flush()
        await bump_programme(session, event.id)
        return version

    async def versions_of(self, event: Event) -> list[ProgrammeVersion]:
        rows = await self.repository.session.scalars(
            select(ProgrammeVersion).where(ProgrammeVersion.event_id == event.id).order_by(ProgrammeVersion.number.desc())
        )
        return list(rows)
