"""HTML pages for events and series: the public site and the organiser area."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, get, post, route
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.accounts.services import AccountService
from events_app.core.i18n import gettext as _
from events_app.core.timefmt import local_input_value
from events_app.core.validation import Conflict, ValidationFailed
from events_app.db import READS
from events_app.events.access import ensure_may_edit_series, may_manage_event
from events_app.events.models import Event, EventKind, EventStatus, kind_label
from events_app.events.public import ListingTotal, PublicEvent, listing_total_key
from events_app.events.services import (
    EventFilters,
    EventService,
    SeriesChoice,
    SeriesService,
    ensure_can_manage,
)
from events_app.events.signals import event_page_shown, organiser_event_page_shown
from events_app.settings import Settings
from events_app.web.auth import provide_organiser, requires_login
from events_app.web.file_routes import PAGE_OR_FILE, serve_file
from events_app.web.forms import flash_wall_time_warnings, form_page, is_confirmed, read_form
from events_app.web.fragments import keep_value, kept_fragment, kept_seats, kept_value, kept_value_if_any
from events_app.web.params import Page, SearchText
from events_app.web.urls import redirect_to

PAGE_SIZE = 20
# The event page's parts that are kept rendered and whose reading the handler (and event_page_shown's
# receivers, through `kept_parts`) can skip: the programme, the materials, the calls open now.
KEPT_EVENT_PARTS = ("event-more", "event-materials", "event-calls")


async def provide_event_service(db_session: AsyncSession, state: State) -> EventService:
    # Settings from `state` rather than the `settings` dependency, and the public pages ask for no other: Litestar
    # resolves dependencies of one level side by side in a task group (~50 µs a request), a single chain in turn.
    return EventService(session=db_session, settings=state.settings)


async def provide_series_service(db_session: AsyncSession) -> SeriesService:
    return SeriesService(session=db_session)


class PublicEventPages(Controller):
    include_in_schema = False
    dependencies = {"events": Provide(provide_event_service)}

    @get("/", name="home", opt=READS)
    async def home(
        self,
        request: Request,
        events: EventService,
        kind: str | None = None,
        series: str | None = None,
        month: str | None = None,
        q: SearchText = None,
        page: Page = 1,
    ) -> Template:
        return await self._listing(request, events, kind, series, month, q, page, past=False)

    @get("/past", name="past", opt=READS)
    async def past(
        self,
        request: Request,
        events: EventService,
        kind: str | None = None,
        series: str | None = None,
        q: SearchText = None,
        page: Page = 1,
    ) -> Template:
        return await self._listing(request, events, kind, series, None, q, page, past=True)

    async def _listing(self, request: Request, events: EventService, kind: str | None, series: str | None,
                       month: str | None, q: str | None, page: int, *, past: bool) -> Template:
        filters = EventFilters(
            kind=kind, series=series, month=month, q=q, past=past, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        # The page's events by their keys first: their cards are kept rendered as one block (web/fragments.py),
        # and the rows are read only when it is not.
        keys, listing_total = await public_listing_keys(request, events, filters)
        total = listing_total.count
        cards_key = tuple(keys)
        rows: list[PublicEvent] = []
        kept: dict[tuple, Any] = {}
        if (cards := kept_fragment(request, "event-cards", None, cards_key)) is not None:
            kept[("event-cards", None, cards_key)] = cards
        elif keys:
            rows = await events.public_events_by_id([event_id for event_id, _created in keys])
        # The filter menus change rarely: kept between requests (web/fragments.py), as plain values.
        all_series = await kept_value(request, "series-menu",
                                      SeriesService(session=events.repository.session).series_menu)
        return Template(
            template_name="events/index.html",
            context={
                "events": rows,
                "cards_key": cards_key,
                "kept_fragments": kept,
                "total": total,
                "page": page,
                "pages": max(1, -(-total // PAGE_SIZE)),
                "filters": {"kind": kind or "", "series": series or "", "month": month or "", "q": q or ""},
                "kinds": list(EventKind),
                "all_series": all_series,
                "months": () if past else await kept_value(request, "months-menu", events.months_with_events),
                "past": past,
                "feed": listing_feed(kind, series, all_series),
            },
        )

    # /events/{slug}.ics and /series/{slug}.ics are served on these routes too (web/file_routes.py).
    @route("/events/{slug:str}", http_method=PAGE_OR_FILE, name="event", opt=READS)
    async def event_page(self, request: Request, slug: str, events: EventService) -> Template | Response:
        if (file := await serve_file(request, slug, events.repository.session)) is not None:
            return file
        settings: Settings = request.app.state.settings
        # The event's row is kept between requests like a fragment (any change to an event drops it), where every
        # process's writes are heard (an address may name another event after a write elsewhere).
        event = await kept_value(request, "public-event", lambda: events.public_event(slug), slug, every_process=True)
        context: dict[str, Any] = {"event": event, "past": event.ends_at <= dt.datetime.now(dt.UTC)}
        # Parts of the page kept rendered (web/fragments.py): what they show need not be read. The page shows
        # these very copies (one may be dropped between here and the rendering).
        kept: dict[tuple, Any] = {}
        for part in KEPT_EVENT_PARTS:
            if (html := kept_fragment(request, part, event.id, event.created_at)) is not None:
                kept[(part, event.id, event.created_at)] = html
        context["kept_fragments"] = kept
        if ("event-more", event.id, event.created_at) not in kept:
            listing = await events.programme_listing(event, limit=settings.event_page_talk_limit)
            context.update({"talks": listing.talks, "speakers": listing.speakers,
                            "programme_size": 0 if listing.listed else listing.size})
        # Receivers skip reading what a kept part shows (`kept_parts`).
        for contribution in await event_page_shown.send(events.repository.session, event=event, settings=settings,
                                                        kept_parts=frozenset(key[0] for key in kept),
                                                        keep_seats=functools.partial(kept_seats, request)):
            context.update(contribution)
        return Template(template_name="events/detail.html", context=context)

    @route("/series/{slug:str}", http_method=PAGE_OR_FILE, name="series", opt=READS)
    async def series_page(self, request: Request, slug: str, events: EventService) -> Template | Response:
        if (file := await serve_file(request, slug, events.repository.session)) is not None:
            return file
        series = await SeriesService(session=events.repository.session).by_slug(slug)
        upcoming, _total = await events.public_listing(EventFilters(series=slug, limit=100))
        past, _total = await events.public_listing(EventFilters(series=slug, past=True, limit=100))
        return Template(
            template_name="events/series.html",
            context={"series": series, "upcoming": upcoming, "past_events": past},
        )


# An upcoming listing's total needs a count over every match (a scan of the upcoming events for PostgreSQL); the
# page itself only the first rows. The total (per filters) and each page's keys (per filters and page) are kept
# like a fragment: dropped by any write that is not a registration, and when the first of the matched events
# ends (the listing changes by the clock alone then). A page shown again while they are reads nothing.
@dataclass(frozen=True)
class ListingPage:
    keys: tuple[tuple[int, dt.datetime], ...]  # each event's (id, created_at), in listing order
    total: ListingTotal


def kept_listing(request: Request, filters: EventFilters) -> tuple[ListingPage | None, ListingTotal | None]:
    """What is kept of this listing: the page (its keys and the total), else the total alone, else nothing."""
    key = listing_total_key(filters)
    if key is None:
        return None, None
    page = kept_value_if_any(request, "listing-page", *key, filters.limit, filters.offset, every_process=True)
    if page is not None:
        return page, page.total
    return None, kept_value_if_any(request, "listing-total", *key, every_process=True)


def keep_listing(request: Request, filters: EventFilters, keys: Sequence[tuple[int, dt.datetime]],
                 total: ListingTotal, known_total: ListingTotal | None) -> None:
    key = listing_total_key(filters)
    if key is None:
        return
    if known_total is None:
        keep_value(request, total, "listing-total", *key, until=total.changes_at, every_process=True)
    keep_value(request, ListingPage(tuple(keys), total), "listing-page", *key, filters.limit, filters.offset,
               until=total.changes_at, every_process=True)


async def public_listing_keys(request: Request, events: EventService, filters: EventFilters,
                              ) -> tuple[Sequence[tuple[int, dt.datetime]], ListingTotal]:
    """A public listing page as its events' keys, and its total: kept, or read (and kept)."""
    page, known_total = kept_listing(request, filters)
    if page is not None:
        return page.keys, page.total
    keys, total = await events.public_listing_keys(filters, known_total=known_total)
    keep_listing(request, filters, keys, total, known_total)
    return keys, total


