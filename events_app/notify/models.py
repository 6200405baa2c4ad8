from __future__ import annotations

import datetime as dt
import enum
from email.message import EmailMessage
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, LargeBinary, String, Text
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
    # For the organisers' mail log: the event the message is about, and what kind of message it is (the
    # template or "announcement", "reminder"). ``batch`` groups the messages of one send ("announcement:7"),
    # so its progress can be counted.
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("event.id", ondelete="CASCADE"), nullable=True, index=True, default=None
    )
    kind: Mapped[str] = mapped_column(String(60), default="")
    batch: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True, default=None)

    def set_message(self, message: EmailMessage) -> None:
        """The finished message to send (and to resend on retries); a deferred row's payload is no longer needed."""
        self.raw = message.as_bytes()
        self.subject = str(message["Subject"])[:300]
        self.payload = None


class AnnouncementAudience(str, enum.Enum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"  # waiting, or offered a seat
    PENDING = "pending"  # awaiting the organisers' approval
    CHECKED_IN = "checked_in"
    NOT_CHECKED_IN = "not_checked_in"  # confirmed, not (yet) at the door
    SPEAKERS = "speakers"
    ANSWERED = "answered"  # active registrations whose answer to ``question_key`` is (or includes) ``question_value``


class Announcement(Base):
    """A message an organiser sent to an audience of one event; each recipient gets their own outbox row."""

    __tablename__ = "announcement"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="SET NULL"), nullable=True)
    # Kept as written, so the record still says who sent it once the account is gone.
    author_name: Mapped[str] = mapped_column(String(300), default="")
    audience: Mapped[str] = mapped_column(String(20))
    question_key: Mapped[str] = mapped_column(String(80), default="")
    question_value: Mapped[str] = mapped_column(String(300), default="")
    subject_en: Mapped[str] = mapped_column(String(300), default="")
    body_en: Mapped[str] = mapped_column(Text, default="")
    subject_zh: Mapped[str] = mapped_column(String(300), default="")
    body_zh: Mapped[str] = mapped_column(Text, default="")
    recipient_count: Mapped[int] = mapped_column(Integer, default=0)
    # Messages a minute this announcement was spread over (0: as fast as the worker sends).
    per_minute: Mapped[int] = mapped_column(Integer, default=0)
