"""Organiser pages for an event's talks."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.events.services import EventService
from events_app.schedule.services import TalkService
from events_app.speakers.services import PersonService
from events_app.web.auth import provide_organiser, requires_login
from events_app.web.forms import form_page, read_form
from events_app.web.i18n import gettext as _
from events_app.web.timefmt import local_input_value
from events_app.web.validation import ValidationFailed

TALK_FORM_FIELDS = ("title", "abstract", "starts_at", "ends_at", "room", "speaker_ids")


async def provide_services(db_session: AsyncSession) -> tuple[EventService, TalkService, PersonService]:
    return EventService(session=db_session), TalkService(session=db_session), PersonService(session=db_session)


class OrganiserTalkPages(Controller):
    path = "/organiser/events/{slug:str}/talks"
    include_in_schema = False
    guards = [requires_login]
    dependencies = {"services": Provide(provide_services), "organiser": Provide(provide_organiser)}

    async def _form(self, services, event, *, talk=None, values=None, errors=None) -> Template:
        _events, _talks, people = services
        everyone, _ = await people.search(None, limit=1000)
        if values is None:
            values = {"starts_at": local_input_value(event.starts_at, event.timezone),
                      "ends_at": local_input_value(event.ends_at, event.timezone), "speaker_ids": []}
            if talk is not None:
                values = {
                    "title": talk.title,
                    "abstract": talk.abstract,
                    "room": talk.room,
                    "starts_at": local_input_value(talk.starts_at, event.timezone),
                    "ends_at": local_input_value(talk.ends_at, event.timezone),
                    "speaker_ids": [str(link.person_id) for link in talk.speaker_links],
                }
        return form_page("organiser/talk_form.html", errors=errors, event=event, talk=talk, values=values, people=everyone)

    @get("/new", name="talk_new")
    async def new_talk(self, slug: str, services: tuple, organiser: Account) -> Template:
        event = await services[0].managed_by_slug(slug, organiser)
        return await self._form(services, event)

    @post("/new")
    async def create_talk(self, request: Request, slug: str, services: tuple, organiser: Account) -> Template | Redirect:
        events, talks, _people = services
        event = await events.managed_by_slug(slug, organiser)
        values = await read_form(request, multi=("speaker_ids",))
        try:
            await talks.create_talk(event, {k: values.get(k, "") for k in TALK_FORM_FIELDS})
        except ValidationFailed as exc:
            return await self._form(services, event, values=values, errors=exc.errors)
        flash(request, _("Talk added."), "success")
        return Redirect(path=f"/organiser/events/{slug}")

    @get("/{talk_id:int}/edit", name="talk_edit")
    async def edit_talk(self, slug: str, talk_id: int, services: tuple, organiser: Account) -> Template:
        events, talks, _people = services
        event = await events.managed_by_slug(slug, organiser)
        return await self._form(services, event, talk=await talks.by_id(talk_id, event=event))

    @post("/{talk_id:int}/edit")
    async def update_talk(self, request: Request, slug: str, talk_id: int, services: tuple, organiser: Account) -> Template | Redirect:
        events, talks, _people = services
        event = await events.managed_by_slug(slug, organiser)
        talk = await talks.by_id(talk_id, event=event)
        values = await read_form(request, multi=("speaker_ids",))
        try:
            await talks.update_talk(event, talk, {k: values.get(k, "") for k in TALK_FORM_FIELDS})
        except ValidationFailed as exc:
            return await self._form(services, event, talk=talk, values=values, errors=exc.errors)
        flash(request, _("Changes saved."), "success")
        return Redirect(path=f"/organiser/events/{slug}")

    @post("/{talk_id:int}/delete")
    async def delete_talk(self, request: Request, slug: str, talk_id: int, services: tuple, organiser: Account) -> Redirect:
        events, talks, _people = services
        event = await events.managed_by_slug(slug, organiser)
        await talks.delete_talk(await talks.by_id(talk_id, event=event))
        flash(request, _("Talk deleted."), "success")
        return Redirect(path=f"/organiser/events/{slug}")


route_handlers = [OrganiserTalkPages]
