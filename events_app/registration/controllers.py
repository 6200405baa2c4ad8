"""HTML pages: the public form and the attendee's private page; the organiser's list, settings, check-in."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from litestar import Controller, Request, Response, get, post, route
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.middleware import DefineMiddleware
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.calendar.links import CalendarLinks
from events_app.calendar.serving import (
    conditional_feed,
    feed_cache,
    render_personal_feed,
)
from events_app.core.i18n import gettext as _
from events_app.core.rate_limits import rate_limit
from events_app.core.timefmt import local_input_value
from events_app.core.validation import Conflict, ValidationFailed, parse_id
from events_app.events.models import Event
from events_app.events.services import EventService
from events_app.registration.models import (
    QuestionKind,
    Registration,
    RegistrationSettings,
    RegistrationStatus,
)
from events_app.registration.outcomes import AlreadyRegistered
from events_app.registration.question_rows import (
    ADD_ROWS,
    BLANK_ROWS,
    editor_values,
    kind_choices,
    posted_blank_rows,
    questions_from_rows,
    rows_from_form,
    rows_from_questions,
)
from events_app.registration.services import RegistrationService
from events_app.settings import Settings
from events_app.web.auth import provide_organiser, requires_login
from events_app.web.file_routes import PAGE_OR_FILE, FileRoute, serve_file_only
from events_app.web.forms import CSRF_EXEMPT, form_page, is_confirmed, read_form
from events_app.web.params import SearchText
from events_app.web.urls import redirect_to, url_path

ATTENDEE_FIELDS = ("name", "email", "affiliation", "country")


async def provide_registration_service(db_session: AsyncSession, settings: Settings) -> RegistrationService:
    return RegistrationService(db_session, settings)


def multi_choice_fields(questions: list[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(f"answers.{q['key']}" for q in questions if q["kind"] == QuestionKind.MULTIPLE_CHOICE)


def attendee_data(values: dict[str, Any], questions: list[dict[str, Any]]) -> dict[str, Any]:
    data = {k: values.get(k, "") for k in ATTENDEE_FIELDS}
    data["answers"] = {q["key"]: values.get(f"answers.{q['key']}") for q in questions}
    return data


def form_values(registration: Registration) -> dict[str, Any]:
    values: dict[str, Any] = {k: getattr(registration, k) for k in ATTENDEE_FIELDS}
    for key, value in (registration.answers or {}).items():
        values[f"answers.{key}"] = value
    return values


class PublicRegistrationPages(Controller):
    include_in_schema = False
    dependencies = {"registrations": Provide(provide_registration_service)}

    async def _form(self, registrations: RegistrationService, event: Event, *, values: dict[str, Any] | None = None,
                    errors: dict[str, str] | None = None, status: int | None = None) -> Template:
        return form_page(
            "registration/form.html", errors=errors, status=status, event=event,
            registration={"availability": await registrations.availability(event), "values": values or {},
                          "errors": errors or {}},
        )

    @get("/events/{slug:str}/register", name="registration_form")
    async def form(self, slug: str, registrations: RegistrationService) -> Template:
        event, _row = await registrations.event_for_registration(slug)
        return await self._form(registrations, event)

    @post("/events/{slug:str}/register", name="register")
    async def register(self, request: Request, slug: str, registrations: RegistrationService) -> Template:
        event, row = await registrations.event_for_registration(slug)
        questions = list(row.questions or []) if row else []
        values = await read_form(request, multi=multi_choice_fields(questions))
        try:
            await registrations.register_and_commit(event, attendee_data(values, questions), row=row)
        except AlreadyRegistered:
            pass  # answered exactly as a new registration: the answer must not tell who is registered
        except ValidationFailed as exc:
            return await self._form(registrations, event, values=values, errors=exc.errors)
        except Conflict as exc:
            return await self._form(registrations, event, values=values, errors={exc.field: exc.message}, status=409)
        # No redirect to a manage page: its link is e-mailed, and opening it is what proves the address.
        received = {k: str(values.get(k) or "").strip() for k in ATTENDEE_FIELDS}
        return Template(template_name="registration/received.html", context={"event": event, "received": received},
                        headers={"Cache-Control": "no-store"})

    # ---- the private manage link ------------------------------------------------------------------------
    async def _manage_page(self, registrations: RegistrationService, token: str, registration: Registration, *,
                           values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                           calendar_feed: dict[str, str] | None = None) -> Template:
        # Reached only through a private link: `registration` is the one record that link opens.
        row = await registrations.settings_for(registration.event)
        confirmed = registration.status == RegistrationStatus.CONFIRMED
        return form_page(
            "registration/manage.html", errors=errors, token=token, reg=registration, event=registration.event,
            position=await registrations.position_of(registration), questions=list(row.questions or []),
            values=values or form_values(registration),
            qr_svg=registrations.qr_svg(registration) if confirmed else None,
            active=registration.status not in (RegistrationStatus.CANCELLED, RegistrationStatus.REJECTED),
            calendar_feed=calendar_feed, proven=registration.email_verified_at is not None,
        )

    @post("/registrations/{token:str}/subscription", name="registration_calendar_link")
    async def calendar_link(self, token: str, registrations: RegistrationService) -> Template:
        """Creates the personal feed's address, or replaces it (the old one then answers 404).

        Only the token's hash is stored, so the address is shown once, on this answer."""
        registration = await registrations.by_token(token)
        feed_token = await registrations.rotate_calendar_token(registration)
        links = CalendarLinks(registrations.settings.base_url)
        path = url_path("personal_calendar_feed", token=feed_token)
        return await self._manage_page(registrations, token, registration,
                                       calendar_feed={"https": links.https(path), "webcal": links.webcal(path)})

    @route("/my/calendar/{token:str}", http_method=PAGE_OR_FILE, name="my_calendar", opt=CSRF_EXEMPT)
    async def my_calendar(self, request: Request, token: str, db_session: AsyncSession) -> Response:
        """Only the file /my/calendar/{token}.ics (personal_feed); no page."""
        return await serve_file_only(request, token, db_session)

    @get("/registrations/{token:str}", name="registration_manage")
    async def manage(self, token: str, registrations: RegistrationService) -> Template:
        registration = await registrations.by_token(token)
        return await self._manage_page(registrations, token, registration)

    @post("/registrations/{token:str}/edit", name="registration_edit")
    async def edit(self, request: Request, token: str, registrations: RegistrationService) -> Template | Redirect:
        registration = await registrations.by_token(token)
        row = await registrations.settings_for(registration.event)
        questions = list(row.questions or [])
        values = await read_form(request, multi=multi_choice_fields(questions))
        try:
            await registrations.update_answers(registration, attendee_data(values, questions))
        except ValidationFailed as exc:
            return await self._manage_page(registrations, token, registration, values=values, errors=exc.errors)
        flash(request, _("Your changes are saved."), "success")
        return redirect_to("registration_manage", token=token)

    @get("/registrations/{token:str}/withdraw", name="registration_withdraw")
    async def withdraw_page(self, token: str, registrations: RegistrationService) -> Template:
        # Mail scanners open links in e-mails; a GET must never free a seat, so the one click is the button here.
        registration = await registrations.by_token(token)
        return self._withdraw_page(token, registration)

    @staticmethod
    def _withdraw_page(token: str, registration: Registration) -> Template:
        return Template(template_name="registration/withdraw.html",
                        context={"token": token, "reg": registration, "event": registration.event})

    @post("/registrations/{token:str}/cancel", name="registration_cancel")
    async def cancel(self, request: Request, token: str, registrations: RegistrationService) -> Redirect | Template:
        registration = await registrations.by_token(token)
        if not is_confirmed(await read_form(request)):
            return self._withdraw_page(token, registration)
        await registrations.cancel(registration)
        flash(request, _("Your registration is cancelled. Thank you for freeing your place."), "success")
        return redirect_to("registration_manage", token=token)

    @post("/registrations/{token:str}/accept", name="registration_accept")
    async def accept(self, request: Request, token: str, registrations: RegistrationService) -> Redirect:
        registration = await registrations.by_token(token)
        try:
            await registrations.accept_offer(registration)
        except ValidationFailed as exc:
            flash(request, "; ".join(exc.errors.values()), "error")
        else:
            flash(request, _("The seat is yours. See you there!"), "success")
        return redirect_to("registration_manage", token=token)

    @post("/registrations/{token:str}/delete", name="registration_delete")
    async def delete(self, request: Request, token: str, registrations: RegistrationService) -> Redirect | Template:
        registration = await registrations.by_token(token)
        if not is_confirmed(await read_form(request)):
            return Template(template_name="registration/delete.html",
                            context={"token": token, "reg": registration, "event": registration.event})
        slug = registration.event.slug
        await registrations.delete_personal_data(registration)
        flash(request, _("Your registration and all personal data in it have been deleted."), "success")
        return redirect_to("event", slug=slug)


