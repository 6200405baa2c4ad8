from __future__ import annotations

import datetime as dt

from litestar import Controller, delete, get, patch, post
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from msgspec import UNSET, Struct, UnsetType
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.events.models import EventStatus
from events_app.events.schemas import TalkOut, talk_out
from events_app.events.services import EventService, can_manage
from events_app.schedule.services import TalkService
from events_app.web.auth import provide_api_account, provide_optional_api_account
from events_app.web.schemas import provided_fields


class TalkIn(Struct, forbid_unknown_fields=True):
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    abstract: str = ""
    room: str = ""
    speaker_ids: list[int] = []


class TalkPatch(Struct, forbid_unknown_fields=True):
    title: str | UnsetType = UNSET
    starts_at: dt.datetime | UnsetType = UNSET
    ends_at: dt.datetime | UnsetType = UNSET
    abstract: str | UnsetType = UNSET
    room: str | UnsetType = UNSET
    speaker_ids: list[int] | UnsetType = UNSET


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

    @get("/")
    async def list_talks(self, slug: str, services: tuple[EventService, TalkService], maybe_account: Account | None) -> list[TalkOut]:
        events, _ = services
        event = await events.by_slug(slug)
        private = can_manage(maybe_account, event)
        if event.status == EventStatus.DRAFT and not private:
            raise NotFoundException("No such event.")
        return [talk_out(t, event.timezone, private=private) for t in event.talks]

    @post("/", status_code=HTTP_201_CREATED)
    async def create_talk(self, slug: str, data: TalkIn, services: tuple[EventService, TalkService], account: Account) -> TalkOut:
        events, talks = services
        event = await events.managed_by_slug(slug, account)
        talk = await talks.create_talk(event, provided_fields(data))
        return talk_out(talk, event.timezone, private=True)

    @patch("/{talk_id:int}")
    async def update_talk(
        self, slug: str, talk_id: int, data: TalkPatch, services: tuple[EventService, TalkService], account: Account
    ) -> TalkOut:
        events, talks = services
        event = await events.managed_by_slug(slug, account)
        talk = await talks.by_id(talk_id, event=event)
        talk = await talks.update_talk(event, talk, provided_fields(data))
        return talk_out(talk, event.timezone, private=True)

    @delete("/{talk_id:int}", status_code=HTTP_204_NO_CONTENT)
    async def delete_talk(self, slug: str, talk_id: int, services: tuple[EventService, TalkService], account: Account) -> None:
        events, talks = services
        event = await events.managed_by_slug(slug, account)
        await talks.delete_talk(await talks.by_id(talk_id, event=event))