def listing_feed(kind: str | None, series: str | None, all_series: Sequence[SeriesChoice]) -> dict[str, str | None]:
    """The calendar feed matching the listing's filters (kind, series); unknown values are left out, since
    the feed answers 404 to them. Month and text search have no feed: the subscription takes every date."""
    kinds = {k.value: k for k in EventKind}
    chosen_series = next((s for s in all_series if s.slug == series), None)
    name = chosen_series.title if chosen_series else _("International Programme")
    if kind in kinds:
        name = f"{name} – {kind_label(kinds[kind])}"
    return {"kind": kind if kind in kinds else None, "series": chosen_series.slug if chosen_series else None,
            "name": name}


EVENT_FORM_FIELDS = (
    "title", "kind", "summary", "description", "starts_at", "ends_at", "timezone", "venue_name",
    "venue_address", "online_url", "online_url_private", "language", "organiser", "series", "partners", "geo_lat",
    "geo_lon", "default_talk_minutes",
)


def event_form_values(event: Event) -> dict[str, str]:
    if event is None:
        return {"kind": "lecture", "timezone": "Asia/Shanghai", "language": "en"}
    return {
        "title": event.title,
        "kind": event.kind.value,
        "summary": event.summary,
        "description": event.description,
        "starts_at": local_input_value(event.starts_at, event.timezone),
        "ends_at": local_input_value(event.ends_at, event.timezone),
        "timezone": event.timezone,
        "venue_name": event.venue_name,
        "venue_address": event.venue_address,
        "online_url": event.online_url,
        "online_url_private": "on" if event.online_url_private else "",
        "language": event.language,
        "organiser": event.organiser,
        "series": event.series.slug if event.series else "",
        "partners": "\n".join(event.partners or []),
        "geo_lat": "" if event.geo_lat is None else str(event.geo_lat),
        "geo_lon": "" if event.geo_lon is None else str(event.geo_lon),
        "default_talk_minutes": str(event.default_talk_minutes),
    }