# ---- organiser ---------------------------------------------------------------------------------------------------


def settings_values(event: Event, row: RegistrationSettings) -> dict[str, Any]:
    return {
        "mode": row.mode.value, "capacity": "" if row.capacity is None else str(row.capacity),
        "waitlist_enabled": "on" if row.waitlist_enabled else "", "promotion": row.promotion.value,
        "offer_hours": str(row.offer_hours), "opens_at": local_input_value(row.opens_at, event.timezone),
        "closes_at": local_input_value(row.closes_at, event.timezone),
    }


def settings_page(event: Event, organiser: Account, values: dict[str, Any], rows: list[dict[str, str]], *,
                  blank: int = BLANK_ROWS, errors: dict[str, str] | None = None) -> Template:
    row_values, numbers = editor_values(rows, blank)
    # The posted rows' own names are dropped: the rows come back sorted and numbered again, so a posted
    # "questions.2.remove" must not tick the box of whichever question is row 2 now.
    others = {name: value for name, value in values.items() if not name.startswith("questions.")}
    return form_page("registration/settings_form.html", event=event, organiser=organiser, errors=errors,
                     values={**others, **row_values}, question_rows=numbers, kinds=kind_choices(),
                     add_rows=ADD_ROWS)


class OrganiserRegistrationPages(Controller):
    path = "/organiser/events/{slug:str}"
    include_in_schema = False
    guards = [requires_login]
    dependencies = {"registrations": Provide(provide_registration_service), "organiser": Provide(provide_organiser)}

    async def _event(self, slug: str, organiser: Account, registrations: RegistrationService) -> Event:
        return await EventService(session=registrations.session).managed_by_slug(slug, organiser)

    @get("/registrations", name="registration_list")
    async def registrant_list(self, slug: str, registrations: RegistrationService, organiser: Account,
                   status: str | None = None, q: SearchText = None) -> Template:
        event = await self._event(slug, organiser, registrations)
        await registrations.expire_due_offers()
        return Template(template_name="registration/organiser_list.html", context={
            "event": event, "organiser": organiser, "rows": await registrations.list_for_event(event, status=status, q=q),
            "counts": await registrations.status_counts(event), "statuses": list(RegistrationStatus),
            "filters": {"status": status or "", "q": q or ""},
            "availability": await registrations.availability(event),
        })

    @post("/registrations/{registration_id:int}/{action:str}", name="registration_change")
    async def change(self, request: Request, slug: str, registration_id: int, action: str,
                     registrations: RegistrationService, organiser: Account) -> Redirect:
        event = await self._event(slug, organiser, registrations)
        registration = await registrations.for_event(event, registration_id)
        actions = {
            "approve": (registrations.approve, _("Approved.")),
            "reject": (registrations.reject, _("Rejected.")),
            "cancel": (lambda r: registrations.cancel(r, by_organiser=True), _("Cancelled; the seat has passed on.")),
            "promote": (registrations.move_from_waitlist, _("Moved from the waitlist and confirmed.")),
        }
        if action not in actions:
            raise NotFoundException("Unknown action.")
        run, message = actions[action]
        try:
            await run(registration)
        except ValidationFailed as exc:
            flash(request, "; ".join(exc.errors.values()), "error")
        else:
            flash(request, f"{registration.name}: {message}", "success")
        return redirect_to("registration_list", slug=slug)

    @get("/registrations/settings", name="registration_settings")
    async def settings_form(self, slug: str, registrations: RegistrationService, organiser: Account) -> Template:
        event = await self._event(slug, organiser, registrations)
        row = await registrations.settings_for(event)
        return settings_page(event, organiser, settings_values(event, row), rows_from_questions(row.questions or []))

    @post("/registrations/settings", name="registration_save_settings")
    async def save_settings(self, request: Request, slug: str, registrations: RegistrationService,
                            organiser: Account) -> Template | Redirect:
        event = await self._event(slug, organiser, registrations)
        values = await read_form(request)
        rows, row_errors = rows_from_form(values)
        blank = posted_blank_rows(values, rows)
        if values.get(ADD_ROWS):  # "Add more rows": the same form again with more blank rows, nothing saved
            return settings_page(event, organiser, values, rows, blank=blank)
        data = {k: values.get(k, "") for k in ("mode", "capacity", "promotion", "offer_hours", "opens_at", "closes_at")}
        data["waitlist_enabled"] = values.get("waitlist_enabled", "")
        data["questions"] = questions_from_rows(rows)
        try:
            if row_errors:  # the other fields' messages too, in one round
                registrations.clean_settings(event, data)
                row_errors.raise_if_any()
            await registrations.update_settings(event, data)
        except ValidationFailed as exc:
            return settings_page(event, organiser, values, rows, blank=blank, errors={**row_errors, **exc.errors})
        flash(request, _("Registration settings saved."), "success")
        return redirect_to("registration_list", slug=slug)

    @get("/registrations/export.csv", name="registration_export")
    async def export(self, slug: str, registrations: RegistrationService, organiser: Account) -> Response[str]:
        event = await self._event(slug, organiser, registrations)
        return Response(
            await registrations.export_csv(event), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{event.slug}-registrations.csv"'},
        )

    @get("/registrations/dashboard", name="registration_dashboard")
    async def dashboard(self, slug: str, registrations: RegistrationService, organiser: Account) -> Template:
        event = await self._event(slug, organiser, registrations)
        board = await registrations.dashboard(event)
        return Template(template_name="registration/dashboard.html", context={
            "event": event, "organiser": organiser, "board": board,
            "availability": await registrations.availability(event),
        })

    # ---- check-in at the door ----------------------------------------------------------------------------
    @get("/checkin", name="registration_checkin")
    async def checkin_page(self, slug: str, registrations: RegistrationService, organiser: Account,
                           code: str | None = None, q: SearchText = None) -> Template:
        event = await self._event(slug, organiser, registrations)
        return Template(template_name="registration/checkin.html", context={
            "event": event, "organiser": organiser, "code": code or "", "q": q or "",
            "matches": await registrations.search_confirmed(event, q or ""), "result": None,
        })

    @post("/checkin", name="registration_check_in")
    async def checkin(self, request: Request, slug: str, registrations: RegistrationService,
                      organiser: Account) -> Template:
        event = await self._event(slug, organiser, registrations)
        form = await read_form(request)
        if form.get("registration_id"):
            registration = await registrations.for_event(event, parse_id(form["registration_id"]) or 0)
            result = await registrations.check_in_registration(registration)
        else:
            result = await registrations.check_in(event, form.get("code", ""))
        return Template(template_name="registration/checkin.html", context={
            "event": event, "organiser": organiser, "code": "", "q": "", "matches": [], "result": result,
        }, status_code=200 if result.outcome in ("checked_in", "already") else 422)


