"""The organisers' mail log: every message queued for one event, its status, and retrying a failed one.

Without an SMTP server (a fresh `make run`), messages stay queued with the connection error as their last
error, and the log shows them as they would be sent; this is how a new user reads the app's mail.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from email import message_from_bytes
from email.policy import default as default_policy

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.core.i18n import gettext as _
from events_app.core.log_redaction import REDACTED
from events_app.core.validation import ValidationFailed
from events_app.events.models import Event
from events_app.notify.models import OutboxMessage, OutboxStatus

PAGE_SIZE = 200
# Private links in a message are the attendee's credential; the organiser reading the log does not need them.
_PRIVATE_LINK = re.compile(r"(/registrations/|/invitations/|/my/calendar/)[A-Za-z0-9_\-]{16,}")


def status_labels() -> dict[str, str]:
    return {
        OutboxStatus.PENDING.value: _("queued"),
        OutboxStatus.SENT.value: _("sent"),
        OutboxStatus.FAILED.value: _("failed"),
        OutboxStatus.DROPPED.value: _("dropped"),
    }


async def messages_for_event(session: AsyncSession, event: Event, *, status: str | None = None,
                             limit: int = PAGE_SIZE) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.event_id == event.id)
    if status in status_labels():
        query = query.where(OutboxMessage.status == OutboxStatus(status))
    return list(await session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)))


async def messages_for_events(session: AsyncSession, managed: ColumnElement[bool] | None, *,
                              status: str | None = None, limit: int = PAGE_SIZE
                              ) -> list[tuple[OutboxMessage, Event | None]]:
    """Every event's log at once: the events ``managed`` selects (the caller's access rule, a condition on
    Event); None for an administrator, who sees all mail, also mail about no event (speaker invitations)."""
    query = select(OutboxMessage, Event).outerjoin(Event, Event.id == OutboxMessage.event_id)
    if managed is not None:
        query = query.where(OutboxMessage.event_id.is_not(None), managed)
    if status in status_labels():
        query = query.where(OutboxMessage.status == OutboxStatus(status))
    return [(row, event) for row, event in
            (await session.execute(query.order_by(OutboxMessage.id.desc()).limit(limit))).all()]


async def status_counts(session: AsyncSession, event: Event) -> dict[str, int]:
    rows = (await session.execute(select(OutboxMessage.status, func.count())
                                  .where(OutboxMessage.event_id == event.id).group_by(OutboxMessage.status))).all()
    counts = {key: 0 for key in status_labels()}
    counts.update({status.value: n for status, n in rows})
    return counts


async def message_for_event(session: AsyncSession, event: Event, message_id: int) -> OutboxMessage | None:
    """Only a message of this event: another event's message is as unknown as a missing one."""
    return await session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id,
                                                            OutboxMessage.event_id == event.id))


async def retry(session: AsyncSession, row: OutboxMessage) -> None:
    """A failed message goes out again on the worker's next pass, with a fresh count of attempts."""
    if row.status != OutboxStatus.FAILED:
        raise ValidationFailed({"status": _("Only a failed message can be retried.")})
    row.status = OutboxStatus.PENDING
    row.attempts = 0
    row.next_attempt_at = dt.datetime.now(dt.UTC)
    await session.flush()


@dataclass(frozen=True)
class ReadableMessage:
    headers: list[tuple[str, str]]
    text: str
    attachments: list[str]
    composed: bool  # False while the worker has not written it yet


def readable(row: OutboxMessage) -> ReadableMessage:
    """The message as sent (or as it will be sent), private links blanked out."""
    if row.raw is None:
        return ReadableMessage(headers=[("To", row.to_address)], text="", attachments=[], composed=False)
    message = message_from_bytes(row.raw, policy=default_policy)
    headers = [(name, str(message[name])) for name in ("From", "To", "Subject", "Date", "List-Unsubscribe")
               if message[name] is not None]
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    attachments = [part.get_filename() or part.get_content_type() for part in message.iter_attachments()]
    redact = lambda value: _PRIVATE_LINK.sub(lambda m: m[1] + REDACTED, value)  # noqa: E731
    return ReadableMessage(headers=[(k, redact(v)) for k, v in headers], text=redact(text),
                           attachments=attachments, composed=True)
