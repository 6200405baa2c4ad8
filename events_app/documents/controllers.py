"""HTML pages of documents: the person's (through their registration's or invitation's private link), the
organisers' queue and template, and the public verification page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.core.i18n import current_locale
from events_app.core.i18n import gettext as _
from events_app.core.validation import Conflict, ValidationFailed, country_names
from events_app.documents.access import may_read_letter_data
from events_app.documents.models import DocumentKind, IssuedDocument, LetterStatus
from events_app.documents.rendering import MissingFontError
from events_app.documents.services import PLACEHOLDERS, DocumentService
from events_app.events.models import Event
from events_app.events.services import EventService
from events_app.registration.services import RegistrationService
from events_app.settings import Settings
from events_app.speakers.services import InvitationService
from events_app.web.auth import provide_organiser, requires_login
from events_app.web.forms import FormErrors, form_page, read_form
from events_app.web.urls import redirect_to

LETTER_FIELDS = ("passport_name", "nationality", "passport_number", "birth_date", "stay_from", "stay_until",
                 "purpose", "language")
PRIVATE = {"Cache-Control": "private, no-store"}


async def provide_documents(db_session: AsyncSession, settings: Settings) -> DocumentService:
    return DocumentService(db_session, settings)


def pdf_response(content: bytes, filename: str) -> Response[bytes]:
    return Response(content=content, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', **PRIVATE})


def letter_form_context(event: Event) -> dict[str, Any]:
    locale = current_locale.get()
    return {"countries": list(country_names(locale).items()),
            "languages": [("en", _("English")), ("zh", _("Chinese"))], "event": event}


def default_letter_values(event: Event, name: str = "") -> dict[str, str]:
    return {"passport_name": name, "stay_from": event.starts_at.date().isoformat(),
            "stay_until": event.ends_at.date().isoformat(), "language": "en"}


async def document_pdf(documents: DocumentService, document: IssuedDocument) -> Response[bytes]:
    if document.revoked_at is not None:
        return Response(content=_("This document was revoked.").encode(), media_type="text/plain; charset=utf-8",
                        status_code=410, headers=PRIVATE)
    try:
        content = await documents.pdf(document)
    except MissingFontError as exc:  # the server lacks a font: say which, never print blank boxes
        return Response(content=str(exc).encode(), media_type="text/plain; charset=utf-8", status_code=500,
                        headers=PRIVATE)
    except Conflict as exc:
        return Response(content=exc.message.encode(), media_type="text/plain; charset=utf-8", status_code=410,
                        headers=PRIVATE)
    return pdf_response(content, f"{document.kind.value}-{document.reference}.pdf")



async def ask_for_letter(request: Request, token: str, page: Callable[..., Awaitable[Template]],
                         documents: DocumentService, ask: Callable[[dict[str, Any]], Awaitable[object]], *,
                         done_route: str) -> Template | Redirect:
    """The letter form of a private link (registration or invitation): the page again with messages, or done."""
    values = {k: v for k, v in (await read_form(request)).items() if k in LETTER_FIELDS}
    try:
        await ask(values)
    except ValidationFailed as exc:
        return await page(documents, token, values=values, errors=exc.errors)
    except Conflict as exc:
        return await page(documents, token, values=values, errors={exc.field: exc.message}, status=409)
    flash(request, _("Your request is sent; the organisers will answer by e-mail."), "success")
    return redirect_to(done_route, token=token)


# ---- the person's pages ------------------------------------------------------------------------------------
class RegistrationDocumentPages(Controller):
    """Reached only through the registration's private manage link."""

    path = "/registrations/{token:str}/documents"
    include_in_schema = False
    dependencies = {"documents": Provide(provide_documents)}

    async def _page(self, documents: DocumentService, token: str, *, values: dict[str, Any] | None = None,
                    errors: dict[str, str] | None = None, status: int | None = None) -> Template:
        registration = await RegistrationService(documents.session, documents.settings).by_token(token)
        event = await EventService(session=documents.session).load(registration.event_id)
        options = await documents.settings_for(event)
        requests = await documents.requests_of(registration_id=registration.id)
        issued = await documents.documents_of(registration_id=registration.id)
        open_request = any(r.status != LetterStatus.REJECTED for r in requests)
        return form_page(
            "documents/person.html", errors=errors, status=status, token=token, requests=requests, issued=issued,
            offers_letters=options.letters_on_registration and not open_request,
            values=values or default_letter_values(event, registration.name),
            may_get_certificate=registration.checked_in_at is not None, download_route="registration_document_pdf",
            request_route="registration_letter_request", **letter_form_context(event),
        )

    @get("/", name="registration_documents")
    async def show(self, token: str, documents: DocumentService) -> Template:
        template = await self._page(documents, token)
        template.headers.update(PRIVATE)
        return template

    @post("/letter", name="registration_letter_request")
    async def request_letter(self, request: Request, token: str, documents: DocumentService) -> Template | Redirect:
        registration = await RegistrationService(documents.session, documents.settings).by_token(token)
        event = await EventService(session=documents.session).load(registration.event_id)
        return await ask_for_letter(
            request, token, self._page, documents,
            lambda values: documents.request_for_registration(registration, event, values), done_route="registration_documents")

    @post("/certificate", name="registration_certificate")
    async def certificate(self, request: Request, token: str, documents: DocumentService) -> Redirect:
        registration = await RegistrationService(documents.session, documents.settings).by_token(token)
        event = await EventService(session=documents.session).load(registration.event_id)
        try:
            document = await documents.certificate_for_registration(registration, event)
        except Conflict as exc:
            flash(request, exc.message, "error")
            return redirect_to("registration_documents", token=token)
        return redirect_to("registration_document_pdf", token=token, reference=document.reference)

    @get("/{reference:str}/pdf", name="registration_document_pdf")
    async def download(self, token: str, reference: str, documents: DocumentService) -> Response[bytes]:
        registration = await RegistrationService(documents.session, documents.settings).by_token(token)
        document = await documents.document_by_reference(reference)
        if document.registration_id != registration.id:
            raise_not_found()
        return await document_pdf(documents, document)


