"""The rules of documents, called alike by the organisers' pages, the person's pages, the API and the worker.

- A letter request comes from a registration (when the event offers it) or a speaker invitation; a manager
  approves it (a letter is issued and mailed through the outbox, its PDF built by the worker) or rejects it
  with a reason. Two managers deciding at once: a conditional UPDATE lets exactly one of them decide.
- Letters and certificates carry a reference; /verify/{reference} shows the holder, the event, the issue date
  and whether the document was revoked, and nothing more.
- PDFs are built when asked for, from the stored data (never stored: a letter holds the passport number,
  which is kept only encrypted), and not at all once the letter data is purged after the event.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from functools import partial
from typing import Any

import anyio.to_thread
from litestar.exceptions import NotFoundException
from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.core.csv_cells import csv_text
from events_app.core.i18n import current_locale, speaking
from events_app.core.i18n import gettext as _
from events_app.core.timefmt import format_day
from events_app.core.validation import Conflict, Errors, clean_country, clean_text, country_names
from events_app.db import rows_affected
from events_app.documents.models import (
    DocumentKind,
    DocumentSettings,
    IssuedDocument,
    LetterRequest,
    LetterStatus,
)
from events_app.documents.rendering import MissingFontError, fill_placeholders, qr_svg, renderer
from events_app.events.models import Event
from events_app.notify.services import Attachment, build_message, composer, defer_email, render_email
from events_app.registration.mail import checkin_qr, mail_reference
from events_app.registration.models import Registration, RegistrationStatus
from events_app.settings import Settings
from events_app.speakers.models import Invitation, InvitationStatus, Person
from events_app.web.urls import absolute_url

LANGUAGES = ("en", "zh")
# Crockford's base32 without I, L, O, U: nothing to misread when a consulate types it in.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")
PASSPORT_RE = re.compile(r"^[A-Z0-9]{5,20}$")
ACTIVE = (RegistrationStatus.CONFIRMED, RegistrationStatus.PENDING, RegistrationStatus.WAITLISTED,
          RegistrationStatus.OFFERED)
MAIL_COMPOSER = "document"
PLACEHOLDERS = ("name", "nationality", "passport_number", "birth_date", "event", "dates", "venue", "stay_from",
                "stay_until", "purpose", "organiser", "talks")

DEFAULT_BODIES = {
    ("letter", "en"): (
        "To whom it may concern,\n\n"
        "We are pleased to invite {name}, a national of {nationality} (passport number {passport_number}, born on "
        "{birth_date}), to take part in {event}, held on {dates} at {venue}.\n\n"
        "Purpose of the visit: {purpose}. The planned stay is from {stay_from} to {stay_until}.\n\n"
        "We kindly ask you to grant the necessary visa. Please do not hesitate to contact us for any further "
        "information."
    ),
    ("letter", "zh"): (
        "敬启者：\n\n"
        "我们诚挚邀请{nationality}公民{name}（护照号码：{passport_number}，出生日期：{birth_date}）参加于{dates}在{venue}"
        "举行的{event}。\n\n"
        "访问目的：{purpose}。计划停留时间为{stay_from}至{stay_until}。\n\n"
        "恳请贵馆为其办理签证。如需更多信息，请随时与我们联系。"
    ),
    ("certificate", "en"): (
        "This is to certify that {name} attended {event}, held on {dates} at {venue}.\n\n{talks}"
    ),
    ("certificate", "zh"): "兹证明{name}参加了于{dates}在{venue}举行的{event}。\n\n{talks}",
}


def new_reference() -> str:
    raw = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def normalise_reference(text: str) -> str | None:
    cleaned = text.strip().upper().replace("O", "0").replace("I", "1").replace("L", "1")
    if len(cleaned) == 8 and "-" not in cleaned:
        cleaned = f"{cleaned[:4]}-{cleaned[4:]}"
    return cleaned if REFERENCE_RE.match(cleaned) else None


@dataclass(frozen=True)
class Verification:
    holder_name: str
    kind: DocumentKind
    event_title: str
    event_starts_at: dt.datetime
    event_ends_at: dt.datetime
    event_timezone: str
    issued_at: dt.datetime
    revoked_at: dt.datetime | None
    reference: str


def _clean_date(errors: Errors, field: str, value: object, *, earliest: dt.date, latest: dt.date) -> dt.date | None:
    text = clean_text(errors, field, value, max_length=10, required=True, multiline=False)
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        errors.add(field, _("Enter a date as YYYY-MM-DD."))
        return None
    if not earliest <= day <= latest:
        errors.add(field, _("Enter a date between %(first)s and %(last)s.", first=earliest.isoformat(),
                            last=latest.isoformat()))
        return None
    return day


def clean_letter_values(values: Mapping[str, Any], event: Event) -> dict[str, Any]:
    """The form's and the API's one validation of a letter request; ValidationFailed names each field."""
    errors = Errors()
    today = dt.date.today()
    event_day = event.starts_at.date()
    out: dict[str, Any] = {
        "passport_name": clean_text(errors, "passport_name", values.get("passport_name"), max_length=200,
                                    required=True, multiline=False),
        "nationality": clean_country(errors, "nationality", values.get("nationality")),
        "passport_number": clean_text(errors, "passport_number", values.get("passport_number"), max_length=20,
                                      required=True, multiline=False).replace(" ", "").upper(),
        "purpose": clean_text(errors, "purpose", values.get("purpose"), max_length=1000),
    }
    if not out["nationality"] and "nationality" not in errors:
        errors.add("nationality", _("This field is required."))
    if out["passport_number"] and not PASSPORT_RE.match(out["passport_number"]):
        errors.add("passport_number", _("A passport number has 5 to 20 letters and digits."))
    birth = _clean_date(errors, "birth_date", values.get("birth_date"), earliest=dt.date(1900, 1, 1), latest=today)
    out["birth_date"] = birth.isoformat() if birth else None
    window = dt.timedelta(days=366)
    out["stay_from"] = _clean_date(errors, "stay_from", values.get("stay_from"), earliest=event_day - window,
                                   latest=event.ends_at.date() + window)
    out["stay_until"] = _clean_date(errors, "stay_until", values.get("stay_until"), earliest=event_day - window,
                                    latest=event.ends_at.date() + window)
    if out["stay_from"] and out["stay_until"] and out["stay_until"] < out["stay_from"]:
        errors.add("stay_until", _("The stay must end on or after its first day."))
    language = values.get("language") or "en"
    if language not in LANGUAGES:
        errors.add("language", _("Choose English or Chinese."))
    out["language"] = language
    errors.raise_if_any()
    return out


class DocumentService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    # ---- settings and template -----------------------------------------------------------------------------
    async def settings_for(self, event: Event) -> DocumentSettings:
        row = await self.session.scalar(select(DocumentSettings).where(DocumentSettings.event_id == event.id))
        if row is None:
            row = DocumentSettings(event_id=event.id, letters_on_registration=False,
                                   certificates_for_confirmed=False, signatory_name="", signatory_title="",
                                   letter_body_en="", letter_body_zh="", certificate_body_en="",
                                   certificate_body_zh="")
            self.session.add(row)
            await self.session.flush()
        return row

    async def update_template(self, event: Event, values: Mapping[str, Any], *,
                              letterhead: bytes | None = None, remove_letterhead: bool = False) -> DocumentSettings:
        errors = Errors()
        cleaned = {
            "signatory_name": clean_text(errors, "signatory_name", values.get("signatory_name"), max_length=200,
                                         multiline=False),
            "signatory_title": clean_text(errors, "signatory_title", values.get("signatory_title"),
                                          max_length=200, multiline=False),
        }
        for field in ("letter_body_en", "letter_body_zh", "certificate_body_en", "certificate_body_zh"):
            cleaned[field] = clean_text(errors, field, values.get(field), max_length=5000)
        if letterhead is not None:
            if len(letterhead) > 1_000_000:
                errors.add("letterhead", _("At most 1 MB."))
            elif not (letterhead.startswith(b"\x89PNG\r\n\x1a\n") or letterhead.startswith(b"\xff\xd8\xff")):
                errors.add("letterhead", _("Upload a PNG or JPEG image."))
        errors.raise_if_any()
        row = await self.settings_for(event)
        for key, value in cleaned.items():
            setattr(row, key, value)
        row.letters_on_registration = _truthy(values.get("letters_on_registration"))
        row.certificates_for_confirmed = _truthy(values.get("certificates_for_confirmed"))
        if letterhead:
            row.letterhead = letterhead
        elif remove_letterhead:
            row.letterhead = None
        await self.session.flush()
        return row

    # ---- letter requests -----------------------------------------------------------------------------------
    async def _open_request_exists(self, condition: Any) -> bool:
        return bool(await self.session.scalar(select(LetterRequest.id).where(
            condition, LetterRequest.status.in_((LetterStatus.PENDING, LetterStatus.APPROVED))).limit(1)))

    async def request_for_registration(self, registration: Registration, event: Event,
                                       values: Mapping[str, Any]) -> LetterRequest:
        if not (await self.settings_for(event)).letters_on_registration:
            raise Conflict("passport_name", _("This event does not issue invitation letters to attendees."))
        if registration.status not in ACTIVE:
            raise Conflict("passport_name", _("Your registration is no longer active."))
        return await self._new_request(event, values, registration.email, registration_id=registration.id)

    async def request_for_invitation(self, invitation: Invitation, event: Event,
                                     values: Mapping[str, Any]) -> LetterRequest:
        if invitation.status == InvitationStatus.DECLINED.value:
            raise Conflict("passport_name", _("You declined this invitation."))
        return await self._new_request(event, values, invitation.email, invitation_id=invitation.id)

    async def _new_request(self, event: Event, values: Mapping[str, Any], email: str, **owner: int) -> LetterRequest:
        """A pending request of a registration or an invitation (`owner`: its one id), one open at a time."""
        cleaned = clean_letter_values(values, event)
        [(owner_column, owner_id)] = owner.items()
        if await self._open_request_exists(getattr(LetterRequest, owner_column) == owner_id):
            raise Conflict("passport_name", _("You have already asked for a letter."))
        request = LetterRequest(event_id=event.id, email=email, status=LetterStatus.PENDING, **owner, **cleaned)
        self.session.add(request)
        await self.session.flush()
        return request

    async def requests_of(self, *, registration_id: int | None = None,
                          invitation_id: int | None = None) -> list[LetterRequest]:
        condition = (LetterRequest.registration_id == registration_id if registration_id is not None
                     else LetterRequest.invitation_id == invitation_id)
        return list(await self.session.scalars(select(LetterRequest).where(condition).order_by(LetterRequest.id)))

    async def queue(self, event: Event) -> list[LetterRequest]:
        """Pending first, oldest first; then the decided ones, newest first."""
        rows = list(await self.session.scalars(select(LetterRequest).where(LetterRequest.event_id == event.id)
                                               .order_by(LetterRequest.id)))
        pending = [r for r in rows if r.status == LetterStatus.PENDING]
        return pending + [r for r in reversed(rows) if r.status != LetterStatus.PENDING]

    async def letters_csv(self, event: Event, *, include_passport: bool = False) -> str:
        """The event's letter requests; the passport data only when the manager asks for it explicitly."""
        header = ["id", "email", "status", "language", "stay_from", "stay_until", "purpose", "requested_at",
                  "decided_by", "decided_at", "reason"]
        if include_passport:
            header += ["passport_name", "nationality", "passport_number", "birth_date"]
        rows = []
        for r in await self.queue(event):
            row = [r.id, r.email, r.status.value, r.language, r.stay_from.isoformat(), r.stay_until.isoformat(),
                   r.purpose, r.created_at.isoformat(), r.decided_by_name,
                   r.decided_at.isoformat() if r.decided_at else "", r.reason]
            if include_passport:
                row += [r.passport_name or "", r.nationality or "", r.passport_number or "", r.birth_date or ""]
            rows.append(row)
        return csv_text(header, rows)

    async def request_by_id(self, event: Event, request_id: int) -> LetterRequest:
        request = await self.session.get(LetterRequest, request_id)
        if request is None or request.event_id != event.id:
            raise NotFoundException("No such letter request.")
        return request

    async def _decide(self, request: LetterRequest, status: LetterStatus, by: Account, reason: str = "") -> None:
        now = dt.datetime.now(dt.UTC)
        claimed = await self.session.execute(
            update(LetterRequest).where(LetterRequest.id == request.id, LetterRequest.status == LetterStatus.PENDING)
            .values(status=status, decided_by_id=by.id, decided_by_name=by.full_name or by.email, decided_at=now,
                    reason=reason).execution_options(synchronize_session=False))
        if rows_affected(claimed) != 1:
            raise Conflict("status", _("This request has already been decided."))
        await self.session.refresh(request)

    async def approve(self, event: Event, request: LetterRequest, by: Account) -> IssuedDocument:
        if request.purged_at is not None:
            raise Conflict("status", _("The data of this request has been deleted."))
        try:  # refused now, with what to install, rather than a failed mail in the worker later
            renderer(self.settings.font_dirs).fonts.check([request.passport_name or "", request.purpose])
        except MissingFontError as exc:
            raise Conflict("status", str(exc)) from exc
        await self._decide(request, LetterStatus.APPROVED, by)
        document = IssuedDocument(reference=new_reference(), kind=DocumentKind.LETTER, event_id=event.id,
                                  holder_name=request.passport_name or "", email=request.email,
                                  language=request.language, registration_id=request.registration_id,
                                  person_id=None, detail="", issued_at=dt.datetime.now(dt.UTC), revoked_by_name="")
        self.session.add(document)
        await self.session.flush()
        request.document_id = document.id
        document.mailed_at = document.issued_at
        await self.session.flush()
        self._mail(document)
        return document

    async def reject(self, request: LetterRequest, by: Account, reason: object) -> None:
        errors = Errors()
        text = clean_text(errors, "reason", reason, max_length=2000, required=True)
        errors.raise_if_any()
        await self._decide(request, LetterStatus.REJECTED, by, text)
        defer_email(self.session, to=request.email, composer=MAIL_COMPOSER,
                    payload={"rejected_request_id": request.id}, reference=self._reference_of(request))

    @staticmethod
    def _reference_of(row: LetterRequest | IssuedDocument) -> str | None:
        # Mail about a registration is deleted with the registration's data ("delete my data").
        return mail_reference(row.registration_id) if row.registration_id is not None else None

    def _mail(self, document: IssuedDocument) -> None:
        if document.email:
            defer_email(self.session, to=document.email, composer=MAIL_COMPOSER,
                        payload={"document_id": document.id}, reference=self._reference_of(document))

    # ---- issued documents ----------------------------------------------------------------------------------
    async def document_by_reference(self, reference: str) -> IssuedDocument:
        normalised = normalise_reference(reference)
        document = None if normalised is None else await self.session.scalar(
            select(IssuedDocument).where(IssuedDocument.reference == normalised))
        if document is None:
            raise NotFoundException("No such document.")
        return document

    async def verification(self, reference: str) -> Verification:
        document = await self.document_by_reference(reference)
        event = await self.session.get_one(Event, document.event_id)
        return Verification(holder_name=document.holder_name, kind=document.kind, event_title=event.title,
                            event_starts_at=event.starts_at, event_ends_at=event.ends_at,
                            event_timezone=event.timezone, issued_at=document.issued_at,
                            revoked_at=document.revoked_at, reference=document.reference)

    async def revoke(self, document: IssuedDocument, by: Account) -> None:
        if document.revoked_at is None:
            document.revoked_at = dt.datetime.now(dt.UTC)
            document.revoked_by_name = by.full_name or by.email
            await self.session.flush()

    async def documents_of_event(self, event: Event) -> list[IssuedDocument]:
        return list(await self.session.scalars(select(IssuedDocument).where(IssuedDocument.event_id == event.id)
                                               .order_by(IssuedDocument.kind, IssuedDocument.holder_name)))

    async def documents_of(self, *, registration_id: int | None = None, person_id: int | None = None,
                           invitation_id: int | None = None, event_id: int | None = None) -> list[IssuedDocument]:
        conditions: list[ColumnElement[bool]] = []
        if registration_id is not None:
            conditions.append(IssuedDocument.registration_id == registration_id)
        if person_id is not None:  # a speaker's certificates, of this event only
            conditions.append(and_(IssuedDocument.person_id == person_id, IssuedDocument.event_id == event_id))
        if invitation_id is not None:
            conditions.append(IssuedDocument.id.in_(select(LetterRequest.document_id)
                                                    .where(LetterRequest.invitation_id == invitation_id)))
        if not conditions:
            return []
        return list(await self.session.scalars(select(IssuedDocument).where(or_(*conditions))
                                               .order_by(IssuedDocument.id)))

    # ---- PDFs ----------------------------------------------------------------------------------------------
    def verify_url(self, reference: str) -> str:
        return absolute_url("document_verify", reference=reference, base_url=self.settings.base_url)

    async def pdf(self, document: IssuedDocument) -> bytes:
        event = await self.session.get_one(Event, document.event_id)
        template = await self.settings_for(event)
        if document.kind == DocumentKind.LETTER:
            request = await self.session.scalar(select(LetterRequest)
                                                .where(LetterRequest.document_id == document.id))
            if request is None or request.purged_at is not None or request.passport_number is None:
                raise Conflict("document", _("This letter's data has been deleted after the event; it can no "
                                             "longer be printed."))
            data = self.letter_data(event, template, document, request)
        else:
            data = self.certificate_data(event, template, document)
        return await self._render("letter", data, _texts(data))

    async def _render(self, template: str, data: Mapping[str, Any], texts: Sequence[str]) -> bytes:
        # Typst holds the GIL-free compiler for tens of milliseconds (a second for a thousand badges): off the loop.
        engine = renderer(self.settings.font_dirs)
        return await anyio.to_thread.run_sync(partial(engine.render, template, data, check=texts))

    def _common(self, event: Event, template: DocumentSettings, document: IssuedDocument,
                language: str) -> dict[str, Any]:
        with speaking(language):
            return {
                "lang": language,
                "letterhead": list(template.letterhead) if template.letterhead else None,
                "date_line": format_day(document.issued_at, event.timezone, "long"),
                "reference_line": _("Reference: %(reference)s", reference=document.reference),
                "signatory_name": template.signatory_name,
                "signatory_title": template.signatory_title,
                "qr": qr_svg(self.verify_url(document.reference)),
                "verify_text": _("Check that this document is genuine at %(url)s (reference %(reference)s).",
                                 url=self.verify_url(document.reference), reference=document.reference),
                "placeholders": {
                    "event": event.title,
                    "dates": _event_dates(event, language),
                    "venue": ", ".join(p for p in (event.venue_name, event.venue_address) if p) or _("online"),
                    "organiser": event.organiser,
                },
            }

    def letter_data(self, event: Event, template: DocumentSettings, document: IssuedDocument,
                    request: LetterRequest) -> dict[str, Any]:
        language = request.language
        data = self._common(event, template, document, language)
        with speaking(language):
            nationality = country_names(language).get(request.nationality or "", request.nationality or "")
            birth = dt.date.fromisoformat(request.birth_date) if request.birth_date else None
            values = {
                **data.pop("placeholders"),
                "name": request.passport_name or "", "nationality": nationality,
                "passport_number": request.passport_number or "",
                "birth_date": _day(birth, language), "stay_from": _day(request.stay_from, language),
                "stay_until": _day(request.stay_until, language), "purpose": request.purpose or _("the event"),
                "talks": "",
            }
            data["title"] = _("Invitation letter")
            data["recipient"] = [[_("Name (as in passport)"), values["name"]], [_("Nationality"), nationality],
                                 [_("Passport number"), values["passport_number"]],
                                 [_("Date of birth"), values["birth_date"]]]
        body = getattr(template, f"letter_body_{language}") or DEFAULT_BODIES[("letter", language)]
        data["paragraphs"] = _paragraphs(fill_placeholders(body, values))
        return data

    def certificate_data(self, event: Event, template: DocumentSettings, document: IssuedDocument) -> dict[str, Any]:
        language = document.language
        data = self._common(event, template, document, language)
        with speaking(language):
            talks = [t for t in document.detail.splitlines() if t.strip()]
            values = {**data.pop("placeholders"), "name": document.holder_name, "nationality": "",
                      "passport_number": "", "birth_date": "", "stay_from": "", "stay_until": "", "purpose": "",
                      "talks": (_("Contributions: %(titles)s", titles="; ".join(talks)) if talks else "")}
            data["title"] = _("Certificate of attendance")
            data["recipient"] = []
        body = getattr(template, f"certificate_body_{language}") or DEFAULT_BODIES[("certificate", language)]
        data["paragraphs"] = _paragraphs(fill_placeholders(body, values))
        return data

    # ---- certificates --------------------------------------------------------------------------------------
    async def issue_certificates(self, event: Event) -> list[IssuedDocument]:
        """A certificate for everyone checked in (and confirmed attendees, per the event's setting) and every
        speaker who accepted, with their talk titles; existing ones are kept. Returns every certificate."""
        options = await self.settings_for(event)
        attended: ColumnElement[bool] = Registration.checked_in_at.is_not(None)
        if options.certificates_for_confirmed:
            attended = or_(attended, Registration.status == RegistrationStatus.CONFIRMED)
        have = {(d.registration_id, d.person_id): d for d in await self.session.scalars(
            select(IssuedDocument).where(IssuedDocument.event_id == event.id,
                                         IssuedDocument.kind == DocumentKind.CERTIFICATE))}
        now = dt.datetime.now(dt.UTC)
        registrations = await self.session.scalars(select(Registration).where(
            Registration.event_id == event.id, attended,
            Registration.status.not_in((RegistrationStatus.CANCELLED, RegistrationStatus.REJECTED))))
        for registration in registrations:
            if (registration.id, None) not in have:
                have[(registration.id, None)] = self._certificate(event, now, registration.name, registration.email,
                                                                  registration.locale, registration_id=registration.id)
        speakers = (await self.session.execute(
            select(Invitation, Person).join(Person, Person.id == Invitation.person_id)
            .where(Invitation.event_id == event.id, Invitation.status == InvitationStatus.ACCEPTED.value)
            .order_by(Invitation.id))).all()
        titles: dict[int, list[str]] = {}
        for invitation, person in speakers:
            titles.setdefault(person.id, [])
            if invitation.title:
                titles[person.id].append(invitation.title)
        for invitation, person in speakers:
            if (None, person.id) not in have:
                have[(None, person.id)] = self._certificate(
                    event, now, person.full_name, invitation.email or person.email, "en", person_id=person.id,
                    detail="\n".join(titles[person.id]))
        await self.session.flush()
        return list(have.values())

    def _certificate(self, event: Event, now: dt.datetime, name: str, email: str, locale: str,
                     **links: Any) -> IssuedDocument:
        document = IssuedDocument(reference=new_reference(), kind=DocumentKind.CERTIFICATE, event_id=event.id,
                                  holder_name=name, email=email, language=locale if locale in LANGUAGES else "en",
                                  issued_at=now, revoked_by_name="", detail=links.pop("detail", ""), **links)
        self.session.add(document)
        return document

    async def send_certificates(self, event: Event) -> int:
        """Mails every certificate not mailed yet (issuing the missing ones); returns how many were queued."""
        sent = 0
        for document in await self.issue_certificates(event):
            if document.mailed_at is None and document.revoked_at is None and document.email:
                document.mailed_at = dt.datetime.now(dt.UTC)
                self._mail(document)
                sent += 1
        await self.session.flush()
        return sent

    async def certificate_for_registration(self, registration: Registration, event: Event) -> IssuedDocument:
        """The attendee's own certificate, issued now if it was not yet (the same rule as issue_certificates)."""
        existing = await self.session.scalar(select(IssuedDocument).where(
            IssuedDocument.event_id == event.id, IssuedDocument.kind == DocumentKind.CERTIFICATE,
            IssuedDocument.registration_id == registration.id))
        if existing is not None:
            return existing
        options = await self.settings_for(event)
        attended = registration.checked_in_at is not None or (
            options.certificates_for_confirmed and registration.status == RegistrationStatus.CONFIRMED)
        if not attended:
            raise Conflict("document", _("A certificate is issued to attendees who were checked in."))
        document = self._certificate(event, dt.datetime.now(dt.UTC), registration.name, registration.email,
                                     registration.locale, registration_id=registration.id)
        await self.session.flush()
        return document

    # ---- badges --------------------------------------------------------------------------------------------
    async def badge_people(self, event: Event, *, registration_id: int | None = None) -> list[dict[str, str]]:
        people: list[dict[str, str]] = []
        condition = and_(Registration.event_id == event.id, Registration.status == RegistrationStatus.CONFIRMED)
        if registration_id is not None:
            condition = and_(Registration.event_id == event.id, Registration.id == registration_id)
        for registration in await self.session.scalars(select(Registration).where(condition)):
            people.append({"name": registration.name, "affiliation": registration.affiliation,
                           "role": _("Attendee"), "code": registration.checkin_code})
        if registration_id is None:
            seen: set[int] = set()
            for person in await self.session.scalars(
                    select(Person).join(Invitation, Invitation.person_id == Person.id)
                    .where(Invitation.event_id == event.id, Invitation.status == InvitationStatus.ACCEPTED.value)):
                if person.id not in seen:
                    seen.add(person.id)
                    people.append({"name": person.display_name, "affiliation": person.affiliation,
                                   "role": _("Speaker"), "code": ""})
        if registration_id is not None and not people:
            raise NotFoundException("No such registration.")
        return sorted(people, key=lambda p: family_name_key(p["name"]))

    async def badges_pdf(self, event: Event, people: Sequence[Mapping[str, str]], *, single: bool = False) -> bytes:
        badges = [{"name": p["name"], "affiliation": p["affiliation"], "role": p["role"],
                   "rtl": is_right_to_left(p["name"]),
                   "qr": qr_svg_for_code(p["code"]) if p["code"] else qr_svg(event.title[:60])}
                  for p in people]
        data = {"lang": current_locale.get(), "event_title": event.title, "single": single, "badges": badges}
        texts = [event.title, *(p[key] for p in people for key in ("name", "affiliation", "role"))]
        return await self._render("badges", data, texts)

    # ---- retention -----------------------------------------------------------------------------------------
    async def purge_letter_data(self, *, now: dt.datetime | None = None) -> int:
        """Empties the passport data of requests whose event ended more than the retention period ago."""
        cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=self.settings.letter_data_retention_days)
        result = await self.session.execute(
            update(LetterRequest)
            .where(LetterRequest.purged_at.is_(None),
                   LetterRequest.event_id.in_(select(Event.id).where(Event.ends_at <= cutoff)))
            .values(passport_name=None, nationality=None, passport_number=None, birth_date=None,
                    purged_at=now or dt.datetime.now(dt.UTC))
            .execution_options(synchronize_session=False))
        return rows_affected(result)