class OrganiserEventPages(Controller):
    path = "/organiser"
    include_in_schema = False
    guards = [requires_login]
    dependencies = {
        "events": Provide(provide_event_service),
        "series_service": Provide(provide_series_service),
        "organiser": Provide(provide_organiser),
    }

    @get("/", name="organiser_home")
    async def dashboard(
        self, events: EventService, organiser: Account, q: SearchText = None, page: Page = 1
    ) -> Template:
        filters = EventFilters(q=q, upcoming_only=True, limit=50, offset=(page - 1) * 50)
        rows, total = await events.search(filters, account=organiser)
        past_rows, _ = await events.search(EventFilters(q=q, past=True, limit=20), account=organiser)
        return Template(
            template_name="organiser/dashboard.html",
            context={
                "organiser": organiser,
                "events": rows,
                "past_events": past_rows,
                "total": total,
                "q": q or "",
                "can_manage": lambda e: may_manage_event(organiser, e),
            },
        )

    async def _form(self, series_service: SeriesService, organiser: Account, *, event: Event | None = None,
                    values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                    audience: int = 0, registration_closed: bool = True) -> Template:
        return form_page(
            "organiser/event_form.html",
            errors=errors,
            event=event,
            audience=audience,
            registration_closed=registration_closed,
            values=values or (event_form_values(event) if event else {}),
            kinds=list(EventKind),
            # Only the series this organiser may put events into, and the event's own.
            all_series=await series_service.editable_by(organiser, also=event.series_id if event else None),
        )

    @get("/events/new", name="event_new")
    async def new_event(self, series_service: SeriesService, organiser: Account) -> Template:
        return await self._form(series_service, organiser)

    @post("/events/new", name="event_create")
    async def create_event(
        self, request: Request, events: EventService, series_service: SeriesService, organiser: Account
    ) -> Template | Redirect:
        values = await read_form(request)
        data = {k: values.get(k, "") for k in EVENT_FORM_FIELDS}
        try:
            event = await events.create_event(data, creator=organiser)
            await events.registration_closed(event, open_registration=values.get("open_registration") == "on")
        except ValidationFailed as exc:
            return await self._form(series_service, organiser, values=values, errors=exc.errors)
        except Conflict as exc:
            return await self._form(series_service, organiser, values=values, errors={exc.field: exc.message})
        flash(request, _("Event created as a draft. Publish it when it is ready."), "success")
        flash_wall_time_warnings(request, data, event.timezone)
        return redirect_to("event_manage", slug=event.slug)

    @get("/events/{slug:str}", name="event_manage")
    async def manage_event(self, slug: str, events: EventService, organiser: Account) -> Template:
        event = await events.managed_by_slug(slug, organiser)
        context: dict[str, Any] = {"event": event, "organiser": organiser,
                                   "registration_closed": await events.registration_closed(event)}
        for contribution in await organiser_event_page_shown.send(events.repository.session, event=event):
            context.update(contribution)
        return Template(template_name="organiser/event.html", context=context)

    @get("/events/{slug:str}/edit", name="event_edit")
    async def edit_event(self, slug: str, events: EventService, series_service: SeriesService, organiser: Account) -> Template:
        event = await events.managed_by_slug(slug, organiser)
        return await self._form(series_service, organiser, event=event, audience=await events.audience(event),
                                registration_closed=await events.registration_closed(event))

    @post("/events/{slug:str}/edit", name="event_update")
    async def update_event(
        self, request: Request, slug: str, events: EventService, series_service: SeriesService, organiser: Account
    ) -> Template | Redirect:
        event = await events.managed_by_slug(slug, organiser)
        values = await read_form(request)
        data = {k: values.get(k, "") for k in EVENT_FORM_FIELDS}
        # The box is on the form only when someone would be mailed; unticked, the change is saved silently.
        notify = values.get("notify_choice") != "1" or values.get("notify_attendees") == "on"
        try:
            await events.update_event(event, data, by=organiser, notify_attendees=notify)
        except ValidationFailed as exc:
            return await self._form(series_service, organiser, event=event, values=values, errors=exc.errors,
                                    audience=await events.audience(event),
                                    registration_closed=await events.registration_closed(event))
        if values.get("open_registration") == "on":
            await events.registration_closed(event, open_registration=True)
        flash(request, _("Changes saved."), "success")
        flash_wall_time_warnings(request, data, event.timezone)
        return redirect_to("event_manage", slug=slug)

    @post("/events/{slug:str}/status", name="event_status")
    async def change_status(self, request: Request, slug: str, events: EventService,
                            organiser: Account) -> Redirect | Template:
        event = await events.managed_by_slug(slug, organiser)
        form = await read_form(request)
        try:
            status = EventStatus(form.get("status", ""))
        except ValueError:
            raise NotFoundException("Unknown status.") from None
        if status == EventStatus.CANCELLED and event.status != status and not is_confirmed(form):
            return Template(template_name="organiser/event_cancel.html",
                            context={"event": event, "audience": await events.audience(event)})
        closed = status == EventStatus.PUBLISHED and await events.registration_closed(
            event, open_registration=form.get("open_registration") == "on")
        await events.set_status(event, status)
        messages = {
            EventStatus.PUBLISHED: _("The event is published."),
            EventStatus.DRAFT: _("The event is back to draft and hidden from the public."),
            EventStatus.CANCELLED: _("The event is cancelled. It stays visible, marked as cancelled."),
        }
        flash(request, messages[status], "success")
        if closed:
            flash(request, _("Registration is closed: the public page says so and nobody can register. Open it under "
                             "Registration, Settings and questions."), "warning")
        return redirect_to("event_manage", slug=slug)

    @post("/events/{slug:str}/managers", name="event_manager_add")
    async def add_manager(
        self, request: Request, slug: str, events: EventService, organiser: Account, db_session: AsyncSession
    ) -> Redirect:
        event = await events.managed_by_slug(slug, organiser)
        form = await read_form(request)
        email = (form.get("email") or "").strip().lower()
        from events_app.accounts.models import Account as AccountModel

        account = await AccountService(session=db_session).get_one_or_none(AccountModel.email == email)
        if account is None:
            flash(request, _("No organiser account with this e-mail."), "error")
        else:
            await events.add_manager(event, account)
            flash(request, _("%(name)s can now manage this event.", name=account.email), "success")
        return redirect_to("event_manage", slug=slug)

    # ---- series -------------------------------------------------------------------------------------------
    @get("/series", name="series_list")
    async def series_list(self, series_service: SeriesService, organiser: Account) -> Template:
        editable = {s.id for s in await series_service.editable_by(organiser)}
        return Template(template_name="organiser/series_list.html",
                        context={"all_series": await series_service.all_series(), "editable": editable})

    @get("/series/new", name="series_new")
    async def new_series(self) -> Template:
        return form_page("organiser/series_form.html", series=None, values={})

    @post("/series/new", name="series_create")
    async def create_series(self, request: Request, series_service: SeriesService,
                            organiser: Account) -> Template | Redirect:
        values = await read_form(request)
        try:
            await series_service.create_series({"title": values.get("title"), "description": values.get("description")},
                                               creator=organiser)
        except ValidationFailed as exc:
            return form_page("organiser/series_form.html", errors=exc.errors, series=None, values=values)
        flash(request, _("Series created."), "success")
        return redirect_to("series_list")

    @get("/series/{slug:str}/edit", name="series_edit")
    async def edit_series(self, slug: str, series_service: SeriesService, organiser: Account) -> Template:
        series = await series_service.by_slug(slug)
        await ensure_may_edit_series(series_service.repository.session, organiser, series)
        return form_page(
            "organiser/series_form.html", series=series, values={"title": series.title, "description": series.description}
        )

    @post("/series/{slug:str}/edit", name="series_update")
    async def update_series(self, request: Request, slug: str, series_service: SeriesService,
                            organiser: Account) -> Template | Redirect:
        series = await series_service.by_slug(slug)
        await ensure_may_edit_series(series_service.repository.session, organiser, series)
        values = await read_form(request)
        try:
            await series_service.update_series(series, {"title": values.get("title"), "description": values.get("description")})
        except ValidationFailed as exc:
            return form_page("organiser/series_form.html", errors=exc.errors, series=series, values=values)
        flash(request, _("Changes saved."), "success")
        return redirect_to("series_list")


route_handlers = [PublicEventPages, OrganiserEventPages]
__all__ = ["route_handlers", "ensure_can_manage"]
