"""Letter requests, per-event document templates and issued documents.

What identifies a person for a consulate (name as in the passport, nationality, passport number, date of birth)
is stored in ``EncryptedText`` columns (core/crypto.py): a dump of the database shows none of it. Only the
event's managers and administrators read it (documents/access.py), and the retention job empties those columns
a set time after the event (documents/services.py, ``purge_letter_data``).
"""

from __future__ import annotations

import datetime as dt
import enum

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, Date, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from events_app.core.crypto import EncryptedText
from events_app.db import Base
from events_app.events.models import _str_enum


class LetterStatus(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class DocumentKind(str, enum.Enum):
    LETTER = "letter"
    CERTIFICATE = "certificate"


class DocumentSettings(Base):
    """One row per event: whether registrants may ask for a letter, who certificates go to, and the template."""

    __tablename__ = "document_settings"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), unique=True)
    letters_on_registration: Mapped[bool] = mapped_column(Boolean, default=False)
    # Certificates go to everyone checked in; with this, to confirmed attendees as well.
    certificates_for_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    letterhead: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, default=None)
    signatory_name: Mapped[str] = mapped_column(String(200), default="")
    signatory_title: Mapped[str] = mapped_column(String(200), default="")
    # Body texts with {placeholders} (documents/rendering.py, PLACEHOLDERS); empty: the built-in text.
    letter_body_en: Mapped[str] = mapped_column(Text, default="")
    letter_body_zh: Mapped[str] = mapped_column(Text, default="")
    certificate_body_en: Mapped[str] = mapped_column(Text, default="")
    certificate_body_zh: Mapped[str] = mapped_column(Text, default="")


class LetterRequest(Base):
    """A person's request for a visa invitation letter, from their registration or their speaker invitation."""

    __tablename__ = "letter_request"
    __table_args__ = (Index("ix_letter_request_event_status", "event_id", "status"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    # Exactly one of the two: deleting the registration (the person's own "delete my data") deletes the request.
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registration.id", ondelete="CASCADE"), nullable=True, index=True, default=None)
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitation.id", ondelete="CASCADE"), nullable=True, index=True, default=None)
    email: Mapped[str] = mapped_column(String(254))
    # The highest class of personal data: encrypted at rest, NULL once purged.
    passport_name: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    nationality: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    passport_number: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    birth_date: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)  # ISO 8601
    stay_from: Mapped[dt.date] = mapped_column(Date)
    stay_until: Mapped[dt.date] = mapped_column(Date)
    purpose: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(5), default="en")
    status: Mapped[LetterStatus] = mapped_column(_str_enum(LetterStatus), default=LetterStatus.PENDING)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), nullable=True, default=None)
    # Kept as written, so the record still says who decided once the account is gone.
    decided_by_name: Mapped[str] = mapped_column(String(300), default="")
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True, default=None)
    reason: Mapped[str] = mapped_column(Text, default="")
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("issued_document.id", ondelete="SET NULL"), nullable=True, default=None)
    purged_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True, default=None)


class IssuedDocument(Base):
    """A letter or certificate as issued: what the public verification page shows, and nothing more."""

    __tablename__ = "issued_document"
    __table_args__ = (
        # One certificate per attendee and per speaker of an event: "send certificates" twice mails nothing twice.
        UniqueConstraint("event_id", "kind", "registration_id", name="uq_issued_document_registration"),
        UniqueConstraint("event_id", "kind", "person_id", name="uq_issued_document_person"),
    )

    reference: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[DocumentKind] = mapped_column(_str_enum(DocumentKind))
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    holder_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), default="")
    language: Mapped[str] = mapped_column(String(5), default="en")
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registration.id", ondelete="SET NULL"), nullable=True, default=None)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), nullable=True, default=None)
    # A certificate's talk titles (speakers), one per line.
    detail: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True, default=None)
    revoked_by_name: Mapped[str] = mapped_column(String(300), default="")
    # When "send certificates" (or an approval) queued it: sending again mails only the new ones.
    mailed_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True, default=None)
