from __future__ import annotations

import datetime as dt
import enum

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from events_app.db import Base


class Person(Base):
    """One record per human across all events (speakers, lecturers, chairpersons)."""

    __tablename__ = "person"

    full_name: Mapped[str] = mapped_column(String(200), index=True)
    honorific: Mapped[str] = mapped_column(String(50), default="")
    affiliation: Mapped[str] = mapped_column(String(300), default="")
    # ISO 3166-1 alpha-2, upper case; empty when unknown.
    country: Mapped[str] = mapped_column(String(2), default="")
    # Private: shown to organisers only, never on public pages or the anonymous API.
    email: Mapped[str] = mapped_column(String(254), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    homepage: Mapped[str] = mapped_column(String(500), default="")
    orcid: Mapped[str] = mapped_column(String(19), default="")
    # Relative to settings.media_dir; a name we generated, never the uploaded file's name.
    photo_path: Mapped[str] = mapped_column(String(200), default="")
    # Who created the record: they may edit it while it is on no event yet (see speakers/access.py).
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), nullable=True, default=None
    )

    @property
    def display_name(self) -> str:
        return f"{self.honorific} {self.full_name}".strip() if self.honorific else self.full_name


class InvitationStatus(str, enum.Enum):
    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class Invitation(Base):
    """An organiser's invitation of a person to speak at an event, answered through a private link."""

    __tablename__ = "invitation"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    talk_id: Mapped[int | None] = mapped_column(ForeignKey("talk.id", ondelete="SET NULL"), nullable=True)
    kind: Mapped[str] = mapped_column(String(20), default="talk")
    status: Mapped[str] = mapped_column(String(20), default=InvitationStatus.INVITED.value, index=True)
    # SHA-256 of the link's token; the token itself is only ever in the e-mail.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Where this invitation's links go, chosen by the event's managers. Kept here rather than read from the
    # shared Person record, so that nobody who edits or merges the person elsewhere can redirect them.
    email: Mapped[str] = mapped_column(String(254), default="")
    title: Mapped[str] = mapped_column(String(300), default="")
    abstract: Mapped[str] = mapped_column(Text, default="")
    invited_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    responded_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    last_reminder_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    # Travel details: private to organisers.
    arrival_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    departure_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    needs_visa_letter: Mapped[bool] = mapped_column(Boolean, default=False)
    accommodation: Mapped[str] = mapped_column(Text, default="")

    person: Mapped[Person] = relationship(lazy="joined")
