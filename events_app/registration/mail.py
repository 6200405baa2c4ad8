"""Registration e-mails: a request queues what to send; the outbox worker composes it.

A registration request only writes a small outbox row (template, registration id, attachment names);
rendering three templates, the MIME message, the QR code and the calendar invitation happens in the worker,
outside the event's lock. The message shows the registration and event as they are when it is composed
(seconds later), which is what the person should see anyway.

The private manage link in the mail is minted by the worker as it composes (``issue_manage_link``): the queued
row holds no token, and the database only ever holds the link's hash. Every row names its registration
(``reference``), so deleting the registration deletes its mail, queued or sent (``forget_registration_mail``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import secrets
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from typing import Any, Literal, cast

import segno
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload

from events_app.calendar.build import event_span, invitation_calendar
from events_app.calendar.services import build_components, event_entries
from events_app.core.i18n import speaking
from events_app.events.models import Event
from events_app.notify.models import OutboxMessage
from events_app.notify.services import (
    Attachment,
    Invitation,
    build_message,
    composer,
    defer_email,
    forget_mail,
    render_email,
)
from events_app.registration.models import Registration, RegistrationLink
from events_app.settings import Settings
from events_app.web.urls import absolute_url

COMPOSER = "registration"

# What a mail can carry, by the name a payload gives.
CHECKIN_QR = "checkin_qr"
INVITATION_REQUEST = "invitation:REQUEST"  # adds or updates the entry in the attendee's calendar
INVITATION_CANCEL = "invitation:CANCEL"  # removes it
# Every confirmation, however the seat was won (registered, approved, promoted, accepted).
CONFIRMATION_ATTACHMENTS = (CHECKIN_QR, INVITATION_REQUEST)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


async def issue_manage_link(session: AsyncSession, registration_id: int) -> str:
    """A further private link to the registration; only its hash is stored. Older links stay valid."""
    token = new_token()
    session.add(RegistrationLink(registration_id=registration_id, token_hash=hash_token(token)))
    await session.flush()
    return token


def mail_reference(registration_id: int) -> str:
    return f"registration:{registration_id}"


async def forget_registration_mail(session: AsyncSession, registration_id: int) -> int:
    return await forget_mail(session, mail_reference(registration_id))


def manage_url(settings: Settings, token: str) -> str:
    return absolute_url("registration_manage", token=token, base_url=settings.base_url)


def private_links(settings: Settings, token: str) -> dict[str, str]:
    """The links a registration's mail may carry, each built from its route (the token is the credential)."""
    return {
        "manage_url": manage_url(settings, token),
        "withdraw_url": absolute_url("registration_withdraw", token=token, base_url=settings.base_url),
        "unsubscribe_url": absolute_url("unsubscribe_page", token=token, base_url=settings.base_url),
    }


def checkin_qr(code: str) -> segno.QRCode:
    # Only the short code (QR alphanumeric mode, the smallest symbol): any scanner reads it, it types
    # into the check-in field, and it is cheap to draw for every confirmation mail.
    # A fixed mask skips segno's eight-way penalty search (most of the cost); readers decode any mask.
    return segno.make(code, error="m", micro=False, mask=0)


def queue_mail(session: AsyncSession, registration: Registration, template: str, *,
               attachments: Sequence[str] = (), **extra: Any) -> OutboxMessage:
    """Queues templates/emails/<template> for this (flushed) registration in the caller's transaction.

    ``extra`` joins the template context and must be JSON (numbers, strings, booleans)."""
    unknown = set(attachments) - {CHECKIN_QR, INVITATION_REQUEST, INVITATION_CANCEL}
    if unknown:
        raise ValueError(f"unknown attachments {sorted(unknown)}")
    payload = {
        "registration_id": registration.id, "template": template,
        "attachments": list(attachments), "extra": dict(extra),
    }
    row = defer_email(session, to=registration.email, composer=COMPOSER, payload=payload,
                      reference=mail_reference(registration.id))
    row.event_id, row.kind = registration.event_id, template  # for the organisers' mail log
    return row


async def invitation_for(session: AsyncSession, settings: Settings, registration: Registration, method: str,
                         now: dt.datetime) -> Invitation | None:
    """The event as an iTIP message for this attendee, built when the mail is composed from exactly what the
    feeds publish for its UID at that moment (calendar.services.event_entries and build_components): content
    and SEQUENCE can never be older than the feed, whichever path (form, API, worker) caused the mail or
    changed the event in between. None for a draft that was never published: no calendar knows it."""
    entry = (await event_entries(session, [registration.event_id], now)).get(registration.event_id)
    if entry is None:
        return None
    component = (await build_components(session, [entry], settings, stamp=now, attendee=True))[entry.key]
    body = invitation_calendar(component, attendee_email=registration.email, attendee_name=registration.name,
                               method=cast("Literal['REQUEST', 'CANCEL']", method), span=event_span([entry]))
    return Invitation(method, body)


async def registration_message(session: AsyncSession, settings: Settings, registration: Registration,
                               template: str, token: str, *, attachments: Sequence[str] = (),
                               extra: Mapping[str, Any] | None = None) -> EmailMessage:
    """The finished message; ``registration.event`` must be set."""
    context = {"registration": registration, "event": registration.event, **private_links(settings, token),
               **(extra or {})}
    subject, text, html = render_email(template, context, settings)
    files, invitation = [], None
    for name in attachments:
        if name == CHECKIN_QR:
            buffer = io.BytesIO()
            checkin_qr(registration.checkin_code).save(buffer, kind="png", scale=6)
            files.append(Attachment("check-in-code.png", buffer.getvalue(), "image", "png"))
        else:
            # REQUEST adds or updates the entry a calendar already has (same UID), CANCEL removes it.
            invitation = await invitation_for(session, settings, registration, name.removeprefix("invitation:"),
                                              dt.datetime.now(dt.UTC))
    return build_message(settings, to=registration.email, subject=subject, text_body=text, html_body=html,
                         attachments=files, invitation=invitation)


@composer(COMPOSER)
async def compose_registration_mail(session: AsyncSession, settings: Settings,
                                    payload: Mapping[str, Any]) -> EmailMessage | None:
    registration = await session.get(Registration, payload["registration_id"])
    if registration is None:  # the person deleted their data before the mail went out: send nothing
        return None
    registration.event = (await session.execute(
        select(Event).where(Event.id == registration.event_id).options(raiseload(Event.managers))
    )).scalar_one()
    # Rows queued before links were minted here (migration 0011) still carry their token. Rows queued before
    # invitations were built at composition carry a "sequence" pinned at queueing time; it is ignored on purpose.
    token = payload.get("token") or await issue_manage_link(session, registration.id)
    with speaking(registration.locale):  # theirs, not that of whoever caused the mail
        return await registration_message(session, settings, registration, payload["template"], token,
                                          attachments=payload.get("attachments") or (), extra=payload.get("extra"))
