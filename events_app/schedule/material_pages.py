"""Materials: the organisers' page of an event, a speaker's page through their invitation link, the files."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.plugins.flash import flash
from litestar.response import File, Redirect, Template
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.core.i18n import gettext as _
from events_app.core.validation import ValidationFailed
from events_app.events.models import Event
from events_app.events.services import EventService
from events_app.schedule import materials
from events_app.schedule.models import Material, Talk, TalkSpeaker, timetable_order
from events_app.settings import Settings
from events_app.speakers.services import InvitationService
from events_app.web.auth import provide_organiser, requires_login
from events_app.web.forms import form_page
from events_app.web.urls import redirect_to

FIELDS = ("kind", "title", "url", "talk_id")
# The upload itself plus the form around it.
MAX_BODY = materials.MAX_MATERIAL_BYTES + 1024 * 1024


async def material_form(request: Request) -> tuple[dict[str, str], bytes | None]:
    form = await request.form()
    values = {k: v for k, v in form.items() if k in FIELDS and isinstance(v, str)}
    upload = form.get("file")
    # Only the content counts: the file's name and declared type are ignored.
    data = await upload.read() if isinstance(upload, UploadFile) and upload.filename else None
    return values, data


class OrganiserMaterialPages(Controller):
    path = "/organiser/events/{slug:str}/materials"
    include_in_schema = False
    guards = [requires_login]
    dependencies = {"organiser": Provide(provide_organiser)}

    async def _page(self, db_session: AsyncSession, event: Event, organiser: Account, *,
                    values: dict[str, Any] | None = None, errors: dict[str, str] | None = None) -> Template:
        talks = list(await db_session.scalars(select(Talk).where(Talk.event_id == event.id).order_by(*timetable_order())))
        return form_page("schedule/materials.html", errors=errors, event=event, organiser=organiser,
                         values=values or {"kind": "slides"}, talks=talks, kinds=materials.kind_labels(),
                         materials=await materials.materials_of_event(db_session, event.id))

    @get("/", name="materials")
    async def page(self, slug: str, organiser: Account, db_session: AsyncSession) -> Template:
        event = await EventService(session=db_session).managed_by_slug(slug, organiser)
        return await self._page(db_session, event, organiser)

    @post("/", request_max_body_size=MAX_BODY, name="material_add")
    async def add(self, request: Request, slug: str, organiser: Account, db_session: AsyncSession,
                  settings: Settings) -> Template | Redirect:
        event = await EventService(session=db_session).managed_by_slug(slug, organiser)
        values, upload = await material_form(request)
        try:
            await materials.add_material(db_session, settings, event, values, upload=upload,
                                         added_by=f"organiser:{organiser.id}")
        except ValidationFailed as exc:
            return await self._page(db_session, event, organiser, values=values, errors=exc.errors)
        flash(request, _("Material added."), "success")
        return redirect_to("materials", slug=slug)

    @post("/{material_id:int}/delete", name="material_delete")
    async def delete(self, request: Request, slug: str, material_id: int, organiser: Account,
                     db_session: AsyncSession, settings: Settings) -> Redirect:
        event = await EventService(session=db_session).managed_by_slug(slug, organiser)
        await materials.delete_material(db_session, settings, event, material_id)
        flash(request, _("Material removed."), "success")
        return redirect_to("materials", slug=slug)


class SpeakerMaterialPages(Controller):
    """Through the speaker's invitation link: materials of their own talks at that event."""

    path = "/invitations/{token:str}/materials"
    include_in_schema = False

    async def _context(self, db_session: AsyncSession, token: str) -> tuple[Any, Event, list[Talk]]:
        invitation = await InvitationService(session=db_session).by_token(token)
        event = await db_session.get(Event, invitation.event_id)
        if event is None:
            raise NotFoundException("No such invitation.")
        own = select(TalkSpeaker.talk_id).where(TalkSpeaker.person_id == invitation.person_id)
        talks = list(await db_session.scalars(select(Talk).where(
            Talk.event_id == event.id, or_(Talk.id.in_(own), Talk.id == invitation.talk_id)).order_by(*timetable_order())))
        return invitation, event, talks

    async def _page(self, db_session: AsyncSession, token: str, *, values: dict[str, Any] | None = None,
                    errors: dict[str, str] | None = None) -> Template:
        invitation, event, talks = await self._context(db_session, token)
        talk_ids = {t.id for t in talks}
        mine = [m for m in await materials.materials_of_event(db_session, event.id) if m.material.talk_id in talk_ids]
        return form_page("schedule/speaker_materials.html", errors=errors, event=event, token=token, talks=talks,
                         values=values or {"kind": "slides"}, kinds=materials.kind_labels(), materials=mine)

    @get("/", name="speaker_materials")
    async def page(self, token: str, db_session: AsyncSession) -> Template:
        return await self._page(db_session, token)

    @post("/", request_max_body_size=MAX_BODY, name="speaker_material_add")
    async def add(self, request: Request, token: str, db_session: AsyncSession, settings: Settings
                  ) -> Template | Redirect:
        invitation, event, talks = await self._context(db_session, token)
        values, upload = await material_form(request)
        try:
            await materials.add_material(db_session, settings, event, values, upload=upload,
                                         added_by=f"speaker:{invitation.person_id}", talk_ids={t.id for t in talks})
        except ValidationFailed as exc:
            return await self._page(db_session, token, values=values, errors=exc.errors)
        flash(request, _("Material added."), "success")
        return redirect_to("speaker_materials", token=token)


@get("/materials/{material_id:int}/{name:str}", name="material_file", include_in_schema=False)
async def material_file(material_id: int, name: str, db_session: AsyncSession, settings: Settings) -> File:
    """An uploaded file, once its event is public; PDFs open in the browser, other documents download."""
    material = await db_session.get(Material, material_id)
    event = await db_session.get(Event, material.event_id) if material else None
    path = materials.file_of(settings, material) if material else None
    if material is None or event is None or not event.is_public or path is None or path.name != name:
        raise NotFoundException("No such file.")
    inline = material.content_type == materials.PDF[0]
    return File(path=path, media_type=material.content_type, filename=path.name,
                content_disposition_type="inline" if inline else "attachment",
                headers={"Cache-Control": "public, max-age=3600"})


route_handlers: list[Any] = [OrganiserMaterialPages, SpeakerMaterialPages, material_file]
