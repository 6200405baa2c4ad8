from __future__ import annotations

from typing import cast

import msgspec
from advanced_alchemy.service import OffsetPagination
from litestar import Controller, Request, get, patch, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.db import READS
from events_app.events.access import ensure_may_edit_series, may_manage_event
from events_app.events.controllers import keep_listing, kept_listing, public_listing_keys
from events_app.events.models import EventStatus
from events_app.events.public import PublicEvent
from events_app.events.schemas import (
    EventIn,
    EventOut,
    EventPatch,
    SeriesIn,
    SeriesOut,
    SeriesPatch,
    event_out,
    series_out,
)
from events_app.events.services import (
    EventFilters,
    EventService,
    SeriesService,
    ensure_can_manage,
)
from events_app.settings import Settings
from events_app.web.auth import provide_api_account, provide_optional_api_account
from events_app.web.fragments import keep_value, kept_value_if_any
from events_app.web.params import Offset, SearchText
from events_app.web.schemas import provided_fields


async def provide_event_service(db_session: AsyncSession, state: State) -> EventService:
    # Settings from `state`: see events/controllers.py (one chain of dependencies, no task group per request).
    return EventService(session=db_session, settings=state.settings)


async def provide_series_service(db_session: AsyncSession) -> SeriesService:
    return SeriesService(session=db_session)


async def public_items(request: Request, events: EventService, filters: EventFilters,
                       base_url: str) -> tuple[list[msgspec.Raw], int]:
    """The public list's events as encoded JSON, each kept like an event's card on the home page
    (web/fragments.py: dropped by any write to events), and their total. While the listing (its page's keys and
    total) is kept, only the rows of events whose JSON is not kept are read; while only the total is, the
    page's keys; otherwise the page's rows and its total in one statement."""
    page, known_total = kept_listing(request, filters)
    if page is None and known_total is None:
        rows, listing_total = await events.public_listing(filters)
        keep_listing(request, filters, [(event.id, event.created_at) for event in rows], listing_total, None)
        return [_kept_item(request, event, base_url) for event in rows], listing_total.count
    keys, listing_total = await public_listing_keys(request, events, filters)
    found = [kept_value_if_any(request, "event-json", *key) for key in keys]
    missing = [key[0] for key, item in zip(keys, found, strict=True) if item is None]
    fresh = {event.id: _kept_item(request, event, base_url)
             for event in (await events.public_events_by_id(missing) if missing else [])}
    items = [item for key, kept in zip(keys, found, strict=True)
             if (item := kept if kept is not None else fresh.get(key[0])) is not None]
    return items, listing_total.count


def _kept_item(request: Request, event: PublicEvent, base_url: str) -> msgspec.Raw:
    item = msgspec.Raw(msgspec.json.encode(event_out(event, base_url)))
    keep_value(request, item, "event-json", event.id, event.created_at)
    return item