async def purge_letter_data(session: AsyncSession, settings: Settings) -> int:
    """The periodic job "purge letter data"."""
    return await DocumentService(session, settings).purge_letter_data()


def qr_svg_for_code(code: str) -> str:
    # The same QR code as the check-in mail's (registration/mail.py), read by the check-in page's scanner.
    return checkin_qr(code).svg_inline(scale=4, border=0)


_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def family_name_key(name: str) -> tuple[str, str]:
    """Badges in family-name order: a name in Chinese, Japanese or Korean script is written family name first
    (sorted by its reading in pinyin), a name in other scripts family name last."""
    from events_app.core.validation import collation_key

    text = name.strip()
    if _CJK.search(text):
        return collation_key(text, "zh")[0], text
    words = text.split()
    family = words[-1] if words else ""
    return collation_key(f"{family} {' '.join(words[:-1])}", "en")[0], text


def is_right_to_left(text: str) -> bool:
    """Whether the text's first strong character is Arabic or Hebrew (Unicode bidi class R or AL)."""
    for char in text:
        direction = unicodedata.bidirectional(char)
        if direction in ("R", "AL"):
            return True
        if direction == "L":
            return False
    return False


def _truthy(value: object) -> bool:
    return str(value or "").lower() in ("1", "on", "true", "yes")


