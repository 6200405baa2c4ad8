"""Timetable pages: the public programme (grid, exports) and the organiser's editor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, MediaType, Request, Response, get, post, route
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.core.i18n import current_locale
from events_app.core.i18n import gettext as _
from events_app.core.single_flight import SingleFlight
from events_app.core.timefmt import local_input_value
from events_app.core.validation import Conflict, ValidationFailed
from events_app.events.models import Event
from events_app.events.services import EventService
from events_app.schedule.conflicts import event_problems
from events_app.schedule.exports import frab_json, frab_xml
from events_app.schedule.grid import grid_cells, session_items
from events_app.schedule.models import Room, ScheduleSession, Talk
from events_app.schedule.programme import ProgrammeHead, ProgrammeStore, load_programme, programme_head
from events_app.schedule.services import (
    ProgrammeVersionService,
    RoomService,
    ScheduleConflict,
    ScheduleSessionService,
    TalkService,
    event_days,
    venue_of,
)
from events_app.settings import Settings
from events_app.speakers.services import PersonService
from events_app.web.auth import provide_organiser, requires_login
from events_app.web.conditional_get import CACHEABLE_METHODS, conditional_response
from events_app.web.forms import flash_wall_time_warnings, form_page, read_form
from events_app.web.params import SearchText
from events_app.web.urls import redirect_to

TALK_FORM_FIELDS = ("title", "abstract", "starts_at", "ends_at", "kind", "room_id", "new_room", "session_id",
                    "speaker_ids")
SESSION_FORM_FIELDS = ("title", "track", "room_id", "new_room", "starts_at", "ends_at", "chair_ids")


# ---- public programme ------------------------------------------------------------------------------------
def _cache_headers(*, private: bool = False, vary: bool = True) -> dict[str, str]:
    # Clients always revalidate; a matching ETag costs one small query and no rendering.
    headers = {"Cache-Control": ("private" if private else "public") + ", no-cache"}
    if vary:
        headers["Vary"] = "Cookie, Accept-Language"
    return headers


def programme_flights(request: Request) -> SingleFlight:
    return request.app.state.setdefault("programme_flights", SingleFlight())


def programme_store(request: Request) -> ProgrammeStore:
    """One store per application instance (per process in production)."""
    store = getattr(request.app.state, "programme_store", None)
    if store is None:
        store = request.app.state.programme_store = ProgrammeStore()
    return store


async def _stored_body(request: Request, key: str, build: Callable[[ProgrammeStore], Awaitable[bytes]]) -> bytes:
    """The body kept for this programme revision, or built once however many requests miss it together."""
    store = programme_store(request)
    body = store.bodies.get(key)
    if body is not None:
        return body

    async def build_and_keep() -> bytes:
        return store.bodies.put(key, await build(store))

    return await programme_flights(request).run(key, build_and_keep)


class PublicProgrammePages(Controller):
    include_in_schema = False

    async def _head(self, db_session: AsyncSession, slug: str) -> ProgrammeHead:
        head = await programme_head(db_session, slug)
        if head is None or not head.public:
            raise NotFoundException("No such event.")
        return head

    @route("/events/{slug:str}/programme", http_method=CACHEABLE_METHODS, name="programme")
    async def programme_page(self, request: Request, slug: str, db_session: AsyncSession) -> Response:
        head = await self._head(db_session, slug)
        logged_in = bool(request.session.get("account_id"))
        key = head.tag("html", current_locale.get(), "o" if logged_in else "p")

        async def build(store: ProgrammeStore) -> bytes:
            programme = await load_programme(db_session, head.event_id, store)
            engine = request.app.template_engine
            assert engine is not None  # create_app always configures one
            template = engine.get_template("schedule/programme.html")
            # Rendered once per programme revision and served to everyone: no flash messages, no CSRF token.
            return template.render(
                request=request, csrf_input="", get_flashes=lambda: [], programme=programme,
                event=programme.event, cells=grid_cells(programme), session_items=session_items(programme),
            ).encode("utf-8")

        async def render() -> bytes:
            return await _stored_body(request, key, build)

        return await conditional_response(request, etag=f'"{key}"', render=render, media_type=MediaType.HTML,
                                          headers=_cache_headers(private=logged_in))

    @route("/events/{slug:str}/schedule.xml", http_method=CACHEABLE_METHODS, name="schedule_xml")
    async def schedule_xml(self, request: Request, slug: str, db_session: AsyncSession, settings: Settings) -> Response:
        return await self._export(request, slug, db_session, settings, "xml", "application/xml; charset=utf-8")

    @route("/events/{slug:str}/schedule.json", http_method=CACHEABLE_METHODS, name="schedule_json")
    async def schedule_json(self, request: Request, slug: str, db_session: AsyncSession, settings: Settings) -> Response:
        return await self._export(request, slug, db_session, settings, "json", "application/json")

    async def _export(self, request: Request, slug: str, db_session: AsyncSession, settings: Settings, kind: str,
                      media_type: str) -> Response:
        head = await self._head(db_session, slug)
        key = head.tag(kind)

        async def export(store: ProgrammeStore) -> bytes:
            programme = await load_programme(db_session, head.event_id, store)
            return (frab_xml if kind == "xml" else frab_json)(programme, settings.base_url)

        async def render() -> bytes:
            return await _stored_body(request, key, export)

        return await conditional_response(request, etag=f'"{key}"', render=render, media_type=media_type,
                                          headers=_cache_headers(vary=False))


# ---- organiser editor ------------------------------------------------------------------------------------
class TimetableServices:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db = db_session
        self.events = EventService(session=db_session)
        self.talks = TalkService(session=db_session)
        self.people = PersonService(session=db_session)
        self.rooms = RoomService(session=db_session)
        self.sessions = ScheduleSessionService(session=db_session)
        self.versions = ProgrammeVersionService(session=db_session)


async def provide_timetable(db_session: AsyncSession) -> TimetableServices:
    return TimetableServices(db_session)


def noon(day: dt.date, zone: str) -> dt.datetime:
    """A day as an instant the date filters show as that day in the zone."""
    return dt.datetime.combine(day, dt.time(12), ZoneInfo(zone))


async def venue_rooms(services: TimetableServices, event: Event, current: Any = None) -> list[Room]:
    """The rooms the room control offers: the event venue's (and the item's own room, wherever it is)."""
    return [r for r in await services.rooms.all_rooms() if r.venue.name == venue_of(event) or str(r.id) == str(current)]


def _override(values: dict) -> bool:
    return values.get("override") in ("1", "on", "true")


class OrganiserTimetablePages(Controller):
    path = "/organiser/events/{slug:str}"
    include_in_schema = False
    guards = [requires_login]
    dependencies = {"services": Provide(provide_timetable), "organiser": Provide(provide_organiser)}

    # ---- overview -----------------------------------------------------------------------------------------
    @get("/timetable", name="timetable")
    async def timetable(self, slug: str, services: TimetableServices, organiser: Account) -> Template:
        event = await services.events.managed_by_slug(slug, organiser)
        return Template(template_name="schedule/timetable.html", context={
            "event": event,
            "organiser": organiser,
            "programme": await load_programme(services.db, event.id),
            "unscheduled": await services.talks.unscheduled_talks(event),
            "event_days": [{"iso": d.isoformat(), "noon": noon(d, event.timezone)} for d in event_days(event)],
            "problems": await event_problems(services.db, event),
            "rooms": await services.rooms.all_rooms(),
            "versions": await services.versions.versions_of(event),
            "room_values": {}, "errors": {},
        })

    @post("/rooms", name="room_add")
    async def add_room(self, request: Request, slug: str, services: TimetableServices, organiser: Account) -> Redirect:
        await services.events.managed_by_slug(slug, organiser)
        values = await read_form(request)
        try:
            room = await services.rooms.create_room(values)
        except ValidationFailed as exc:
            flash(request, " ".join(exc.errors.values()), "error")
        except Conflict as exc:
            flash(request, exc.message, "error")
        else:
            flash(request, _("Room %(name)s added.", name=room.name), "success")
        return redirect_to("timetable", slug=slug)

    @post("/programme/publish", name="programme_publish")
    async def publish(self, request: Request, slug: str, services: TimetableServices, organiser: Account) -> Redirect:
        event = await services.events.managed_by_slug(slug, organiser)
        values = await read_form(request)
        version = await services.versions.publish(event, note=values.get("note", ""))
        flash(request, _("Programme version %(n)s published.", n=version.number), "success")
        return redirect_to("timetable", slug=slug)

    # ---- sessions -----------------------------------------------------------------------------------------
    async def _session_form(self, services: TimetableServices, event: Event, *, item: ScheduleSession | None = None,
                            values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                            problems: Sequence[Any] | None = None) -> Template:
        if values is None:
            values = {"starts_at": local_input_value(event.starts_at, event.timezone),
                      "ends_at": local_input_value(event.ends_at, event.timezone), "chair_ids": []}
            if item is not None:
                values = {
                    "title": item.title, "track": item.track, "room_id": str(item.room_id or ""),
                    "starts_at": local_input_value(item.starts_at, event.timezone),
                    "ends_at": local_input_value(item.ends_at, event.timezone),
                    "chair_ids": [str(p.id) for p in item.chairs],
                }
        everyone, _total = await services.people.search(None, limit=1000)
        return form_page("schedule/session_form.html", errors=errors, status=409 if problems else None, event=event,
                         item=item, values=values, people=everyone,
                         venue_rooms=await venue_rooms(services, event, values.get("room_id")), problems=problems or [])

    @get("/sessions/new", name="session_new")
    async def new_session(self, slug: str, services: TimetableServices, organiser: Account) -> Template:
        return await self._session_form(services, await services.events.managed_by_slug(slug, organiser))

    @post("/sessions/new", name="session_create")
    async def create_session(self, request: Request, slug: str, services: TimetableServices,
                             organiser: Account) -> Template | Redirect:
        event = await services.events.managed_by_slug(slug, organiser)
        values = await read_form(request, multi=("chair_ids",))
        try:
            await services.sessions.create_session(
                event, {k: values.get(k, "") for k in SESSION_FORM_FIELDS}, override=_override(values))
        except ValidationFailed as exc:
            return await self._session_form(services, event, values=values, errors=exc.errors)
        except ScheduleConflict as exc:
            return await self._session_form(services, event, values=values, problems=exc.problems)
        flash(request, _("Session added."), "success")
        flash_wall_time_warnings(request, values, event.timezone)
        return redirect_to("timetable", slug=slug)

    @get("/sessions/{session_id:int}/edit", name="session_edit")
    async def edit_session(self, slug: str, session_id: int, services: TimetableServices, organiser: Account) -> Template:
        event = await services.events.managed_by_slug(slug, organiser)
        return await self._session_form(services, event, item=await services.sessions.by_id(session_id, event=event))

    @post("/sessions/{session_id:int}/edit", name="session_update")
    async def update_session(self, request: Request, slug: str, session_id: int, services: TimetableServices,
                             organiser: Account) -> Template | Redirect:
        event = await services.events.managed_by_slug(slug, organiser)
        item = await services.sessions.by_id(session_id, event=event)
        values = await read_form(request, multi=("chair_ids",))
        try:
            await services.sessions.update_session(
                event, item, {k: values.get(k, "") for k in SESSION_FORM_FIELDS}, override=_override(values))
        except ValidationFailed as exc:
            return await self._session_form(services, event, item=item, values=values, errors=exc.errors)
        except ScheduleConflict as exc:
            return await self._session_form(services, event, item=item, values=values, problems=exc.problems)
        flash(request, _("Changes saved."), "success")
        flash_wall_time_warnings(request, values, event.timezone)
        return redirect_to("timetable", slug=slug)

    @post("/sessions/{session_id:int}/delete", name="session_delete")
    async def delete_session(self, request: Request, slug: str, session_id: int, services: TimetableServices,
                             organiser: Account) -> Redirect:
        event = await services.events.managed_by_slug(slug, organiser)
        await services.sessions.delete_session(await services.sessions.by_id(session_id, event=event))
        flash(request, _("Session deleted; its talks stay in the timetable."), "success")
        return redirect_to("timetable", slug=slug)


class OrganiserTalkPages(Controller):
    path = "/organiser/events/{slug:str}/talks"
    include_in_schema = False
    guards = [requires_login]
    dependencies = {"services": Provide(provide_timetable), "organiser": Provide(provide_organiser)}

    async def _form(self, services: TimetableServices, event: Event, *, talk: Talk | None = None,
                    values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                    problems: Sequence[Any] | None = None, back: str = "", room: str = "",
                    day: dt.date | None = None) -> Template:
        everyone, _total = await services.people.search(None, limit=1000)
        offered = await venue_rooms(services, event)
        if values is None:
            starts, ends = await services.talks.first_free_slot(event, room=room, day=day)
            room_id = next((str(r.id) for r in offered if r.name.casefold() == room.strip().casefold()), "") if room else ""
            values = {"starts_at": local_input_value(starts, event.timezone), "room_id": room_id,
                      "ends_at": local_input_value(ends, event.timezone), "speaker_ids": [], "kind": "talk"}
            if talk is not None:
                values = self._talk_values(talk, event)
        values.setdefault("back", back)
        return form_page("organiser/talk_form.html", errors=errors, status=409 if problems else None, event=event,
                         talk=talk, values=values, people=everyone, rooms=offered,
                         venue_rooms=await venue_rooms(services, event, values.get("room_id")),
                         sessions=await services.sessions.sessions_of(event), problems=problems or [],
                         event_days=[{"iso": d.isoformat(), "noon": noon(d, event.timezone)} for d in event_days(event)],
                         slot={"room": room, "day": day.isoformat() if day else ""})

    def _data(self, values: dict) -> dict:
        return {k: values.get(k, "") for k in TALK_FORM_FIELDS}

    @staticmethod
    def _talk_values(talk: Talk, event: Event) -> dict[str, Any]:
        return {
            "title": talk.title,
            "abstract": talk.abstract,
            "kind": talk.kind,
            "room_id": str(talk.room_id or ""),
            "session_id": str(talk.session_id or ""),
            # An unscheduled talk: both empty (filled in, the talk is scheduled).
            "starts_at": local_input_value(talk.starts_at, event.timezone),
            "ends_at": local_input_value(talk.ends_at, event.timezone),
            "speaker_ids": [str(link.person_id) for link in talk.speaker_links],
        }

    def _back(self, slug: str, values: dict) -> Redirect:
        # Back where the organiser came from: the timetable editor or the event's page.
        return redirect_to("timetable" if values.get("back") == "timetable" else "event_manage", slug=slug)

    @get("/new", name="talk_new")
    async def new_talk(self, slug: str, services: TimetableServices, organiser: Account, back: str = "",
                       room: SearchText = None, day: str = "") -> Template:
        event = await services.events.managed_by_slug(slug, organiser)
        days = event_days(event)
        chosen = next((d for d in days if d.isoformat() == day), None)  # anything else: the first day
        return await self._form(services, event, back=back, room=room or "", day=chosen)

    @post("/new", name="talk_create")
    async def create_talk(self, request: Request, slug: str, services: TimetableServices,
                          organiser: Account) -> Template | Redirect:
        event = await services.events.managed_by_slug(slug, organiser)
        values = await read_form(request, multi=("speaker_ids",))
        try:
            await services.talks.create_talk(event, self._data(values), override=_override(values))
        except ValidationFailed as exc:
            return await self._form(services, event, values=values, errors=exc.errors)
        except ScheduleConflict as exc:
            return await self._form(services, event, values=values, problems=exc.problems)
        flash(request, _("Talk added."), "success")
        flash_wall_time_warnings(request, values, event.timezone)
        return self._back(slug, values)

    @get("/{talk_id:int}/edit", name="talk_edit")
    async def edit_talk(self, slug: str, talk_id: int, services: TimetableServices, organiser: Account,
                        back: str = "") -> Template:
        event = await services.events.managed_by_slug(slug, organiser)
        return await self._form(services, event, talk=await services.talks.by_id(talk_id, event=event), back=back)

    @post("/{talk_id:int}/edit", name="talk_update")
    async def update_talk(self, request: Request, slug: str, talk_id: int, services: TimetableServices,
                          organiser: Account) -> Template | Redirect:
        event = await services.events.managed_by_slug(slug, organiser)
        talk = await services.talks.by_id(talk_id, event=event)
        values = await read_form(request, multi=("speaker_ids",))
        try:
            await services.talks.update_talk(event, talk, self._data(values), override=_override(values))
        except ValidationFailed as exc:
            return await self._form(services, event, talk=talk, values=values, errors=exc.errors)
        except ScheduleConflict as exc:
            return await self._form(services, event, talk=talk, values=values, problems=exc.problems)
        flash(request, _("Changes saved."), "success")
        flash_wall_time_warnings(request, values, event.timezone)
        return self._back(slug, values)

    @post("/{talk_id:int}/schedule", name="talk_schedule")
    async def schedule_talk(self, request: Request, slug: str, talk_id: int, services: TimetableServices,
                            organiser: Account) -> Template | Redirect:
        """The timetable's "to be scheduled" list: a day, a start time and a room give a talk its place, for
        the event's usual talk length. A slip or a clash shows the talk's form with that time and the reason."""
        event = await services.events.managed_by_slug(slug, organiser)
        talk = await services.talks.by_id(talk_id, event=event)
        values = await read_form(request)
        form_values = {**self._talk_values(talk, event), "back": "timetable"}
        change: dict[str, Any] = {}
        try:
            starts, ends = services.talks.slot_from_day_and_time(event, values)
            change = {"starts_at": starts, "ends_at": ends}
            form_values.update(starts_at=local_input_value(starts, event.timezone),
                               ends_at=local_input_value(ends, event.timezone))
            if values.get("room_id"):
                change["room_id"] = form_values["room_id"] = str(values.get("room_id"))
            await services.talks.update_talk(event, talk, change, override=_override(values))
        except ValidationFailed as exc:
            return await self._form(services, event, talk=talk, values=form_values, errors=exc.errors)
        except ScheduleConflict as exc:
            return await self._form(services, event, talk=talk, values=form_values, problems=exc.problems)
        flash(request, _("“%(title)s” is scheduled.", title=talk.title), "success")
        return redirect_to("timetable", slug=slug)

    @post("/{talk_id:int}/delete", name="talk_delete")
    async def delete_talk(self, request: Request, slug: str, talk_id: int, services: TimetableServices,
                          organiser: Account) -> Redirect:
        event = await services.events.managed_by_slug(slug, organiser)
        await services.talks.delete_talk(await services.talks.by_id(talk_id, event=event))
        flash(request, _("Talk deleted."), "success")
        return self._back(slug, await read_form(request))


route_handlers = [PublicProgrammePages, OrganiserTimetablePages, OrganiserTalkPages]