class InvitationDocumentPages(Controller):
    """The speaker's letter, through the invitation's private link."""

    path = "/invitations/{token:str}/letter"
    include_in_schema = False
    dependencies = {"documents": Provide(provide_documents)}

    async def _page(self, documents: DocumentService, token: str, *, values: dict[str, Any] | None = None,
                    errors: dict[str, str] | None = None, status: int | None = None) -> Template:
        invitation = await InvitationService(session=documents.session).by_token(token)
        event = await EventService(session=documents.session).load(invitation.event_id)
        requests = await documents.requests_of(invitation_id=invitation.id)
        issued = await documents.documents_of(invitation_id=invitation.id, person_id=invitation.person_id,
                                              event_id=invitation.event_id)
        open_request = any(r.status != LetterStatus.REJECTED for r in requests)
        return form_page(
            "documents/person.html", errors=errors, status=status, token=token, requests=requests, issued=issued,
            offers_letters=not open_request and invitation.status != "declined",
            values=values or default_letter_values(event, invitation.person.full_name),
            may_get_certificate=False, download_route="invitation_document_pdf",
            request_route="invitation_letter_request", **letter_form_context(event),
        )

    @get("/", name="invitation_letter")
    async def show(self, token: str, documents: DocumentService) -> Template:
        template = await self._page(documents, token)
        template.headers.update(PRIVATE)
        return template

    @post("/", name="invitation_letter_request")
    async def request_letter(self, request: Request, token: str, documents: DocumentService) -> Template | Redirect:
        invitation = await InvitationService(session=documents.session).by_token(token)
        event = await EventService(session=documents.session).load(invitation.event_id)
        return await ask_for_letter(
            request, token, self._page, documents,
            lambda values: documents.request_for_invitation(invitation, event, values), done_route="invitation_letter")

    @get("/{reference:str}/pdf", name="invitation_document_pdf")
    async def download(self, token: str, reference: str, documents: DocumentService) -> Response[bytes]:
        invitation = await InvitationService(session=documents.session).by_token(token)
        document = await documents.document_by_reference(reference)
        mine = await documents.documents_of(invitation_id=invitation.id, person_id=invitation.person_id,
                                            event_id=invitation.event_id)
        if document.id not in {d.id for d in mine}:
            raise_not_found()
        return await document_pdf(documents, document)


