from __future__ import annotations

import datetime as dt

from litestar import Controller, delete, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from msgspec import UNSET, Struct, UnsetType
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.events.access import may_manage_event
from events_app.events.schemas import TalkOut, listed_talks, talk_out
from events_app.events.services import EventService
from events_app.schedule.schemas import (
    RoomIn,
    RoomOut,
    SessionIn,
    SessionOut,
    SessionPatch,
    room_out,
    session_out,
)
from events_app.schedule.services import RoomService, ScheduleSessionService, TalkService
from events_app.web.auth import provide_api_account, provide_optional_api_account
from events_app.web.schemas import provided_fields


class TalkIn(Struct, forbid_unknown_fields=True):
    title: str
    # Both null (or left out): an unscheduled talk, listed for the organisers to give a time later.
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    abstract: str = ""
    room: str = ""
    speaker_ids: list[int] = []
    kind: str = "talk"
    room_id: int | None = None
    session_id: int | None = None


class TalkPatch(Struct, forbid_unknown_fields=True):
    title: str | UnsetType = UNSET
    # Both null: the talk is unscheduled (calendars announce it as cancelled); both given: (re)scheduled.
    starts_at: dt.datetime | None | UnsetType = UNSET
    ends_at: dt.datetime | None | UnsetType = UNSET
    abstract: str | UnsetType = UNSET
    room: str | UnsetType = UNSET
    speaker_ids: list[int] | UnsetType = UNSET
    kind: str | UnsetType = UNSET
    room_id: int | None | UnsetType = UNSET
    session_id: int | None | UnsetType = UNSET


async def provide_services(db_session: AsyncSession) -> tuple[EventService, TalkService]:
    return EventService(session=db_session), TalkService(session=db_session)


class TalkApi(Controller):
    path = "/events/{slug:str}/talks"
    tags = ["talks"]
    dependencies = {
        "services": Provide(provide_services),
        "account": Provide(provide_api_account),
        "maybe_account": Provide(provide_optional_api_account),
    }

    @get("/", name="api_list_talks")
    async def list_talks(self, slug: str, services: tuple[EventService, TalkService], maybe_account: Account | None) -> list[TalkOut]:
        events, _ = services
        event = await events.visible_by_slug(slug, maybe_account)
        private = may_manage_event(maybe_account, event)
        return [talk_out(t, event.timezone, private=private) for t in listed_talks(event.talks, private=private)]

    @post("/", status_code=HTTP_201_CREATED, name="api_create_talk")
    async def create_talk(
        self, slug: str, data: TalkIn, services: tuple[EventService, TalkService], account: Account,
        override: bool = Parameter(default=False, description="Schedule even if a room or person is double-booked"),
    ) -> TalkOut:
        """Adds a talk or break; a room or speaker double-booking answers 409 naming both items unless ?override=true."""
        events, talks = services
        event = await events.managed_by_slug(slug, account)
        talk = await talks.create_talk(event, provided_fields(data), override=override)
        return talk_out(talk, event.timezone, private=True)

    @patch("/{talk_id:int}", name="api_update_talk")
    async def update_talk(
        self, slug: str, talk_id: int, data: TalkPatch, services: tuple[EventService, TalkService], account: Account,
        override: bool = Parameter(default=False, description="Schedule even if a room or person is double-booked"),
    ) -> TalkOut:
        events, talks = services
        event = await events.managed_by_slug(slug, account)
        talk = await talks.by_id(talk_id, event=event)
        talk = await talks.update_talk(event, talk, provided_fields(data), override=override)
        return talk_out(talk, event.timezone, private=True)

    @delete("/{talk_id:int}", status_code=HTTP_204_NO_CONTENT, name="api_delete_talk")
    async def delete_talk(self, slug: str, talk_id: int, services: tuple[EventService, TalkService], account: Account) -> None:
        events, talks = services
        event = await events.managed_by_slug(slug, account)
        await talks.delete_talk(await talks.by_id(talk_id, event=event))


class RoomApi(Controller):
    path = "/rooms"
    tags = ["timetable"]
    dependencies = {"account": Provide(provide_api_account)}

    @get("/", name="api_list_rooms")
    async def list_rooms(self, db_session: AsyncSession) -> list[RoomOut]:
        return [room_out(r) for r in await RoomService(session=db_session).all_rooms()]

    @post("/", status_code=HTTP_201_CREATED, name="api_create_room")
    async def create_room(self, data: RoomIn, db_session: AsyncSession, account: Account) -> RoomOut:
        return room_out(await RoomService(session=db_session).create_room(provided_fields(data)))


class SessionApi(Controller):
    path = "/events/{slug:str}/sessions"
    tags = ["timetable"]
    dependencies = {
        "account": Provide(provide_api_account),
        "maybe_account": Provide(provide_optional_api_account),
    }

    @get("/", name="api_list_sessions")
    async def list_sessions(self, slug: str, db_session: AsyncSession, maybe_account: Account | None) -> list[SessionOut]:
        event = await EventService(session=db_session).visible_by_slug(slug, maybe_account)
        private = may_manage_event(maybe_account, event)
        sessions = ScheduleSessionService(session=db_session)
        return [session_out(await sessions.by_id(s.id), event.timezone, private=private)
                for s in await sessions.sessions_of(event)]

    @post("/", status_code=HTTP_201_CREATED, name="api_create_session")
    async def create_session(
        self, slug: str, data: SessionIn, db_session: AsyncSession, account: Account,
        override: bool = Parameter(default=False, description="Schedule even if a room or chair is double-booked"),
    ) -> SessionOut:
        """Adds a session; a room or chairperson double-booking answers 409 naming both items unless ?override=true."""
        event = await EventService(session=db_session).managed_by_slug(slug, account)
        item = await ScheduleSessionService(session=db_session).create_session(
            event, provided_fields(data), override=override)
        return session_out(item, event.timezone, private=True)

    @patch("/{session_id:int}", name="api_update_session")
    async def update_session(
        self, slug: str, session_id: int, data: SessionPatch, db_session: AsyncSession, account: Account,
        override: bool = Parameter(default=False, description="Schedule even if a room or chair is double-booked"),
    ) -> SessionOut:
        event = await EventService(session=db_session).managed_by_slug(slug, account)
        sessions = ScheduleSessionService(session=db_session)
        item = await sessions.update_session(event, await sessions.by_id(session_id, event=event),
                                             provided_fields(data), override=override)
        return session_out(item, event.timezone, private=True)

    @delete("/{session_id:int}", status_code=HTTP_204_NO_CONTENT, name="api_delete_session")
    async def delete_session(self, slug: str, session_id: int, db_session: AsyncSession, account: Account) -> None:
        event = await EventService(session=db_session).managed_by_slug(slug, account)
        sessions = ScheduleSessionService(session=db_session)
        await sessions.delete_session(await sessions.by_id(session_id, event=event))
