"""Speaker records: one Person per human, validated the same way from forms and the API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from litestar.exceptions import NotFoundException
from sqlalchemy import func, or_, select

from events_app.speakers.models import Person
from events_app.web.validation import Errors, clean_country, clean_email, clean_orcid, clean_text, clean_url

PERSON_TEXT_LIMITS = {"full_name": (200, False), "honorific": (50, False), "affiliation": (300, False), "bio": (5000, True)}


class PersonService(SQLAlchemyAsyncRepositoryService[Person]):
    class Repo(SQLAlchemyAsyncRepository[Person]):
        model_type = Person

    repository_type = Repo

    def clean(self, data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
        errors = Errors()
        cleaned: dict[str, Any] = {}

        def given(field: str) -> bool:
            return not partial or field in data

        for field, (limit, multiline) in PERSON_TEXT_LIMITS.items():
            if given(field):
                cleaned[field] = clean_text(
                    errors, field, data.get(field), max_length=limit, required=field == "full_name", multiline=multiline
                )
        if given("country"):
            cleaned["country"] = clean_country(errors, "country", data.get("country"))
        if given("email"):
            cleaned["email"] = clean_email(errors, "email", data.get("email"))
        if given("homepage"):
            cleaned["homepage"] = clean_url(errors, "homepage", data.get("homepage"))
        if given("orcid"):
            cleaned["orcid"] = clean_orcid(errors, "orcid", data.get("orcid"))
        errors.raise_if_any()
        return cleaned

    async def create_person(self, data: Mapping[str, Any]) -> Person:
        person = Person(**self.clean(data))
        self.repository.session.add(person)
        await self.repository.session.flush()
        return person

    async def update_person(self, person: Person, data: Mapping[str, Any]) -> Person:
        for key, value in self.clean(data, partial=True).items():
            setattr(person, key, value)
        await self.repository.session.flush()
        return person

    async def by_id(self, person_id: int) -> Person:
        person = await self.repository.session.get(Person, person_id)
        if person is None:
            raise NotFoundException("No such speaker.")
        return person

    async def search(self, q: str | None, *, limit: int = 50, offset: int = 0) -> tuple[list[Person], int]:
        statement = select(Person)
        if q and q.strip():
            pattern = f"%{q.strip().lower()}%"
            statement = statement.where(
                or_(func.lower(Person.full_name).like(pattern), func.lower(Person.affiliation).like(pattern))
            )
        session = self.repository.session
        total = await session.scalar(select(func.count()).select_from(statement.subquery()))
        rows = await session.scalars(statement.order_by(Person.full_name, Person.id).limit(limit).offset(offset))
        return list(rows), int(total or 0)