def raise_not_found() -> None:
    from litestar.exceptions import NotFoundException

    raise NotFoundException("No such document.")


# ---- the organisers' pages ---------------------------------------------------------------------------------
class OrganiserDocumentPages(Controller):
    path = "/organiser/events/{slug:str}/documents"
    include_in_schema = False
    guards = [requires_login]
    dependencies = {"documents": Provide(provide_documents), "organiser": Provide(provide_organiser)}

    async def _event(self, slug: str, organiser: Account, documents: DocumentService) -> Event:
        return await EventService(session=documents.session).managed_by_slug(slug, organiser)

    async def _page(self, event: Event, documents: DocumentService, *, values: dict[str, Any] | None = None,
                    errors: dict[str, str] | None = None) -> Template:
        options = await documents.settings_for(event)
        if values is None:
            values = {k: getattr(options, k) for k in (
                "signatory_name", "signatory_title", "letter_body_en", "letter_body_zh", "certificate_body_en",
                "certificate_body_zh", "letters_on_registration", "certificates_for_confirmed")}
        issued = await documents.documents_of_event(event)
        return form_page("documents/queue.html", errors=errors, event=event, requests=await documents.queue(event),
                         letters=[d for d in issued if d.kind == DocumentKind.LETTER],
                         certificates=[d for d in issued if d.kind == DocumentKind.CERTIFICATE],
                         options=options, values=values, placeholders=PLACEHOLDERS)

    @get("/", name="document_queue")
    async def queue(self, slug: str, organiser: Account, documents: DocumentService) -> Template:
        return await self._page(await self._event(slug, organiser, documents), documents)

    @get("/letters.csv", name="letters_csv")
    async def letters_csv(self, slug: str, organiser: Account, documents: DocumentService,
                          passport: str | None = None) -> Response[str]:
        event = await self._event(slug, organiser, documents)
        include = passport == "yes" and may_read_letter_data(organiser, event)
        return Response(content=await documents.letters_csv(event, include_passport=include),
                        media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{event.slug}-letters.csv"', **PRIVATE})

    @get("/letters/{request_id:int}", name="letter_request_detail")
    async def detail(self, slug: str, request_id: int, organiser: Account, documents: DocumentService) -> Template:
        event = await self._event(slug, organiser, documents)
        letter = await documents.request_by_id(event, request_id)
        assert may_read_letter_data(organiser, event)  # managed_by_slug refused everyone else
        countries = country_names(current_locale.get())
        return Template(template_name="documents/letter_request.html", headers=PRIVATE, context={
            "event": event, "letter": letter, "errors": {},
            "nationality": countries.get(letter.nationality or "", letter.nationality or ""),
            "document": await documents.session.get(IssuedDocument, letter.document_id) if letter.document_id else None,
        })

    @post("/letters/{request_id:int}/approve", name="letter_approve")
    async def approve(self, request: Request, slug: str, request_id: int, organiser: Account,
                      documents: DocumentService) -> Redirect:
        event = await self._event(slug, organiser, documents)
        letter = await documents.request_by_id(event, request_id)
        try:
            await documents.approve(event, letter, organiser)
        except Conflict as exc:
            flash(request, exc.message, "error")
        else:
            flash(request, _("Letter approved; it is being mailed to %(email)s.", email=letter.email), "success")
        return redirect_to("document_queue", slug=slug)

    @post("/letters/{request_id:int}/reject", name="letter_reject")
    async def reject(self, request: Request, slug: str, request_id: int, organiser: Account,
                     documents: DocumentService) -> Redirect | Template:
        event = await self._event(slug, organiser, documents)
        letter = await documents.request_by_id(event, request_id)
        form = await read_form(request)
        try:
            await documents.reject(letter, organiser, form.get("reason"))
        except ValidationFailed as exc:
            countries = country_names(current_locale.get())
            return Template(template_name="documents/letter_request.html", status_code=400, headers=PRIVATE,
                            context={"event": event, "letter": letter, "errors": FormErrors(exc.errors), "document": None,
                                     "nationality": countries.get(letter.nationality or "", "")})
        except Conflict as exc:
            flash(request, exc.message, "error")
        else:
            flash(request, _("Request rejected; %(email)s is told why.", email=letter.email), "success")
        return redirect_to("document_queue", slug=slug)

    @post("/issued/{reference:str}/revoke", name="document_revoke")
    async def revoke(self, request: Request, slug: str, reference: str, organiser: Account,
                     documents: DocumentService) -> Redirect:
        event = await self._event(slug, organiser, documents)
        document = await documents.document_by_reference(reference)
        if document.event_id != event.id:
            raise_not_found()
        await documents.revoke(document, organiser)
        flash(request, _("Document %(reference)s is revoked.", reference=document.reference), "success")
        return redirect_to("document_queue", slug=slug)

    @get("/issued/{reference:str}/pdf", name="document_pdf")
    async def download(self, slug: str, reference: str, organiser: Account,
                       documents: DocumentService) -> Response[bytes]:
        event = await self._event(slug, organiser, documents)
        document = await documents.document_by_reference(reference)
        if document.event_id != event.id:
            raise_not_found()
        return await document_pdf(documents, document)

    @post("/template", name="document_template_save")
    async def save_template(self, request: Request, slug: str, organiser: Account,
                            documents: DocumentService) -> Redirect | Template:
        event = await self._event(slug, organiser, documents)
        form = await request.form()
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "_csrf_token"}
        upload = form.get("letterhead")
        letterhead = await upload.read() if upload is not None and not isinstance(upload, str) else None
        try:
            await documents.update_template(event, values, letterhead=letterhead or None,
                                            remove_letterhead=values.get("remove_letterhead") == "1")
        except ValidationFailed as exc:
            return await self._page(event, documents, values=values, errors=exc.errors)
        flash(request, _("Document template saved."), "success")
        return redirect_to("document_queue", slug=slug)

    @post("/certificates/send", name="certificates_send")
    async def send_certificates(self, request: Request, slug: str, organiser: Account,
                                documents: DocumentService) -> Redirect:
        event = await self._event(slug, organiser, documents)
        count = await documents.send_certificates(event)
        flash(request, _("%(count)s certificates are being mailed.", count=count), "success")
        return redirect_to("document_queue", slug=slug)

    @get("/badges", name="badges_pdf")
    async def badges(self, slug: str, organiser: Account, documents: DocumentService,
                     registration: int | None = None) -> Response[bytes]:
        event = await self._event(slug, organiser, documents)
        people = await documents.badge_people(event, registration_id=registration)
        try:
            content = await documents.badges_pdf(event, people, single=registration is not None)
        except MissingFontError as exc:
            return Response(content=str(exc).encode(), media_type="text/plain; charset=utf-8", status_code=500)
        return pdf_response(content, f"{event.slug}-badges.pdf")


# ---- public ------------------------------------------------------------------------------------------------
class VerificationPage(Controller):
    path = "/verify"
    include_in_schema = False
    dependencies = {"documents": Provide(provide_documents)}

    @get("/{reference:str}", name="document_verify")
    async def verify(self, reference: str, documents: DocumentService) -> Template:
        result = await documents.verification(reference)
        return Template(template_name="documents/verify.html", context={"v": result},
                        headers={"Cache-Control": "no-cache", "X-Robots-Tag": "noindex"})


route_handlers = [RegistrationDocumentPages, InvitationDocumentPages, OrganiserDocumentPages, VerificationPage]