route_handlers = [PublicRegistrationPages, OrganiserRegistrationPages]


async def personal_feed(request: Request, feed_token: str, db_session: AsyncSession) -> Response:
    """/my/calendar/{token}.ics: the events one person registered for. Public by its unguessable token, so
    never stored by shared caches."""
    registrations = RegistrationService(db_session, request.app.state.settings)
    now = dt.datetime.now(dt.UTC)
    owner = await registrations.by_calendar_token(feed_token)
    if owner is None:
        raise NotFoundException("No such calendar.")
    rows = await registrations.calendar_feed_registrations(owner, now)
    # The ETag covers the registrations too: a seat confirmed or given up changes the feed.
    state = repr([(r.id, r.status.value, r.updated_at.isoformat()) for r in rows]).encode()
    feed = f"my:{owner.id}:{hashlib.blake2b(state, digest_size=12).hexdigest()}"
    changed_at = max((r.updated_at for r in rows), default=owner.updated_at)
    settings = registrations.settings

    async def render() -> bytes:
        return await render_personal_feed(
            registrations.session, [(r.event_id, r.status != RegistrationStatus.CONFIRMED) for r in rows],
            settings=settings, now=now, cache=feed_cache(request.app),
        )

    return await conditional_feed(
        request, registrations.session, settings, feed=feed, filename="my-events.ics", now=now, render=render,
        private=True, changed_at=changed_at,
    )


personal_feed_files = [FileRoute(name="personal_calendar_feed", route="my_calendar", suffix=".ics", serve=personal_feed)]


async def _is_new_registration(request: Request) -> bool:
    # Async on purpose: Litestar runs a sync check in a worker thread, a thread hand-off on every request.
    # The form (POST /events/{slug}/register) and the API (POST /api/events/{slug}/registrations).
    path = request.scope["path"].rstrip("/")
    return request.method == "POST" and (
        (path.startswith("/events/") and path.endswith("/register"))
        or (path.startswith("/api/events/") and path.endswith("/registrations"))
    )


def registration_rate_limit(settings: Settings) -> list[DefineMiddleware]:
    """At most ``settings.registration_rate_limit`` new registrations a minute from one client address (429
    beyond): in each process, or across all of them with EVENTS_REDIS_URL; nothing when the limit is 0. Its own
    store, so logins do not count against it."""
    if settings.registration_rate_limit <= 0:
        return []
    config = rate_limit(("minute", settings.registration_rate_limit),
                        check_throttle_handler=_is_new_registration, store="registration_rate_limit")
    return [config.middleware]
