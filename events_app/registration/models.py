from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from events_app.db import Base
from events_app.events.models import _str_enum

if TYPE_CHECKING:
    from events_app.events.models import Event


class RegistrationMode(str, enum.Enum):
    OPEN = "open"
    APPROVAL = "approval"
    CLOSED = "closed"


class PromotionMode(str, enum.Enum):
    CONFIRM = "confirm"  # a freed seat goes to the first waiting person at once
    OFFER = "offer"  # the first waiting person is offered the seat until a deadline


class RegistrationStatus(str, enum.Enum):
    CONFIRMED = "confirmed"
    PENDING = "pending"
    WAITLISTED = "waitlisted"
    OFFERED = "offered"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


# Statuses that hold a seat: an open offer keeps the seat until it is accepted, declined or expires.
SEAT_HOLDING = (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED)


class QuestionKind(str, enum.Enum):
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    CHECKBOX = "checkbox"


class RegistrationSettings(Base):
    """One row per event. Its row lock serialises every change to the event's seats."""

    __tablename__ = "registration_settings"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), unique=True)
    mode: Mapped[RegistrationMode] = mapped_column(_str_enum(RegistrationMode), default=RegistrationMode.CLOSED)
    opens_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    closes_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    waitlist_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    promotion: Mapped[PromotionMode] = mapped_column(_str_enum(PromotionMode), default=PromotionMode.CONFIRM)
    offer_hours: Mapped[int] = mapped_column(Integer, default=48)
    # [{"key", "label", "kind", "required", "options"}]; answers are stored by key.
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Minutes before the start at which confirmed attendees are reminded; None: the default (a day, and an hour
    # as well for online lectures; registration.reminders.default_offsets).
    reminder_offsets: Mapped[list[int] | None] = mapped_column(JSON, nullable=True, default=None)

    # View-only: set by services for rendering, never cascades an event into another session.
    event: Mapped[Event] = relationship(lazy="raise", viewonly=True)


class Registration(Base):
    __tablename__ = "registration"
    __table_args__ = (
        UniqueConstraint("event_id", "email_normalised", name="uq_registration_event_email"),
        UniqueConstraint("event_id", "checkin_code", name="uq_registration_event_checkin_code"),
        Index("ix_registration_event_status", "event_id", "status"),
    )

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    email_normalised: Mapped[str] = mapped_column(String(254), index=True)
    affiliation: Mapped[str] = mapped_column(String(200), default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The interface language the person registered in: every later mail to them (promotion, approval, a
    # changed time) is written in it, whoever's action caused it.
    locale: Mapped[str] = mapped_column(String(10), default="en")
    status: Mapped[RegistrationStatus] = mapped_column(_str_enum(RegistrationStatus))
    # Waitlist order, assigned under the event's lock (one more than the last person waiting); the position
    # shown is the rank in this order, so it has no gaps after people leave.
    waitlist_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    offer_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    checkin_code: Mapped[str] = mapped_column(String(16))
    checked_in_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    # SHA-256 of the manage link in the first e-mail; links e-mailed later are RegistrationLink rows. Every one
    # of them was only ever e-mailed, so opening one proves the address (email_verified_at).
    manage_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Registrations made before migration 0009 had their first link shown to whoever filled in the form as
    # well as e-mailed: it still opens this registration (people have it in their mail) but proves nothing.
    shown_link_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True, index=True)
    # When the address was proven: a link e-mailed to it was opened. Only then does anything that joins
    # registrations by address (the personal calendar feed) include this one or start from it.
    email_verified_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    # The last "your link again" mail, sent when someone registers this address again: at most one an hour.
    link_resent_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    # The personal calendar feed's own token, rotatable without touching the manage links.
    calendar_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    # Set when the person stopped the event's announcements and reminders (one click, RFC 8058); mail about
    # the registration itself (confirmation, offers, cancellation) still goes out.
    announcements_stopped_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    # The attendee's own IANA zone, when they gave one on their page: reminders show the time in it too.
    timezone: Mapped[str] = mapped_column(String(64), default="")

    # View-only: set by services for rendering, never cascades an event into another session.
    event: Mapped[Event] = relationship(lazy="raise", viewonly=True)


class RegistrationLink(Base):
    """A further private manage link. Only hashes are kept, so every later e-mail that carries a link gets a
    token of its own; older links stay valid."""

    __tablename__ = "registration_link"

    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)


class ReminderSent(Base):
    """One row per reminder sent: the unique pair is what makes a reminder go out once, whichever worker and
    however often the job runs."""

    __tablename__ = "reminder_sent"
    __table_args__ = (UniqueConstraint("registration_id", "offset_minutes", name="uq_reminder_sent_once"),)

    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id", ondelete="CASCADE"), index=True)
    offset_minutes: Mapped[int] = mapped_column(Integer)
