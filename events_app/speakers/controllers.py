"""Speaker pages: the public profile and photo, the organiser's records, invitations and the speaker board."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, Response, get, post, route
from litestar.datastructures import UploadFile
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.plugins.flash import flash
from litestar.response import File, Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.core.i18n import gettext as _
from events_app.core.validation import Conflict, ValidationFailed, parse_id
from events_app.db import READS
from events_app.events.models import Event
from events_app.events.services import EventService
from events_app.settings import Settings
from events_app.speakers.access import (
    emails_visible_to,
    ensure_may_edit_person,
    ensure_may_merge,
    ensure_may_set_email,
    is_public_person,
    may_edit_person,
    public_person,
)
from events_app.speakers.models import Invitation, InvitationStatus
from events_app.speakers.services import (
    PERSON_TEXT_LIMITS,
    InvitationService,
    PersonService,
    invitation_state,
    merge_people,
    photo_file,
    speakers_csv,
    store_photo,
)
from events_app.speakers.signals import speaker_board_shown, speaker_page_shown
from events_app.web.auth import optional_organiser, provide_organiser, requires_login
from events_app.web.file_routes import PAGE_OR_FILE, serve_file
from events_app.web.forms import form_page, is_confirmed, read_form
from events_app.web.params import Page, SearchText
from events_app.web.urls import redirect_to

PERSON_FORM_FIELDS = (*PERSON_TEXT_LIMITS, "country", "email", "homepage", "orcid")
RESPONSE_FIELDS = ("full_name", "honorific", "affiliation", "bio", "title", "abstract", "arrival_date",
                   "departure_date", "needs_visa_letter", "accommodation")


async def provide_person_service(db_session: AsyncSession) -> PersonService:
    return PersonService(session=db_session)


async def provide_invitation_service(db_session: AsyncSession) -> InvitationService:
    return InvitationService(session=db_session)


async def uploaded_bytes(form: Any, name: str) -> bytes | None:
    upload = form.get(name)
    if isinstance(upload, UploadFile) and upload.filename:
        # Only the content is used: the file's name and declared type are ignored.
        return await upload.read()
    return None


class PublicSpeakerPages(Controller):
    include_in_schema = False
    dependencies = {"people": Provide(provide_person_service)}

    # The segment is text, not an int: /speakers/{id}.ics is served on this route too (web/file_routes.py).
    @route("/speakers/{person_id:str}", http_method=PAGE_OR_FILE, name="speaker", opt=READS)
    async def speaker_page(self, request: Request, person_id: str, people: PersonService) -> Template | Response:
        if (file := await serve_file(request, person_id, people.repository.session)) is not None:
            return file
        number = parse_id(person_id)
        if number is None:
            raise NotFoundException("No such speaker.")
        return await self._speaker_page(number, people)

    async def _speaker_page(self, person_id: int, people: PersonService) -> Template:
        session = people.repository.session
        person = await public_person(session, person_id)
        context: dict[str, Any] = {"person": person, "talks": []}
        for extra in await speaker_page_shown.send(session, person_id=person_id):  # the talks, from schedule
            context.update(extra)
        public_talks = context["talks"]
        now = dt.datetime.now(dt.UTC)
        context["upcoming"] = [t for t in public_talks if t.ends_at >= now]
        context["past_talks"] = [t for t in reversed(public_talks) if t.ends_at < now]
        return Template(template_name="speakers/detail.html", context=context)

    @get("/speakers/{person_id:int}/photo", name="speaker_photo")
    async def speaker_photo(self, request: Request, person_id: int, people: PersonService,
                            settings: Settings) -> File:
        session = people.repository.session
        person = await people.by_id(person_id)
        if await is_public_person(session, person_id):
            cache = "public, max-age=86400"
        elif await may_edit_person(session, await optional_organiser(request, session), person):
            cache = "private, no-store"  # the organisers editing the record see it before it is public
        else:
            raise NotFoundException("No such speaker.")
        path = photo_file(settings, person)
        if path is None:
            raise NotFoundException("No photo.")
        return File(path=path, media_type="image/jpeg", content_disposition_type="inline",
                    headers={"Cache-Control": cache})


class OrganiserSpeakerPages(Controller):
    path = "/organiser/speakers"
    include_in_schema = False
    guards = [requires_login]
    dependencies = {"people": Provide(provide_person_service), "organiser": Provide(provide_organiser)}

    @get("/", name="speaker_list")
    async def list_people(self, people: PersonService, organiser: Account, q: SearchText = None,
                          page: Page = 1) -> Template:
        rows, total = await people.search(q, limit=50, offset=(page - 1) * 50)
        return Template(
            template_name="organiser/speaker_list.html",
            context={"people": rows, "total": total, "q": q or "", "page": page, "pages": max(1, -(-total // 50)),
                     "visible_emails": await emails_visible_to(people.repository.session, organiser, rows)},
        )

    @get("/new", name="speaker_new")
    async def new_person(self) -> Template:
        return form_page("organiser/speaker_form.html", person=None, values={})

    @post("/new", name="speaker_create")
    async def create_person(self, request: Request, people: PersonService, organiser: Account) -> Template | Redirect:
        values = await read_form(request)
        try:
            person = await people.create_person({k: values.get(k, "") for k in PERSON_FORM_FIELDS}, creator=organiser)
        except ValidationFailed as exc:
            return form_page("organiser/speaker_form.html", errors=exc.errors, person=None, values=values)
        flash(request, _("Speaker record created."), "success")
        return redirect_to("speaker_edit", person_id=person.id)

    @get("/{person_id:int}/edit", name="speaker_edit")
    async def edit_person(self, person_id: int, people: PersonService, organiser: Account) -> Template:
        person = await people.by_id(person_id)
        await ensure_may_edit_person(people.repository.session, organiser, person)
        values = {k: getattr(person, k) for k in PERSON_FORM_FIELDS}
        return form_page("organiser/speaker_form.html", person=person, values=values)

    @post("/{person_id:int}/edit", name="speaker_update")
    async def update_person(self, request: Request, person_id: int, people: PersonService,
                            organiser: Account) -> Template | Redirect:
        person = await people.by_id(person_id)
        await ensure_may_edit_person(people.repository.session, organiser, person)
        values = await read_form(request)
        try:
            await ensure_may_set_email(people.repository.session, organiser, person, values.get("email", ""))
            await people.update_person(person, {k: values.get(k, "") for k in PERSON_FORM_FIELDS})
        except ValidationFailed as exc:
            return form_page("organiser/speaker_form.html", errors=exc.errors, person=person, values=values)
        flash(request, _("Changes saved."), "success")
        return redirect_to("speaker_edit", person_id=person_id)

    @post("/{person_id:int}/photo", name="speaker_photo_upload")
    async def upload_photo(self, request: Request, person_id: int, people: PersonService, settings: Settings,
                           db_session: AsyncSession, organiser: Account) -> Template | Redirect:
        person = await people.by_id(person_id)
        await ensure_may_edit_person(db_session, organiser, person)
        form = await request.form()
        try:
            await store_photo(db_session, settings, person, await uploaded_bytes(form, "photo") or b"")
        except ValidationFailed as exc:
            values = {k: getattr(person, k) for k in PERSON_FORM_FIELDS}
            return form_page("organiser/speaker_form.html", errors=exc.errors, person=person, values=values)
        flash(request, _("Photo saved."), "success")
        return redirect_to("speaker_edit", person_id=person_id)

    async def _merge_form(self, people: PersonService, organiser: Account, *, q: str | None = None,
                          values: dict[str, Any] | None = None, errors: dict[str, str] | None = None
                          ) -> Template:
        # Every record is listed (duplicates are found by name), its address only to those who may see it.
        rows, _total = await people.search(q, limit=200)
        return form_page("speakers/merge.html", people=rows, q=q or "", values=values or {}, errors=errors,
                         visible_emails=await emails_visible_to(people.repository.session, organiser, rows))

    @get("/merge", name="speaker_merge")
    async def merge_form(self, people: PersonService, organiser: Account, q: SearchText = None) -> Template:
        return await self._merge_form(people, organiser, q=q)

    @post("/merge", name="speaker_merge_post")
    async def merge(self, request: Request, people: PersonService, db_session: AsyncSession,
                    organiser: Account) -> Template | Redirect:
        values = await read_form(request)
        try:
            keep = await people.by_id(parse_id(values.get("keep_id")) or 0)
            drop = await people.by_id(parse_id(values.get("drop_id")) or 0)
            if keep.id != drop.id:
                await ensure_may_merge(db_session, organiser, keep, drop)
                if not is_confirmed(values):
                    return Template(template_name="speakers/merge_confirm.html", context={
                        "keep": keep, "drop": drop,
                        "visible_emails": await emails_visible_to(db_session, organiser, [keep, drop])})
            kept = await merge_people(db_session, keep, drop)
        except NotFoundException:
            return await self._merge_form(people, organiser, values=values,
                                          errors={"keep_id": _("Choose two speaker records.")})
        except ValidationFailed as exc:
            return await self._merge_form(people, organiser, values=values, errors=exc.errors)
        flash(request, _("Records merged into %(name)s.", name=kept.display_name), "success")
        return redirect_to("speaker_edit", person_id=kept.id)


class SpeakerBoardPages(Controller):
    path = "/organiser/events/{slug:str}"
    include_in_schema = False
    guards = [requires_login]
    dependencies = {
        "invitations": Provide(provide_invitation_service),
        "people": Provide(provide_person_service),
        "organiser": Provide(provide_organiser),
    }

    async def _board(self, db_session: AsyncSession, event: Event, invitations: InvitationService,
                     people: PersonService, *, values: dict[str, Any] | None = None,
                     errors: dict[str, str] | None = None) -> Template:
        everyone, _total = await people.search(None, limit=1000)
        rows = await invitations.board(event)
        now = dt.datetime.now(dt.UTC)
        extra: dict[str, Any] = {"talks": []}
        for answer in await speaker_board_shown.send(db_session, event=event):  # the talks, from schedule
            extra.update(answer)
        return form_page(
            "speakers/board.html", errors=errors, event=event, people=everyone,
            board=[(inv, invitation_state(inv, now)) for inv in rows],
            values=values or {"kind": "talk"}, **extra,
        )

    @get("/speakers", name="speaker_board")
    async def board(self, slug: str, organiser: Account, invitations: InvitationService, people: PersonService,
                    db_session: AsyncSession) -> Template:
        event = await EventService(session=db_session).managed_by_slug(slug, organiser)
        return await self._board(db_session, event, invitations, people)

    @post("/speakers/invite", name="speaker_invite")
    async def invite(self, request: Request, slug: str, organiser: Account, invitations: InvitationService,
                     people: PersonService, db_session: AsyncSession, settings: Settings) -> Template | Redirect:
        event = await EventService(session=db_session).managed_by_slug(slug, organiser)
        values = await read_form(request)
        try:
            invitation, _token = await invitations.invite(event, values, settings=settings, by=organiser)
        except ValidationFailed as exc:
            return await self._board(db_session, event, invitations, people, values=values, errors=exc.errors)
        flash(request, _("Invitation sent to %(email)s.", email=invitation.email), "success")
        return redirect_to("speaker_board", slug=slug)

    @post("/invitations/{invitation_id:int}/remind", name="invitation_remind")
    async def remind(self, request: Request, slug: str, invitation_id: int, organiser: Account,
                     invitations: InvitationService, db_session: AsyncSession, settings: Settings) -> Redirect:
        event = await EventService(session=db_session).managed_by_slug(slug, organiser)
        invitation = await invitations.by_id(invitation_id, event=event)
        try:
            await invitations.remind(event, invitation, settings=settings)
        except Conflict as exc:
            flash(request, exc.message, "error")
        else:
            flash(request, _("Reminder sent to %(email)s.", email=invitation.email), "success")
        return redirect_to("speaker_board", slug=slug)

    @get("/speakers.csv", name="speaker_csv")
    async def speaker_csv(self, slug: str, organiser: Account, db_session: AsyncSession) -> Response:
        event = await EventService(session=db_session).managed_by_slug(slug, organiser)
        return Response(
            content=await speakers_csv(db_session, event),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{event.slug}-speakers.csv"',
                     "Cache-Control": "private, no-store"},
        )


class InvitationPages(Controller):
    """The speaker's side: reached only through the private link in the e-mail."""

    path = "/invitations"
    include_in_schema = False
    dependencies = {"invitations": Provide(provide_invitation_service)}

    async def _page(self, db_session: AsyncSession, invitation: Invitation, *, values: dict[str, Any] | None = None,
                    errors: dict[str, str] | None = None, status: int | None = None) -> Template:
        event = await EventService(session=db_session).load(invitation.event_id)
        person = invitation.person
        if values is None:
            values = {
                "full_name": person.full_name, "honorific": person.honorific, "affiliation": person.affiliation,
                "bio": person.bio, "title": invitation.title, "abstract": invitation.abstract,
                "arrival_date": invitation.arrival_date.isoformat() if invitation.arrival_date else "",
                "departure_date": invitation.departure_date.isoformat() if invitation.departure_date else "",
                "needs_visa_letter": "1" if invitation.needs_visa_letter else "",
                "accommodation": invitation.accommodation,
            }
        return form_page("speakers/invitation.html", errors=errors, status=status, invitation=invitation, event=event,
                         person=person, values=values, declined=invitation.status == InvitationStatus.DECLINED.value)

    @get("/{token:str}", name="invitation")
    async def show(self, token: str, invitations: InvitationService, db_session: AsyncSession) -> Template:
        return await self._page(db_session, await invitations.by_token(token))

    @post("/{token:str}", name="invitation_answer")
    async def answer(self, request: Request, token: str, invitations: InvitationService, db_session: AsyncSession,
                     settings: Settings) -> Template | Redirect:
        invitation = await invitations.by_token(token)
        form = await request.form()
        values = {k: v for k, v in form.items() if k in RESPONSE_FIELDS and isinstance(v, str)}
        values.setdefault("needs_visa_letter", "")
        chosen = form.get("action")
        action = chosen if isinstance(chosen, str) else ""
        try:
            photo = await uploaded_bytes(form, "photo")
            await invitations.respond(invitation, action, values, settings=settings, photo=photo)
        except ValidationFailed as exc:
            return await self._page(db_session, invitation, values=values, errors=exc.errors)
        except Conflict as exc:
            return await self._page(db_session, invitation, values=values, errors={exc.field: exc.message}, status=409)
        messages = {
            "accept": _("Thank you for accepting. We look forward to welcoming you."),
            "decline": _("Thank you for letting us know. Your answer has been recorded."),
            "save": _("Your details are saved."),
        }
        flash(request, messages[action], "success")
        return redirect_to("invitation", token=token)


route_handlers = [PublicSpeakerPages, OrganiserSpeakerPages, SpeakerBoardPages, InvitationPages]

