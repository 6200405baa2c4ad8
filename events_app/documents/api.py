"""JSON API: an event's letter requests (list, approve, reject), its issued documents (revoke, PDF) and badges,
for its managers' tokens; the same rule (documents/access.py) and the same services as the HTML pages."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from msgspec import Meta, Struct
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.documents.access import ensure_may_handle_documents, may_read_letter_data
from events_app.documents.controllers import document_pdf, pdf_response, provide_documents
from events_app.documents.models import IssuedDocument, LetterRequest
from events_app.documents.services import DocumentService
from events_app.events.models import Event
from events_app.events.services import EventService
from events_app.web.auth import provide_api_account


class PassportData(Struct):
    passport_name: str | None
    nationality: Annotated[str | None, Meta(description="ISO 3166 two-letter code")]
    passport_number: str | None
    birth_date: dt.date | None


class LetterRequestOut(Struct):
    id: int
    email: str
    status: str
    language: str
    stay_from: dt.date
    stay_until: dt.date
    purpose: str
    requested_at: dt.datetime
    decided_by: str
    decided_at: dt.datetime | None
    reason: str
    reference: str | None
    # Only with ?include_passport=true, and only ever to the event's managers; null once purged.
    passport: PassportData | None = None


class RejectIn(Struct, forbid_unknown_fields=True):
    reason: Annotated[str, Meta(min_length=1, max_length=2000)]


class DocumentOut(Struct):
    reference: str
    kind: str
    holder_name: str
    issued_at: dt.datetime
    revoked_at: dt.datetime | None
    verify_url: str


def document_out(documents: DocumentService, row: IssuedDocument) -> DocumentOut:
    return DocumentOut(reference=row.reference, kind=row.kind.value, holder_name=row.holder_name,
                       issued_at=row.issued_at, revoked_at=row.revoked_at,
                       verify_url=documents.verify_url(row.reference))


async def letter_out(documents: DocumentService, row: LetterRequest, *, passport: bool) -> LetterRequestOut:
    reference = None
    if row.document_id is not None:
        document = await documents.session.get(IssuedDocument, row.document_id)
        reference = document.reference if document else None
    data = None
    if passport:
        data = PassportData(passport_name=row.passport_name, nationality=row.nationality,
                            passport_number=row.passport_number,
                            birth_date=dt.date.fromisoformat(row.birth_date) if row.birth_date else None)
    return LetterRequestOut(id=row.id, email=row.email, status=row.status.value, language=row.language,
                            stay_from=row.stay_from, stay_until=row.stay_until, purpose=row.purpose,
                            requested_at=row.created_at, decided_by=row.decided_by_name, decided_at=row.decided_at,
                            reason=row.reason, reference=reference, passport=data)


class DocumentApi(Controller):
    path = "/events/{slug:str}"
    tags = ["documents"]
    dependencies = {"account": Provide(provide_api_account), "documents": Provide(provide_documents)}

    async def _event(self, slug: str, account: Account, db_session: AsyncSession) -> Event:
        event = await EventService(session=db_session).by_slug(slug)
        ensure_may_handle_documents(account, event)
        return event

    @get("/letters", summary="List the event's visa letter requests (managers)", name="api_list_letters")
    async def list_letters(self, slug: str, account: Account, documents: DocumentService, db_session: AsyncSession,
                           include_passport: Annotated[bool, Parameter(
                               description="Add the passport data (name, nationality, number, date of birth). "
                                           "Off unless asked for.")] = False) -> list[LetterRequestOut]:
        event = await self._event(slug, account, db_session)
        passport = include_passport and may_read_letter_data(account, event)
        return [await letter_out(documents, row, passport=passport) for row in await documents.queue(event)]

    @post("/letters/{request_id:int}/approve", status_code=200,
          summary="Approve a letter request: the letter is issued and mailed", name="api_approve_letter")
    async def approve(self, slug: str, request_id: int, account: Account, documents: DocumentService,
                      db_session: AsyncSession) -> DocumentOut:
        event = await self._event(slug, account, db_session)
        row = await documents.request_by_id(event, request_id)
        document = await documents.approve(event, row, account)
        return document_out(documents, document)

    @post("/letters/{request_id:int}/reject", status_code=200, summary="Reject a letter request with a reason", name="api_reject_letter")
    async def reject(self, slug: str, request_id: int, data: RejectIn, account: Account,
                     documents: DocumentService, db_session: AsyncSession) -> LetterRequestOut:
        event = await self._event(slug, account, db_session)
        row = await documents.request_by_id(event, request_id)
        await documents.reject(row, account, data.reason)
        return await letter_out(documents, row, passport=False)

    @get("/documents", summary="List the event's issued letters and certificates", name="api_list_documents")
    async def list_documents(self, slug: str, account: Account, documents: DocumentService,
                             db_session: AsyncSession) -> list[DocumentOut]:
        event = await self._event(slug, account, db_session)
        return [document_out(documents, row) for row in await documents.documents_of_event(event)]

    async def _document(self, event: Event, reference: str, documents: DocumentService) -> IssuedDocument:
        document = await documents.document_by_reference(reference)
        if document.event_id != event.id:
            raise NotFoundException("No such document.")
        return document

    @post("/documents/{reference:str}/revoke", status_code=200, summary="Revoke a letter or certificate", name="api_revoke_document")
    async def revoke(self, slug: str, reference: str, account: Account, documents: DocumentService,
                     db_session: AsyncSession) -> DocumentOut:
        event = await self._event(slug, account, db_session)
        document = await self._document(event, reference, documents)
        await documents.revoke(document, account)
        return document_out(documents, document)

    @get("/documents/{reference:str}/pdf", media_type="application/pdf", summary="The document as PDF", name="api_document_pdf")
    async def pdf(self, slug: str, reference: str, account: Account, documents: DocumentService,
                  db_session: AsyncSession) -> Response[bytes]:
        event = await self._event(slug, account, db_session)
        return await document_pdf(documents, await self._document(event, reference, documents))

    @get("/badges.pdf", media_type="application/pdf", summary="Badges of confirmed attendees and speakers (2x4 on A4)", name="api_badges_pdf")
    async def badges(self, slug: str, account: Account, documents: DocumentService,
                     db_session: AsyncSession) -> Response[bytes]:
        event = await self._event(slug, account, db_session)
        content = await documents.badges_pdf(event, await documents.badge_people(event))
        return pdf_response(content, f"{event.slug}-badges.pdf")