class EventApi(Controller):
    path = "/events"
    tags = ["events"]
    dependencies = {
        "events": Provide(provide_event_service),
        "account": Provide(provide_api_account),
        "maybe_account": Provide(provide_optional_api_account),
    }

    @get("/", summary="List events (public: published and cancelled; with a token also your drafts)", name="api_list_events", opt=READS)
    async def list_events(
        self,
        request: Request,
        events: EventService,
        kind: str | None = None,
        series: str | None = None,
        month: str | None = Parameter(default=None, pattern=r"^\d{4}-\d{2}$"),
        q: SearchText = None,
        past: bool = False,
        limit: int = Parameter(default=20, ge=1, le=100),
        offset: Offset = 0,
    ) -> OffsetPagination[EventOut]:
        filters = EventFilters(kind=kind, series=series, month=month, q=q, past=past, limit=limit, offset=offset)
        # The token's owner read here, not as a second dependency beside `events` (see provide_event_service).
        maybe_account = await provide_optional_api_account(request, events.repository.session)
        base_url = request.app.state.settings.base_url
        if maybe_account is not None and not past:
            # Organisers see drafts and every date; the public sees upcoming (or past with ?past=true).
            rows, total = await events.search(filters, account=maybe_account)
            items = [event_out(e, base_url) for e in rows]
        else:
            encoded, total = await public_items(request, events, filters, base_url)
            items = cast("list[EventOut]", encoded)  # encoded EventOuts, written into the answer as they are
        return OffsetPagination(items=items, limit=limit, offset=offset, total=total)

    @post("/", status_code=HTTP_201_CREATED, summary="Create an event (you become its manager)", name="api_create_event")
    async def create_event(self, data: EventIn, events: EventService, account: Account, settings: Settings) -> EventOut:
        fields = provided_fields(data)
        event = await events.create_event(fields, creator=account)
        return event_out(event, settings.base_url, with_talks=True, private=True)

    @get("/{slug:str}", summary="One event with its programme", name="api_get_event", opt=READS)
    async def get_event(
        self, slug: str, events: EventService, maybe_account: Account | None, settings: Settings
    ) -> EventOut:
        event = await events.visible_by_slug(slug, maybe_account)
        private = maybe_account is not None and may_manage_event(maybe_account, event)
        return event_out(event, settings.base_url, with_talks=True, private=private)

    @patch("/{slug:str}", summary="Change some fields (publish, unpublish or cancel with `status`)", name="api_update_event")
    async def update_event(
        self, slug: str, data: EventPatch, events: EventService, account: Account, settings: Settings
    ) -> EventOut:
        event = await events.managed_by_slug(slug, account)
        fields = provided_fields(data)
        notify = bool(fields.pop("notify_attendees", True))
        event = await events.update_event(event, fields, by=account, notify_attendees=notify)
        return event_out(event, settings.base_url, with_talks=True, private=True)

    @post("/{slug:str}/publish", status_code=200, name="api_publish")
    async def publish(self, slug: str, events: EventService, account: Account, settings: Settings) -> EventOut:
        return await self._set_status(slug, EventStatus.PUBLISHED, events, account, settings)

    @post("/{slug:str}/unpublish", status_code=200, name="api_unpublish")
    async def unpublish(self, slug: str, events: EventService, account: Account, settings: Settings) -> EventOut:
        return await self._set_status(slug, EventStatus.DRAFT, events, account, settings)

    @post("/{slug:str}/cancel", status_code=200, name="api_cancel")
    async def cancel(self, slug: str, events: EventService, account: Account, settings: Settings) -> EventOut:
        return await self._set_status(slug, EventStatus.CANCELLED, events, account, settings)

    async def _set_status(self, slug: str, status: EventStatus, events: EventService, account: Account, settings: Settings) -> EventOut:
        event = await events.managed_by_slug(slug, account)
        await events.set_status(event, status)
        return event_out(await events.load(event.id), settings.base_url, with_talks=True, private=True)


class SeriesApi(Controller):
    path = "/series"
    tags = ["series"]
    dependencies = {"series_service": Provide(provide_series_service), "account": Provide(provide_api_account)}

    @get("/", name="api_list_series")
    async def list_series(
        self,
        series_service: SeriesService,
        settings: Settings,
        limit: int = Parameter(default=50, ge=1, le=100),
        offset: Offset = 0,
    ) -> OffsetPagination[SeriesOut]:
        from advanced_alchemy.filters import LimitOffset, OrderBy

        rows, total = await series_service.list_and_count(LimitOffset(limit, offset), OrderBy("title"))
        return OffsetPagination(
            items=[series_out(s, settings.base_url) for s in rows], limit=limit, offset=offset, total=total
        )

    @post("/", status_code=HTTP_201_CREATED, name="api_create_series")
    async def create_series(
        self, data: SeriesIn, series_service: SeriesService, account: Account, settings: Settings
    ) -> SeriesOut:
        series = await series_service.create_series(provided_fields(data), creator=account)
        return series_out(series, settings.base_url)

    @get("/{slug:str}", name="api_get_series")
    async def get_series(self, slug: str, series_service: SeriesService, settings: Settings) -> SeriesOut:
        return series_out(await series_service.by_slug(slug), settings.base_url)

    @patch("/{slug:str}", name="api_update_series")
    async def update_series(
        self, slug: str, data: SeriesPatch, series_service: SeriesService, account: Account, settings: Settings
    ) -> SeriesOut:
        series = await series_service.by_slug(slug)
        await ensure_may_edit_series(series_service.repository.session, account, series)
        series = await series_service.update_series(series, provided_fields(data))
        return series_out(series, settings.base_url)


__all__ = ["EventApi", "SeriesApi", "ensure_can_manage"]
