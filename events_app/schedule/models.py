from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.orm import Mapped, mapped_column, relationship

from events_app.db import Base

if TYPE_CHECKING:
    from events_app.events.models import Event
    from events_app.speakers.models import Person


class Talk(Base):
    __tablename__ = "talk"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    abstract: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    ends_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    room: Mapped[str] = mapped_column(String(200), default="")
    # Bumped when time, room or status changes; iCalendar SEQUENCE for the talk's own VEVENT.
    revision: Mapped[int] = mapped_column(Integer, default=0)

    event: Mapped[Event] = relationship(back_populates="talks", lazy="noload")
    speaker_links: Mapped[list[TalkSpeaker]] = relationship(
        back_populates="talk",
        cascade="all, delete-orphan",
        order_by="TalkSpeaker.position",
        lazy="selectin",
    )
    speakers: AssociationProxy[list[Person]] = association_proxy(
        "speaker_links", "person", creator=lambda person: TalkSpeaker(person=person)
    )

    @property
    def room_name(self) -> str:
        """What to print as the talk's room (pages, LOCATION in calendars)."""
        return self.room


class TalkSpeaker(Base):
    """Ordered link between a talk and its speakers."""

    __tablename__ = "talk_speaker"
    __table_args__ = (UniqueConstraint("talk_id", "person_id"),)

    talk_id: Mapped[int] = mapped_column(ForeignKey("talk.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    talk: Mapped[Talk] = relationship(back_populates="speaker_links", lazy="noload")
    person: Mapped[Person] = relationship(lazy="joined")
