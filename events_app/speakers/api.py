from __future__ import annotations

from advanced_alchemy.service import OffsetPagination
from litestar import Controller, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.speakers.schemas import PersonIn, PersonPatch, PersonPublic, person_public
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

    @get("/")
    async def list_speakers(
        self,
        people: PersonService,
        maybe_account: Account | None,
        q: SearchText = None,
        limit: int = Parameter(default=50, ge=1, le=100),
        offset: Offset = 0,
    ) -> OffsetPagination[PersonPublic]:
        rows, total = await people.search(q, limit=limit, offset=offset)
        private = maybe_account is not None
        return OffsetPagination(
            items=[person_public(p, private=private) for p in rows], limit=limit, offset=offset, total=total
        )

    @post("/", status_code=HTTP_201_CREATED)
    async def create_speaker(self, data: PersonIn, people: PersonService, account: Account) -> PersonPublic:
        return person_public(await people.create_person(provided_fields(data)), private=True)

    @get("/{person_id:int}")
    async def get_speaker(self, person_id: int, people: PersonService, maybe_account: Account | None) -> PersonPublic:
        return person_public(await people.by_id(person_id), private=maybe_account is not None)

    @patch("/{person_id:int}")
    async def update_speaker(
        self, person_id: int, data: PersonPatch, people: PersonService, account: Account
    ) -> PersonPublic:
        person = await people.update_person(await people.by_id(person_id), provided_fields(data))
        return person_public(person, private=True)
