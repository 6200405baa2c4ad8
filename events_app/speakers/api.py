from __future__ import annotations

from advanced_alchemy.service import OffsetPagination
from litestar import Controller, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.events.schemas import PersonPublic, person_public
from events_app.speakers.access import (
    emails_visible_to,
    ensure_may_edit_person,
    ensure_may_set_email,
    may_edit_person,
    public_person,
)
from events_app.speakers.schemas import PersonIn, PersonPatch
from events_app.speakers.services import PersonService
from events_app.web.auth import provide_api_account, provide_optional_api_account
from events_app.web.params import Offset, SearchText
from events_app.web.schemas import provided_fields


async def provide_person_service(db_session: AsyncSession) -> PersonService:
    return PersonService(session=db_session)


class SpeakerApi(Controller):
    path = "/speakers"
    tags = ["speakers"]
    dependencies = {
        "people": Provide(provide_person_service),
        "account": Provide(provide_api_account),
        "maybe_account": Provide(provide_optional_api_account),
    }

    @get("/", summary="List speakers (public: those on a published programme; with a token: every record, the "
                      "e-mail address of those on events you manage)", name="api_list_speakers")
    async def list_speakers(
        self,
        people: PersonService,
        maybe_account: Account | None,
        q: SearchText = None,
        limit: int = Parameter(default=50, ge=1, le=100),
        offset: Offset = 0,
    ) -> OffsetPagination[PersonPublic]:
        rows, total = await people.search(q, limit=limit, offset=offset, public_only=maybe_account is None)
        visible = await emails_visible_to(people.repository.session, maybe_account, rows)
        return OffsetPagination(
            items=[person_public(p, private=p.id in visible) for p in rows], limit=limit, offset=offset, total=total
        )

    @post("/", status_code=HTTP_201_CREATED, name="api_create_speaker")
    async def create_speaker(self, data: PersonIn, people: PersonService, account: Account) -> PersonPublic:
        return person_public(await people.create_person(provided_fields(data), creator=account), private=True)

    @get("/{person_id:int}", name="api_get_speaker")
    async def get_speaker(self, person_id: int, people: PersonService, maybe_account: Account | None) -> PersonPublic:
        session = people.repository.session
        if maybe_account is None:
            return person_public(await public_person(session, person_id))
        person = await people.by_id(person_id)
        return person_public(person, private=await may_edit_person(session, maybe_account, person))

    @patch("/{person_id:int}", summary="Change a speaker record (administrators and the organisers of the "
                                       "speaker's events; the address only if you manage all of them)", name="api_update_speaker")
    async def update_speaker(
        self, person_id: int, data: PersonPatch, people: PersonService, account: Account
    ) -> PersonPublic:
        session = people.repository.session
        person = await people.by_id(person_id)
        await ensure_may_edit_person(session, account, person)
        fields = provided_fields(data)
        if "email" in fields:
            await ensure_may_set_email(session, account, person, fields["email"] or "")
        person = await people.update_person(person, fields)
        return person_public(person, private=True)
