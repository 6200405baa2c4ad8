"""Speaker records: one Person per human, validated the same way from forms and the API."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from litestar.exceptions import NotFoundException
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.core.csv_cells import csv_text
from events_app.core.i18n import current_locale
from events_app.core.i18n import gettext as _
from events_app.core.validation import (
    Conflict,
    Errors,
    ValidationFailed,
    clean_country,
    clean_email,
    clean_id,
    clean_orcid,
    clean_text,
    clean_url,
    country_names,
)
from events_app.events.models import Event
from events_app.events.services import EARLIEST_YEAR, LATEST_YEAR
from events_app.schedule.models import Talk, TalkSpeaker, session_chair, timetable_order
from events_app.settings import Settings
from events_app.speakers.access import may_change_email, public_people
from events_app.speakers.models import Invitation, InvitationStatus, Person
from events_app.speakers.signals import invitation_answered, person_changed
from events_app.web.urls import absolute_url

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

    async def create_person(self, data: Mapping[str, Any], *, creator: Account | None = None) -> Person:
        person = Person(**self.clean(data), created_by_id=creator.id if creator else None)
        self.repository.session.add(person)
        await self.repository.session.flush()
        return person

    async def person_for_email(self, data: Mapping[str, Any]) -> Person:
        """The existing record with this e-mail address (compared without case), or a new one from ``data``:
        someone who submits to a call, or is named as a co-author, is the same person across events. An existing
        record is never changed by what a stranger typed; only an empty affiliation or country is filled in."""
        cleaned = self.clean(data)
        email = cleaned.get("email") or ""
        person = await self.repository.session.scalar(
            select(Person).where(func.lower(Person.email) == email.lower()).order_by(Person.id).limit(1)
        ) if email else None
        if person is None:
            return await self.create_person(cleaned)
        for key in ("affiliation", "country"):
            if cleaned.get(key) and not getattr(person, key):
                setattr(person, key, cleaned[key])
        await self.repository.session.flush()
        return person

    async def update_person(self, person: Person, data: Mapping[str, Any]) -> Person:
        changed = False
        for key, value in self.clean(data, partial=True).items():
            if getattr(person, key) != value:
                setattr(person, key, value)
                changed = True
        await self.repository.session.flush()
        if changed:
            # Names and affiliations are printed in every programme this person appears in.
            await person_changed.send(self.repository.session, person_id=person.id, printed=True)
        return person

    async def by_id(self, person_id: int) -> Person:
        person = await self.repository.session.get(Person, person_id)
        if person is None:
            raise NotFoundException("No such speaker.")
        return person

    async def search(self, q: str | None, *, limit: int = 50, offset: int = 0,
                     public_only: bool = False) -> tuple[list[Person], int]:
        statement = select(Person)
        if public_only:
            statement = statement.where(public_people())
        if q and q.strip():
            pattern = f"%{q.strip().lower()}%"
            statement = statement.where(
                or_(func.lower(Person.full_name).like(pattern), func.lower(Person.affiliation).like(pattern))
            )
        session = self.repository.session
        total = await session.scalar(select(func.count()).select_from(statement.subquery()))
        rows = await session.scalars(statement.order_by(Person.full_name, Person.id).limit(limit).offset(offset))
        return list(rows), int(total or 0)


# ---- photos -----------------------------------------------------------------------------------------------
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTO_PIXELS = 40_000_000
PHOTO_FORMATS = {"JPEG", "PNG", "WEBP"}
PHOTO_BOX = (600, 600)


def photo_file(settings: Settings, person: Person) -> Path | None:
    if not person.photo_path:
        return None
    root = settings.media_dir.resolve()
    path = (root / person.photo_path).resolve()
    # photo_path is always a name we generated; the check keeps it that way even if a row is tampered with.
    if root not in path.parents or not path.is_file():
        return None
    return path


def resized_photo(data: bytes) -> bytes:
    """Checks an upload by its content (never its name or declared type) and returns a resized JPEG."""
    errors = Errors()
    if not data:
        errors.add("photo", _("Choose a photo to upload."))
    elif len(data) > MAX_PHOTO_BYTES:
        errors.add("photo", _("The photo may be at most 5 MB."))
    errors.raise_if_any()
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            width, height = probe.size
            probe.verify()
        if kind not in PHOTO_FORMATS:
            raise ValueError(kind)
        if width * height > MAX_PHOTO_PIXELS:
            errors.add("photo", _("The photo has too many pixels."))
            errors.raise_if_any()
        with Image.open(io.BytesIO(data)) as opened:
            image: Image.Image = ImageOps.exif_transpose(opened)
            image.thumbnail(PHOTO_BOX)
            if image.mode not in ("RGB", "L"):
                background = Image.new("RGB", image.size, "white")
                background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
                image = background
            out = io.BytesIO()
            image.save(out, format="JPEG", quality=85, optimize=True)
            return out.getvalue()
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, ValueError, OSError, Image.DecompressionBombError):
        errors.add("photo", _("Upload a JPEG, PNG or WebP image."))
        errors.raise_if_any()
        raise


async def store_photo(session: AsyncSession, settings: Settings, person: Person, data: bytes) -> Person:
    resized = resized_photo(data)
    folder = settings.media_dir / "speakers"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{person.id}-{secrets.token_hex(8)}.jpg"
    (folder / name).write_bytes(resized)
    old = photo_file(settings, person)
    person.photo_path = f"speakers/{name}"
    await session.flush()
    if old is not None:
        old.unlink(missing_ok=True)
    await person_changed.send(session, person_id=person.id, printed=False)
    return person


# ---- merging duplicates ------------------------------------------------------------------------------------
MERGE_FILL_FIELDS = ("honorific", "affiliation", "country", "email", "bio", "homepage", "orcid", "photo_path")


async def merge_people(session: AsyncSession, keep: Person, drop: Person) -> Person:
    """Folds `drop` into `keep`: talks, chairs and invitations move; empty fields of `keep` are filled from `drop`."""
    if keep.id == drop.id:
        raise ValidationFailed({"drop_id": _("Choose two different records.")})
    # A talk both records speak at keeps one link (keep's); the others move over.
    both = select(TalkSpeaker.talk_id).where(TalkSpeaker.person_id == keep.id)
    await session.execute(
        delete(TalkSpeaker).where(TalkSpeaker.person_id == drop.id, TalkSpeaker.talk_id.in_(both))
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(TalkSpeaker).where(TalkSpeaker.person_id == drop.id).values(person_id=keep.id)
        .execution_options(synchronize_session=False)
    )
    chaired = select(session_chair.c.session_id).where(session_chair.c.person_id == keep.id)
    await session.execute(
        delete(session_chair).where(session_chair.c.person_id == drop.id, session_chair.c.session_id.in_(chaired))
    )
    await session.execute(update(session_chair).where(session_chair.c.person_id == drop.id).values(person_id=keep.id))
    await session.execute(
        update(Invitation).where(Invitation.person_id == drop.id).values(person_id=keep.id)
        .execution_options(synchronize_session=False)
    )
    for field in MERGE_FILL_FIELDS:
        if not getattr(keep, field) and getattr(drop, field):
            setattr(keep, field, getattr(drop, field))
    if drop.bio and keep.bio and drop.bio.strip() not in keep.bio:
        keep.bio = f"{keep.bio}\n\n{drop.bio}"
    drop.photo_path = ""
    await session.flush()
    keep_id = keep.id
    await session.delete(drop)
    await session.flush()
    # keep now has drop's talks and chairs: every programme that showed either is bumped.
    await person_changed.send(session, person_id=keep_id, printed=True)
    # Links were moved with bulk statements: reload so no stale speaker list survives in this session.
    session.expire_all()
    return await session.get_one(Person, keep_id)


# ---- invitations ------------------------------------------------------------------------------------------
# An invitation nobody answered for this long (since the invitation or the last reminder) shows as "no answer".
NO_ANSWER_AFTER = dt.timedelta(days=14)
INVITATION_KINDS = ("talk", "lecture")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invitation_state(invitation: Invitation, now: dt.datetime | None = None) -> str:
    """invited, accepted, declined, or no_answer (invited, and silent since the last contact)."""
    if invitation.status != InvitationStatus.INVITED.value:
        return invitation.status
    now = now or dt.datetime.now(dt.UTC)
    last_contact = invitation.last_reminder_at or invitation.invited_at
    return "no_answer" if now - last_contact > NO_ANSWER_AFTER else "invited"


def _clean_date(errors: Errors, field: str, value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value).strip())
    except ValueError:
        errors.add(field, _("Enter a date, e.g. 2030-03-04."))
        return None
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        errors.add(field, _("Enter a date between %(low)s and %(high)s.", low=EARLIEST_YEAR, high=LATEST_YEAR))
        return None
    return day


class InvitationService(SQLAlchemyAsyncRepositoryService[Invitation]):
    class Repo(SQLAlchemyAsyncRepository[Invitation]):
        model_type = Invitation

    repository_type = Repo

    async def invite(
        self, event: Event, data: Mapping[str, Any], *, settings: Settings, by: Account | None
    ) -> tuple[Invitation, str]:
        """Creates (or renews) the invitation and queues the e-mail with its private link; returns the token.

        `by` is the inviting organiser (None for the system: CLI, tests). The link goes to the address typed
        here, else to the one this invitation had, else to the person's. A typed address also becomes the
        person's own only if `by` may change it (see speakers/access.py); otherwise it serves this invitation
        alone."""
        session = self.repository.session
        errors = Errors()
        people = PersonService(session=session)
        person: Person | None = None
        if data.get("person_id") not in (None, ""):
            person_id = clean_id(errors, "person_id", data["person_id"], _("Choose a speaker from the list."))
            person = await session.get(Person, person_id) if person_id else None
            if person is None:
                errors.add("person_id", _("Choose a speaker from the list."))
        email = clean_email(errors, "email", data.get("email"))
        kind = data.get("kind") or "talk"
        if kind not in INVITATION_KINDS:
            errors.add("kind", _("Choose talk or lecture."))
        title = clean_text(errors, "title", data.get("title"), max_length=300, multiline=False)
        talk = None
        if data.get("talk_id") not in (None, ""):
            talk_id = clean_id(errors, "talk_id", data["talk_id"], _("Choose a talk of this event."))
            talk = await session.get(Talk, talk_id) if talk_id else None
            if talk is None or talk.event_id != event.id:
                errors.add("talk_id", _("Choose a talk of this event."))
        if person is None and "person_id" not in errors and not (data.get("full_name") or "").strip():
            errors.add("full_name", _("Choose a speaker or enter a new speaker's name."))
        invitation = await session.scalar(
            select(Invitation).where(Invitation.event_id == event.id, Invitation.person_id == person.id)
        ) if person is not None else None
        if person is not None and not (email or (invitation and invitation.email) or person.email):
            errors.add("email", _("This speaker has no e-mail address; enter one."))
        if person is None and not email and "email" not in errors:
            errors.add("email", _("This field is required."))
        errors.raise_if_any()
        if person is None:
            person = await people.create_person({"full_name": data.get("full_name"), "email": email,
                                                 "affiliation": data.get("affiliation", "")}, creator=by)
        elif email and email != person.email and (by is None or await may_change_email(session, by, person)):
            person.email = email
        token = secrets.token_urlsafe(32)
        now = dt.datetime.now(dt.UTC)
        if invitation is None:
            invitation = Invitation(event_id=event.id, person_id=person.id, person=person, accommodation="",
                                    abstract="", needs_visa_letter=False, email="")
            session.add(invitation)
        invitation.email = email or invitation.email or person.email
        invitation.kind = kind
        invitation.status = InvitationStatus.INVITED.value
        invitation.token_hash = hash_token(token)
        invitation.title = title or (talk.title if talk else "")
        invitation.abstract = talk.abstract if talk else invitation.abstract or ""
        invitation.talk_id = talk.id if talk else None
        invitation.invited_at = now
        invitation.responded_at = None
        invitation.last_reminder_at = None
        await session.flush()
        await self._send(event, invitation, token, settings, "speaker_invitation")
        return invitation, token

    async def remind(self, event: Event, invitation: Invitation, *, settings: Settings) -> str:
        """Sends the speaker a fresh link (only the hash is stored, so the old link is replaced)."""
        if invitation.status != InvitationStatus.INVITED.value:
            raise Conflict("status", _("Only unanswered invitations can be reminded."))
        token = secrets.token_urlsafe(32)
        invitation.token_hash = hash_token(token)
        invitation.last_reminder_at = dt.datetime.now(dt.UTC)
        await self.repository.session.flush()
        await self._send(event, invitation, token, settings, "speaker_reminder")
        return token

    async def _send(self, event: Event, invitation: Invitation, token: str, settings: Settings,
                    template: str) -> None:
        from events_app.notify.services import enqueue_templated_email

        # To the invitation's own address, never the shared record's: see Invitation.email.
        await enqueue_templated_email(
            self.repository.session, template, to=invitation.email, settings=settings, event_id=event.id,
            context={"event": event, "invitation": invitation, "person": invitation.person,
                     "link": absolute_url("invitation", token=token, base_url=settings.base_url)},
        )

    async def by_token(self, token: str) -> Invitation:
        if not token or len(token) > 200:
            raise NotFoundException("No such invitation.")
        invitation = await self.repository.session.scalar(
            select(Invitation).where(Invitation.token_hash == hash_token(token))
        )
        if invitation is None:
            raise NotFoundException("No such invitation.")
        return invitation

    async def by_id(self, invitation_id: int, *, event: Event) -> Invitation:
        invitation = await self.repository.session.get(Invitation, invitation_id)
        if invitation is None or invitation.event_id != event.id:
            raise NotFoundException("No such invitation.")
        return invitation

    async def board(self, event: Event) -> list[Invitation]:
        rows = await self.repository.session.scalars(
            select(Invitation).where(Invitation.event_id == event.id).order_by(Invitation.invited_at, Invitation.id)
        )
        return list(rows)

    async def respond(
        self, invitation: Invitation, action: str, data: Mapping[str, Any], *, settings: Settings,
        photo: bytes | None = None,
    ) -> Invitation:
        """The speaker's answer through their link: accept, decline, or just save corrected details."""
        session = self.repository.session
        if action not in ("accept", "decline", "save"):
            raise ValidationFailed({"action": _("Choose accept or decline.")})
        if invitation.status == InvitationStatus.DECLINED.value and action != "decline":
            raise Conflict("action", _("This invitation was declined. Please write to the organisers if you can come after all."))
        errors = Errors()
        person = invitation.person
        person_data = {k: data.get(k) for k in ("full_name", "honorific", "affiliation", "bio") if k in data}
        title = clean_text(errors, "title", data.get("title", invitation.title), max_length=300, multiline=False)
        abstract = clean_text(errors, "abstract", data.get("abstract", invitation.abstract), max_length=20000)
        arrival = _clean_date(errors, "arrival_date", data.get("arrival_date"))
        departure = _clean_date(errors, "departure_date", data.get("departure_date"))
        if arrival and departure and departure < arrival:
            errors.add("departure_date", _("Departure must not be before arrival."))
        accommodation = clean_text(errors, "accommodation", data.get("accommodation"), max_length=2000)
        if action == "accept" and not title:
            errors.add("title", _("Please give a title for your talk."))
        try:
            cleaned_person = PersonService(session=session).clean(person_data, partial=True)
        except ValidationFailed as exc:
            for key, message in exc.errors.items():
                errors.add(key, message)
            cleaned_person = {}
        errors.raise_if_any()
        if photo:
            await store_photo(session, settings, person, photo)
        await PersonService(session=session).update_person(person, cleaned_person)
        invitation.title, invitation.abstract = title, abstract
        invitation.arrival_date, invitation.departure_date = arrival, departure
        invitation.needs_visa_letter = str(data.get("needs_visa_letter", "")).lower() in ("1", "on", "true", "yes")
        invitation.accommodation = accommodation
        previous_status = invitation.status
        if action == "accept":
            invitation.status = InvitationStatus.ACCEPTED.value
            invitation.responded_at = dt.datetime.now(dt.UTC)
        elif action == "decline":
            invitation.status = InvitationStatus.DECLINED.value
            invitation.responded_at = dt.datetime.now(dt.UTC)
        await session.flush()
        # The programme links an accepted speaker to the invited talk (and takes their title and abstract).
        await invitation_answered.send(session, invitation=invitation, person=person, title=title, abstract=abstract,
                                       previous_status=previous_status)
        await session.flush()
        if action == "accept" and previous_status != InvitationStatus.ACCEPTED.value:
            await self._tell_managers_of_acceptance(invitation, person, settings=settings)
        return invitation

    async def _tell_managers_of_acceptance(self, invitation: Invitation, person: Person, *, settings: Settings) -> None:
        """Each manager of the event is mailed once per acceptance (answering again mails nobody)."""
        from events_app.notify.services import enqueue_templated_email

        session = self.repository.session
        event = await session.get(Event, invitation.event_id)  # its managers come with it (selectin)
        if event is None:
            return
        link = absolute_url("timetable", slug=event.slug, base_url=settings.base_url)
        for manager in event.managers:
            await enqueue_templated_email(
                session, "speaker_accepted", to=manager.email, settings=settings, event_id=event.id,
                context={"event": event, "invitation": invitation, "person": person, "manager": manager,
                         "link": link},
            )


