"""HTML pages: an event's announcements and mail log (its managers only), and stopping announcements through a
registration's private link (one click, RFC 8058)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.core.i18n import gettext as _
from events_app.core.timefmt import common_timezones
from events_app.core.validation import ValidationFailed
from events_app.events.access import events_managed_by
from events_app.events.models import Event
from events_app.events.services import EventService
from events_app.notify import mail_log
from events_app.registration import announcements, reminders
from events_app.registration.services import RegistrationService
from events_app.settings import Settings
from events_app.web.auth import provide_organiser, requires_login
from events_app.web.forms import CSRF_EXEMPT, form_page, read_form
from events_app.web.urls import redirect_to

FORM_FIELDS = ("audience", "question_key", "question_value", "subject_en", "body_en", "subject_zh", "body_zh")


class OrganiserMailPages(Controller):
    path = "/organiser/events/{slug:str}"
    include_in_schema = False
    guards = [requires_login]
    dependencies = {"organiser": Provide(provide_organiser)}

    async def _event(self, slug: str, organiser: Account, db_session: AsyncSession) -> Event:
        return await EventService(session=db_session).managed_by_slug(slug, organiser)

    async def _page(self, db_session: AsyncSession, event: Event, organiser: Account, *,
                    values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                    preview: Any = None, count: int | None = None) -> Template:
        return form_page(
            "notify/announcements.html", errors=errors, event=event, organiser=organiser,
            values=values or {"audience": "confirmed"}, audiences=announcements.audience_labels(),
            questions=await announcements.event_questions(db_session, event),
            sent=await announcements.list_for_event(db_session, event), preview=preview, count=count,
            placeholders=announcements.PLACEHOLDERS,
        )

    @get("/announcements", name="announcements")
    async def announcements_page(self, slug: str, organiser: Account, db_session: AsyncSession) -> Template:
        event = await self._event(slug, organiser, db_session)
        return await self._page(db_session, event, organiser)

    @post("/announcements", name="announcement_send")
    async def announce(self, request: Request, slug: str, organiser: Account, db_session: AsyncSession,
                       settings: Settings) -> Template | Redirect:
        """One form, three buttons: preview (with the count), a test to oneself, and sending."""
        event = await self._event(slug, organiser, db_session)
        values = await read_form(request)
        action = values.get("action", "preview")
        try:
            draft = announcements.clean_draft(values, await announcements.event_questions(db_session, event))
        except ValidationFailed as exc:
            return await self._page(db_session, event, organiser, values=values, errors=exc.errors)
        if action == "send":
            sent = await announcements.send(db_session, settings, event, draft, organiser)
            flash(request, _("Announcement queued for %(n)s recipients.", n=sent.recipient_count), "success")
            return redirect_to("announcements", slug=slug)
        if action == "test":
            await announcements.send_test(db_session, settings, event, draft, organiser)
            flash(request, _("A test message is on its way to %(email)s.", email=organiser.email), "success")
            return redirect_to("announcements", slug=slug)
        count, rendered = await announcements.preview(db_session, settings, event, draft)
        return await self._page(db_session, event, organiser, values=values, preview=rendered, count=count)

    @post("/announcements/materials-online", name="announcement_materials_online")
    async def materials_online(self, request: Request, slug: str, organiser: Account, db_session: AsyncSession,
                               settings: Settings) -> Redirect:
        """One click from the materials page: every confirmed attendee hears that the materials are online."""
        event = await self._event(slug, organiser, db_session)
        sent = await announcements.send(db_session, settings, event,
                                        announcements.materials_online_draft(settings, event), organiser)
        flash(request, _("Announcement queued for %(n)s recipients.", n=sent.recipient_count), "success")
        return redirect_to("announcements", slug=slug)

    # ---- reminders ------------------------------------------------------------------------------------------
    async def _reminders_page(self, db_session: AsyncSession, event: Event, organiser: Account, *,
                              values: dict[str, Any] | None = None,
                              errors: dict[str, str] | None = None) -> Template:
        configured = await reminders.configured_offsets(db_session, event)
        return form_page(
            "notify/reminders.html", errors=errors, event=event, organiser=organiser,
            values=values or {"offsets": "" if configured is None else reminders.offsets_text(configured)},
            default=reminders.offsets_text(reminders.default_offsets(event)),
            offsets=[(m, reminders.offsets_text([m]), event.starts_at - dt.timedelta(minutes=m))
                     for m in reminders.offsets_for(event, configured)],
            sent=await reminders.sent_counts(db_session, event),
        )

    @get("/reminders", name="reminders")
    async def reminders_page(self, slug: str, organiser: Account, db_session: AsyncSession) -> Template:
        event = await self._event(slug, organiser, db_session)
        return await self._reminders_page(db_session, event, organiser)

    @post("/reminders", name="reminders_save")
    async def save_reminders(self, request: Request, slug: str, organiser: Account, db_session: AsyncSession
                             ) -> Template | Redirect:
        event = await self._event(slug, organiser, db_session)
        values = await read_form(request)
        try:
            offsets = reminders.clean_offsets(values.get("offsets", ""))
        except ValidationFailed as exc:
            return await self._reminders_page(db_session, event, organiser, values=values, errors=exc.errors)
        await reminders.set_offsets(db_session, event, offsets)
        flash(request, _("Reminders saved."), "success")
        return redirect_to("reminders", slug=slug)

    # ---- mail log ---------------------------------------------------------------------------------------
    @get("/mail", name="mail_log")
    async def mail_log_page(self, slug: str, organiser: Account, db_session: AsyncSession,
                            status: str | None = None) -> Template:
        event = await self._event(slug, organiser, db_session)
        return Template(template_name="notify/mail_log.html", context={
            "event": event, "organiser": organiser, "status": status or "",
            "rows": await mail_log.messages_for_event(db_session, event, status=status),
            "counts": await mail_log.status_counts(db_session, event), "labels": mail_log.status_labels(),
            "page_size": mail_log.PAGE_SIZE,
        })

    @get("/mail/{message_id:int}", name="mail_message")
    async def mail_message(self, slug: str, message_id: int, organiser: Account, db_session: AsyncSession
                           ) -> Template:
        event = await self._event(slug, organiser, db_session)
        row = await mail_log.message_for_event(db_session, event, message_id)
        if row is None:
            raise NotFoundException("No such message.")
        return Template(template_name="notify/mail_message.html", context={
            "event": event, "organiser": organiser, "row": row, "message": mail_log.readable(row),
            "labels": mail_log.status_labels(),
        })

    @post("/mail/{message_id:int}/retry", name="mail_retry")
    async def retry(self, request: Request, slug: str, message_id: int, organiser: Account,
                    db_session: AsyncSession) -> Redirect:
        event = await self._event(slug, organiser, db_session)
        row = await mail_log.message_for_event(db_session, event, message_id)
        if row is None:
            raise NotFoundException("No such message.")
        try:
            await mail_log.retry(db_session, row)
        except ValidationFailed as exc:
            flash(request, "; ".join(exc.errors.values()), "error")
        else:
            flash(request, _("The message will be sent again shortly."), "success")
        return redirect_to("mail_log", slug=slug)


class AllMailPage(Controller):
    include_in_schema = False
    guards = [requires_login]
    dependencies = {"organiser": Provide(provide_organiser)}

    @get("/organiser/mail", name="mail_log_all")
    async def all_mail(self, organiser: Account, db_session: AsyncSession, status: str | None = None) -> Template:
        return Template(template_name="notify/mail_log_all.html", context={
            "organiser": organiser, "status": status or "", "labels": mail_log.status_labels(),
            "rows": await mail_log.messages_for_events(
                db_session, None if organiser.is_admin else events_managed_by(organiser), status=status),
            "page_size": mail_log.PAGE_SIZE,
        })


class UnsubscribePages(Controller):
    """Through the registration's private link, like every other page of the attendee's."""

    include_in_schema = False

    @get("/registrations/{token:str}/unsubscribe", name="unsubscribe_page")
    async def page(self, token: str, db_session: AsyncSession, settings: Settings) -> Template:
        # Mail scanners open links: a GET only shows the button, the POST stops the mail.
        registration = await RegistrationService(db_session, settings).by_token(token)
        return Template(template_name="notify/unsubscribe.html",
                        context={"token": token, "reg": registration, "event": registration.event})

    @post("/registrations/{token:str}/unsubscribe", opt=CSRF_EXEMPT, name="unsubscribe_one_click")
    async def one_click(self, request: Request, token: str, db_session: AsyncSession,
                        settings: Settings) -> Template:
        """RFC 8058 one-click: mail clients POST ``List-Unsubscribe=One-Click`` without any cookie or CSRF token,
        so the private link alone authorises it (as it authorises cancelling)."""
        registration = await RegistrationService(db_session, settings).by_token(token)
        await announcements.stop_announcements(db_session, registration)
        return Template(template_name="notify/unsubscribe.html", context={
            "token": token, "reg": registration, "event": registration.event, "done": True,
        })

    @post("/registrations/{token:str}/timezone", name="registration_timezone")
    async def attendee_timezone(self, request: Request, token: str, db_session: AsyncSession,
                                settings: Settings) -> Redirect:
        """The attendee's own zone: reminders then show the time in it as well as in the event's."""
        registration = await RegistrationService(db_session, settings).by_token(token)
        zone = (await read_form(request)).get("timezone", "")
        if zone and zone not in common_timezones():
            flash(request, _("Choose a time zone from the list."), "error")
        else:
            registration.timezone = zone
            flash(request, _("Your time zone is saved."), "success")
        return redirect_to("registration_manage", token=token)

    @post("/registrations/{token:str}/resubscribe", name="registration_resubscribe")
    async def resubscribe(self, request: Request, token: str, db_session: AsyncSession,
                          settings: Settings) -> Redirect:
        registration = await RegistrationService(db_session, settings).by_token(token)
        await announcements.stop_announcements(db_session, registration, stop=False)
        flash(request, _("You will receive this event's announcements and reminders again."), "success")
        return redirect_to("registration_manage", token=token)


route_handlers: list[Any] = [OrganiserMailPages, AllMailPage, UnsubscribePages]
