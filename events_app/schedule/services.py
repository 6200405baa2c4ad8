"""Talks inside an event: times within the event's days, ordered speakers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from litestar.exceptions import NotFoundException
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from events_app.calendar.services import record_deleted_talk
from events_app.events.models import Event
from events_app.events.services import parse_instant
from events_app.schedule.models import Talk, TalkSpeaker
from events_app.speakers.models import Person
from events_app.web.i18n import gettext as _
from events_app.web.validation import Errors, clean_text

TIME_FIELDS = {"starts_at", "ends_at", "room"}


class TalkService(SQLAlchemyAsyncRepositoryService[Talk]):
    class Repo(SQLAlchemyAsyncRepository[Talk]):
        model_type = Talk

    repository_type = Repo

    async def clean(self, event: Event, data: Mapping[str, Any], *, existing: Talk | None = None) -> dict[str, Any]:
        errors = Errors()
        partial = existing is not None
        cleaned: dict[str, Any] = {}

        def given(field: str) -> bool:
            return not partial or field in data

        if given("title"):
            cleaned["title"] = clean_text(errors, "title", data.get("title"), max_length=300, required=True, multiline=False)
        if given("abstract"):
            cleaned["abstract"] = clean_text(errors, "abstract", data.get("abstract"), max_length=20000)
        if given("room"):
            cleaned["room"] = clean_text(errors, "room", data.get("room"), max_length=200, multiline=False)
        for field in ("starts_at", "ends_at"):
            if given(field):
                cleaned[field] = parse_instant(errors, field, data.get(field), event.timezone)
        starts = cleaned.get("starts_at", existing.starts_at if existing else None)
        ends = cleaned.get("ends_at", existing.ends_at if existing else None)
        if starts and ends and "starts_at" not in errors and "ends_at" not in errors:
            if ends <= starts:
                errors.add("ends_at", _("The end must be after the start."))
            elif starts < event.starts_at or ends > event.ends_at:
                errors.add("starts_at", _("The talk must take place within the event's dates."))
        if "speaker_ids" in data:
            ids = data.get("speaker_ids") or []
            if isinstance(ids, str):
                ids = [part for part in ids.replace(",", " ").split() if part]
            try:
                speaker_ids = [int(i) for i in ids]
            except (TypeError, ValueError):
                errors.add("speaker_ids", _("Choose speakers from the list."))
                speaker_ids = []
            if speaker_ids:
                found = {
                    p.id: p for p in await self.repository.session.scalars(select(Person).where(Person.id.in_(speaker_ids)))
                }
                missing = [i for i in speaker_ids if i not in found]
                if missing:
                    errors.add("speaker_ids", _("Unknown speaker id: %(ids)s.", ids=", ".join(map(str, missing))))
                cleaned["speakers"] = [found[i] for i in dict.fromkeys(speaker_ids) if i in found]
            else:
                cleaned["speakers"] = []
        errors.raise_if_any()
        return cleaned

    def _set_speakers(self, talk: Talk, speakers: list[Person]) -> None:
        talk.speaker_links = [TalkSpeaker(person=p, person_id=p.id, position=i) for i, p in enumerate(speakers)]

    async def create_talk(self, event: Event, data: Mapping[str, Any]) -> Talk:
        cleaned = await self.clean(event, data)
        speakers = cleaned.pop("speakers", [])
        talk = Talk(event_id=event.id, revision=0, **cleaned)
        self._set_speakers(talk, speakers)
        self.repository.session.add(talk)
        await self.repository.session.flush()
        return await self.by_id(talk.id)

    async def update_talk(self, event: Event, talk: Talk, data: Mapping[str, Any]) -> Talk:
        cleaned = await self.clean(event, data, existing=talk)
        speakers = cleaned.pop("speakers", None)
        changed = {k for k, v in cleaned.items() if getattr(talk, k) != v}
        for key in changed:
            setattr(talk, key, cleaned[key])
        if speakers is not None and [p.id for p in speakers] != [link.person_id for link in talk.speaker_links]:
            talk.speaker_links.clear()
            await self.repository.session.flush()
            self._set_speakers(talk, speakers)
            changed.add("speakers")
        if changed:
            talk.revision += 1
        await self.repository.session.flush()
        return await self.by_id(talk.id)

    async def delete_talk(self, talk: Talk) -> None:
        await record_deleted_talk(self.repository.session, talk)
        await self.repository.session.delete(talk)
        await self.repository.session.flush()

    async def by_id(self, talk_id: int, *, event: Event | None = None) -> Talk:
        talk = await self.repository.session.scalar(
            select(Talk)
            .where(Talk.id == talk_id)
            .options(selectinload(Talk.speaker_links).joinedload(TalkSpeaker.person))
            .execution_options(populate_existing=True)
        )
        if talk is None or (event is not None and talk.event_id != event.id):
            raise NotFoundException("No such talk.")
        return talk

    async def talks_of_person(self, person_id: int) -> list[Talk]:
        rows = await self.repository.session.scalars(
            select(Talk)
            .join(TalkSpeaker, TalkSpeaker.talk_id == Talk.id)
            .where(TalkSpeaker.person_id == person_id)
            .options(selectinload(Talk.event))
            .order_by(Talk.starts_at)
        )
        return list(rows)
