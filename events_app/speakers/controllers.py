"""Speaker pages: the public profile and the organiser's records."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.events.models import EventStatus
from events_app.schedule.services import TalkService
from events_app.speakers.services import PERSON_TEXT_LIMITS, PersonService
from events_app.web.auth import provide_organiser, requires_login
from events_app.web.forms import form_page, read_form
from events_app.web.i18n import gettext as _
from events_app.web.validation import ValidationFailed

PERSON_FORM_FIELDS = (*PERSON_TEXT_LIMITS, "country", "email", "homepage", "orcid")


async def provide_person_service(db_session: AsyncSession) -> PersonService:
    return PersonService(session=db_session)


async def provide_talk_service(db_session: AsyncSession) -> TalkService:
    return TalkService(session=db_session)


class PublicSpeakerPages(Controller):
    include_in_schema = False
    dependencies = {"people": Provide(provide_person_service), "talks": Provide(provide_talk_service)}

    @get("/speakers/{person_id:int}", name="speaker")
    async def speaker_page(self, person_id: int, people: PersonService, talks: TalkService) -> Template:
        person = await people.by_id(person_id)
        public_talks = [t for t in await talks.talks_of_person(person_id) if t.event.status != EventStatus.DRAFT]
        return Template(template_name="speakers/detail.html", context={"person": person, "talks": public_talks})


class OrganiserSpeakerPages(Controller):
    path = "/organiser/speakers"
    include_in_schema = False
    guards = [requires_login]
    dependencies = {"people": Provide(provide_person_service), "organiser": Provide(provide_organiser)}

    @get("/", name="speaker_list")
    async def list_people(self, people: PersonService, q: str | None = None, page: int = Parameter(default=1, ge=1)) -> Template:
        rows, total = await people.search(q, limit=50, offset=(page - 1) * 50)
        return Template(
            template_name="organiser/speaker_list.html",
            context={"people": rows, "total": total, "q": q or "", "page": page, "pages": max(1, -(-total // 50))},
        )

    @get("/new", name="speaker_new")
    async def new_person(self) -> Template:
        return form_page("organiser/speaker_form.html", person=None, values={})

    @post("/new")
    async def create_person(self, request: Request, people: PersonService) -> Template | Redirect:
        values = await read_form(request)
        try:
            person = await people.create_person({k: values.get(k, "") for k in PERSON_FORM_FIELDS})
        except ValidationFailed as exc:
            return form_page("organiser/speaker_form.html", errors=exc.errors, person=None, values=values)
        flash(request, _("Speaker record created."), "success")
        return Redirect(path=f"/organiser/speakers/{person.id}/edit")

    @get("/{person_id:int}/edit", name="speaker_edit")
    async def edit_person(self, person_id: int, people: PersonService) -> Template:
        person = await people.by_id(person_id)
        values = {k: getattr(person, k) for k in PERSON_FORM_FIELDS}
        return form_page("organiser/speaker_form.html", person=person, values=values)

    @post("/{person_id:int}/edit")
    async def update_person(self, request: Request, person_id: int, people: PersonService) -> Template | Redirect:
        person = await people.by_id(person_id)
        values = await read_form(request)
        try:
            await people.update_person(person, {k: values.get(k, "") for k in PERSON_FORM_FIELDS})
        except ValidationFailed as exc:
            return form_page("organiser/speaker_form.html", errors=exc.errors, person=person, values=values)
        flash(request, _("Changes saved."), "success")
        return Redirect(path=f"/organiser/speakers/{person_id}/edit")


route_handlers = [PublicSpeakerPages, OrganiserSpeakerPages]