SPEAKER_CSV_COLUMNS = (
    "name", "honorific", "affiliation", "country", "email", "status", "kind", "title", "talks",
    "arrival_date", "departure_date", "needs_visa_letter", "accommodation", "orcid", "homepage",
    # For people, in the reader's language, after the stable columns that imports match on.
    "country_name", "status_in_words",
)


async def speakers_csv(session: AsyncSession, event: Event) -> bytes:
    """Everyone speaking at or invited to the event, for organisers (cells made formula-safe by core/csv_cells.py)."""
    invitations = {
        inv.person_id: inv for inv in await session.scalars(select(Invitation).where(Invitation.event_id == event.id))
    }
    talk_rows = await session.execute(
        select(TalkSpeaker.person_id, Talk.title)
        .join(Talk, Talk.id == TalkSpeaker.talk_id)
        .where(Talk.event_id == event.id)
        .order_by(*timetable_order())
    )
    talks: dict[int, list[str]] = {}
    for person_id, title in talk_rows:
        talks.setdefault(person_id, []).append(title)
    ids = set(invitations) | set(talks)
    people = list(await session.scalars(select(Person).where(Person.id.in_(ids)).order_by(Person.full_name))) if ids else []
    return csv_text(SPEAKER_CSV_COLUMNS, (_speaker_row(person, invitations.get(person.id), talks.get(person.id, []))
                                          for person in people)).encode("utf-8")


def _speaker_row(person: Person, inv: Invitation | None, talk_titles: list[str]) -> list[Any]:
    return [
        # Everyone here takes part in this event, whose managers may see their addresses; for an
        # invitation, the address its links go to.
        person.full_name, person.honorific, person.affiliation, person.country,
        (inv.email or person.email) if inv else person.email,
        invitation_state(inv) if inv else "speaker", inv.kind if inv else "", inv.title if inv else "",
        " | ".join(talk_titles),
        inv.arrival_date.isoformat() if inv and inv.arrival_date else "",
        inv.departure_date.isoformat() if inv and inv.departure_date else "",
        ("yes" if inv.needs_visa_letter else "no") if inv else "",
        inv.accommodation if inv else "", person.orcid, person.homepage,
        country_names(current_locale.get()).get(person.country or "", ""),
        invitation_state_label(invitation_state(inv)) if inv else _("Speaker"),
    ]


def invitation_state_label(state: str) -> str:
    labels = {"invited": _("Invited"), "accepted": _("Accepted"), "declined": _("Declined"),
              "no_answer": _("No answer")}
    return labels.get(state, state)
