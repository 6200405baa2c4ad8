"""Outgoing e-mail: render from templates, write to the outbox in the caller's transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape
from sqlalchemy import delete, func
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.core.i18n import current_locale
from events_app.db import rows_affected
from events_app.notify.models import OutboxMessage, OutboxStatus
from events_app.settings import Settings
from events_app.web.templating import build_environment

# A composer builds a deferred message in the worker from its row's payload; None means there is nothing to send
# any more (what it was about is gone). Domains register theirs at import; events_app.wiring imports them all.
Composer = Callable[[AsyncSession, Settings, Mapping[str, Any]], Awaitable[EmailMessage | None]]
COMPOSERS: dict[str, Composer] = {}


def composer(name: str) -> Callable[[Composer], Composer]:
    def register(function: Composer) -> Composer:
        COMPOSERS[name] = function
        return function

    return register


# A preparer runs once per worker pass, before its composer, with the payloads of all its rows in the pass: it can
# load in one statement what each message needs (instead of one query per message) and leave it in the session
# (the identity map, ``session.info``). Composers must still work without it: it is an optimisation.
Preparer = Callable[[AsyncSession, Settings, Sequence[Mapping[str, Any]]], Awaitable[None]]
PREPARERS: dict[str, Preparer] = {}


def preparer(name: str) -> Callable[[Preparer], Preparer]:
    def register(function: Preparer) -> Preparer:
        PREPARERS[name] = function
        return function

    return register


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "octet-stream"
    params: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Invitation:
    """An iTIP message (RFC 5546) to show as an invitation: ``content`` is the iCalendar text, ``method`` its
    METHOD (REQUEST, CANCEL)."""

    method: str
    content: bytes
    filename: str = "invite.ics"


@cache
def email_environment(templates_dir: Path) -> Environment:
    # Plain-text parts must not be HTML-escaped ("O'Connor", "R&D"); only the .html part is.
    return build_environment(templates_dir).overlay(autoescape=select_autoescape(["html"], default=False))


def render_email(name: str, context: Mapping[str, Any], settings: Settings) -> tuple[str, str, str | None]:
    """templates/emails/<name>.subject.txt, .txt and (optional) .html -> (subject, text, html)."""
    env = email_environment(settings.templates_dir)
    full_context = {"base_url": settings.base_url, **context}
    subject = " ".join(env.get_template(f"emails/{name}.subject.txt").render(full_context).split())
    text = env.get_template(f"emails/{name}.txt").render(full_context)
    try:
        html_template = env.get_template(f"emails/{name}.html")
    except Exception:  # noqa: BLE001 - the HTML part is optional
        html = None
    else:
        html = html_template.render(full_context)
    return subject, text, html


def build_message(
    settings: Settings,
    *,
    to: str,
    subject: str,
    text_body: str,
    html_body: str | None = None,
    attachments: Sequence[Attachment] = (),
    invitation: Invitation | None = None,
) -> EmailMessage:
    """multipart/mixed[multipart/alternative[text/plain, text/html, text/calendar], attachments...].

    Outlook and Gmail show their accept/decline bar only for a ``text/calendar; method=...`` part inside the
    multipart/alternative (RFC 6047 2.4), beside the readable bodies, with the method parameter equal to the
    body's METHOD; the same message also goes as an ``invite.ics`` attachment (application/ics, as Gmail sends
    its own) for clients that only offer attachments, without being a second invitation in the ones that read
    the inline part.
    """
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    # Header values never carry line breaks: no header injection from user-supplied text.
    message["Subject"] = " ".join(subject.split())
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = make_msgid(domain=settings.host)
    message.set_content(text_body, charset="utf-8")
    if html_body:
        message.add_alternative(html_body, subtype="html", charset="utf-8")
    if invitation is not None:
        message.add_alternative(
            invitation.content.decode("utf-8"), subtype="calendar", charset="utf-8",
            params={"method": invitation.method},
        )
        attachments = [*attachments, Attachment(invitation.filename, invitation.content, "application", "ics")]
    for item in attachments:
        if item.maintype == "text":
            message.add_attachment(
                item.content.decode("utf-8"), subtype=item.subtype, filename=item.filename, charset="utf-8",
                params=dict(item.params or {}),
            )
        else:
            message.add_attachment(item.content, maintype=item.maintype, subtype=item.subtype, filename=item.filename)
    return message


def _pending_row(to: str, **content: Any) -> OutboxMessage:
    return OutboxMessage(to_address=to, status=OutboxStatus.PENDING, attempts=0,
                         next_attempt_at=dt.datetime.now(dt.UTC), **content)


async def enqueue_email(
    session: AsyncSession,
    *,
    to: str,
    subject: str,
    text_body: str,
    html_body: str | None = None,
    attachments: Sequence[Attachment] = (),
    settings: Settings,
    event_id: int | None = None,
    kind: str = "",
) -> OutboxMessage:
    """Adds the message to the outbox; it is sent only if the caller's transaction commits.

    ``event_id`` puts it in that event's mail log, where its managers see it.
    """
    row = _pending_row(to, event_id=event_id, kind=kind)
    row.set_message(build_message(
        settings, to=to, subject=subject, text_body=text_body, html_body=html_body, attachments=attachments
    ))
    session.add(row)
    await session.flush()
    return row


async def enqueue_templated_email(
    session: AsyncSession,
    name: str,
    *,
    to: str,
    context: Mapping[str, Any],
    settings: Settings,
    attachments: Sequence[Attachment] = (),
    event_id: int | None = None,
) -> OutboxMessage:
    subject, text, html = render_email(name, context, settings)
    return await enqueue_email(
        session, to=to, subject=subject, text_body=text, html_body=html, attachments=attachments, settings=settings,
        event_id=event_id, kind=name,
    )


def defer_email(session: AsyncSession, *, to: str, composer: str, payload: Mapping[str, Any],
                reference: str | None = None) -> OutboxMessage:
    """Queues a message the worker composes before sending (see ``Composer``), in the caller's transaction.

    Rendering templates, building MIME, QR codes and calendar invitations costs milliseconds of CPU; a request
    that only records *what* to send stays short, which matters where requests queue behind a lock. The
    payload carries the locale, so the mail is written in the language of the request that caused it.
    """
    if composer not in COMPOSERS:
        raise LookupError(f"no mail composer named {composer!r}")
    row = _pending_row(to, subject="", raw=None, composer=composer, reference=reference,
                       payload={"locale": current_locale.get(), **payload})
    session.add(row)
    return row


# ---- retention ---------------------------------------------------------------------------------------------
FINISHED = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.DROPPED)


async def forget_mail(session: AsyncSession, reference: str) -> int:
    """Deletes every message about ``reference``, queued or sent, in the caller's transaction: a person who deletes
    their data is not kept in the outbox (names, addresses, private links), and nothing queued for them goes out."""
    result = await session.execute(delete(OutboxMessage).where(OutboxMessage.reference == reference))
    return rows_affected(result)


async def purge_finished_mail(session: AsyncSession, *, retention: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Deletes sent, failed and dropped messages finished longer than ``retention`` ago (the worker's chore)."""
    cutoff = (now or dt.datetime.now(dt.UTC)) - retention
    result = await session.execute(delete(OutboxMessage).where(
        OutboxMessage.status.in_(FINISHED),
        func.coalesce(OutboxMessage.sent_at, OutboxMessage.updated_at) <= cutoff,
    ))
    return rows_affected(result)


async def purge_expired_mail(session: AsyncSession, settings: Settings) -> int:
    """The periodic job "purge finished mail": what the retention setting no longer allows us to keep."""
    return await purge_finished_mail(session, retention=dt.timedelta(days=settings.mail_retention_days))