def _day(value: dt.date | None, language: str) -> str:
    if value is None:
        return ""
    from babel.dates import format_date

    from events_app.core.timefmt import date_locale

    return format_date(value, format="long", locale=date_locale(language))


def _event_dates(event: Event, language: str) -> str:
    with speaking(language):
        first = format_day(event.starts_at, event.timezone, "long")
        last = format_day(event.ends_at, event.timezone, "long")
    return first if first == last else f"{first} – {last}"


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split("\n")).strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _texts(data: Mapping[str, Any]) -> list[str]:
    texts = [data["title"], data["signatory_name"], data["signatory_title"], *data["paragraphs"]]
    texts += [cell for row in data["recipient"] for cell in row]
    return texts


# ---- mail ------------------------------------------------------------------------------------------------------
@composer(MAIL_COMPOSER)
async def compose_document_mail(session: AsyncSession, settings: Settings,
                                payload: Mapping[str, Any]) -> EmailMessage | None:
    """Built by the worker: the PDF costs tens of milliseconds, which a manager's click should not wait for."""
    service = DocumentService(session, settings)
    if "rejected_request_id" in payload:
        request = await session.get(LetterRequest, payload["rejected_request_id"])
        if request is None:
            return None
        event = await session.get_one(Event, request.event_id)
        with speaking(request.language):
            subject, text, html = render_email("document_letter_rejected",
                                               {"event": event, "reason": request.reason}, settings)
        return build_message(settings, to=request.email, subject=subject, text_body=text, html_body=html)
    document = await session.get(IssuedDocument, payload["document_id"])
    if document is None or document.revoked_at is not None:
        return None
    event = await session.get_one(Event, document.event_id)
    pdf = await service.pdf(document)
    name = "document_letter" if document.kind == DocumentKind.LETTER else "document_certificate"
    with speaking(document.language):
        subject, text, html = render_email(name, {"event": event, "document": document,
                                                  "verify_url": service.verify_url(document.reference)}, settings)
    filename = f"{document.kind.value}-{document.reference}.pdf"
    return build_message(settings, to=document.email, subject=subject, text_body=text, html_body=html,
                         attachments=[Attachment(filename, pdf, "application", "pdf")])
