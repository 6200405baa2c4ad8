"""JSON shapes of rooms and sessions (talks keep theirs in events.schemas for the event API)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from msgspec import UNSET, Struct, UnsetType

from events_app.events.schemas import PersonPublic, person_public
from events_app.schedule.models import Room, ScheduleSession


class RoomOut(Struct):
    id: int
    venue: str
    name: str
    capacity: int | None


class RoomIn(Struct, forbid_unknown_fields=True):
    venue: str
    name: str
    capacity: int | None = None


class SessionOut(Struct):
    id: int
    title: str
    track: str
    room_id: int | None
    room: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    chairs: list[PersonPublic]


class SessionIn(Struct, forbid_unknown_fields=True):
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    track: str = ""
    room_id: int | None = None
    chair_ids: list[int] = []


class SessionPatch(Struct, forbid_unknown_fields=True):
    title: str | UnsetType = UNSET
    starts_at: dt.datetime | UnsetType = UNSET
    ends_at: dt.datetime | UnsetType = UNSET
    track: str | UnsetType = UNSET
    room_id: int | None | UnsetType = UNSET
    chair_ids: list[int] | UnsetType = UNSET


def room_out(room: Room) -> RoomOut:
    return RoomOut(id=room.id, venue=room.venue.name, name=room.name, capacity=room.capacity)


def session_out(item: ScheduleSession, zone: str, *, private: bool = False) -> SessionOut:
    tz = ZoneInfo(zone)
    return SessionOut(
        id=item.id, title=item.title, track=item.track, room_id=item.room_id,
        room=item.room.name if item.room else "", starts_at=item.starts_at.astimezone(tz),
        ends_at=item.ends_at.astimezone(tz), chairs=[person_public(p, private=private) for p in item.chairs],
    )
