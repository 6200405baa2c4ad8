from __future__ import annotations

import datetime as dt
import enum
from email.message import EmailMessage
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, Enum, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from events_app.db import Base


class OutboxStatus(str, enum.Enum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    DROPPED = "dropped"  # a deferred message whose subject no longer exists (e.g. the person deleted their data)


class OutboxMessage(Base):
    """An e-mail written in the same transaction as the change that caused it; the worker delivers it."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_due", "status", "next_attempt_at"),)

    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    # The complete RFC 5322 message. Either built at enqueue time, or (when ``composer`` is set) built by the
    # worker from ``payload`` before the first attempt, so a request only writes a small row; once built it is
    # kept, and retries send the same bytes.
    raw: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    composer: Mapped[str] = mapped_column(String(60), default="")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[OutboxStatus] = mapped_column(
        Enum(OutboxStatus, native_enum=False, length=10, values_callable=lambda e: [m.value for m in e]),
        default=OutboxStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # What the message is about ("registration:42"), so deleting a person's data deletes their mail with it.
    reference: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)

    def set_message(self, message: EmailMessage) -> None:
        """The finished message to send (and to resend on retries); a deferred row's payload is no longer needed."""
        self.raw = message.as_bytes()
        self.subject = str(message["Subject"])[:300]
        self.payload = None
