from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.orm import Mapped, mapped_column, relationship

from events_app.db import Base, metadata

if TYPE_CHECKING:
    from events_app.events.models import Event
    from events_app.speakers.models import Person


class TalkKind(str, enum.Enum):
    TALK = "talk"
    LECTURE = "lecture"
    BREAK = "break"


class Venue(Base):
    __tablename__ = "venue"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    address: Mapped[str] = mapped_column(String(500), default="")

    rooms: Mapped[list[Room]] = relationship(back_populates="venue", lazy="selectin", order_by="Room.name")


class Room(Base):
    """A physical room: shared by every event held in it, so double bookings are found across events."""

    __tablename__ = "room"
    __table_args__ = (UniqueConstraint("venue_id", "name"),)

    venue_id: Mapped[int] = mapped_column(ForeignKey("venue.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)

    venue: Mapped[Venue] = relationship(back_populates="rooms", lazy="joined")


session_chair = Table(
    "session_chair",
    metadata,
    Column("session_id", ForeignKey("schedule_session.id", ondelete="CASCADE"), primary_key=True),
    Column("person_id", ForeignKey("person.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class ScheduleSession(Base):
    """A block of the timetable in one room (e.g. 'Plenary I'), holding talks and breaks."""

    __tablename__ = "schedule_session"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    track: Mapped[str] = mapped_column(String(100), default="")
    room_id: Mapped[int | None] = mapped_column(ForeignKey("room.id", ondelete="SET NULL"), nullable=True, index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    ends_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))

    room: Mapped[Room | None] = relationship(lazy="joined")
    chairs: Mapped[list[Person]] = relationship(secondary=session_chair, lazy="selectin", order_by="Person.full_name")


class Talk(Base):
    __tablename__ = "talk"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    abstract: Mapped[str] = mapped_column(Text, default="")
    # Both NULL: the talk is unscheduled (accepted, not yet given a time): it is left out of the public
    # programme, the feeds and the exports, and listed for the organisers to schedule.
    starts_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), index=True, nullable=True)
    ends_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    # Mirrors the assigned room's name (or free text when no room record is chosen), so older readers keep working.
    room: Mapped[str] = mapped_column(String(200), default="")
    room_id: Mapped[int | None] = mapped_column(ForeignKey("room.id", ondelete="SET NULL"), nullable=True, index=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("schedule_session.id", ondelete="SET NULL"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(20), default=TalkKind.TALK.value)
    # Bumped when time, room or status changes; iCalendar SEQUENCE for the talk's own VEVENT.
    revision: Mapped[int] = mapped_column(Integer, default=0)

    event: Mapped[Event] = relationship(back_populates="talks", lazy="noload")
    assigned_room: Mapped[Room | None] = relationship(lazy="joined")
    session: Mapped[ScheduleSession | None] = relationship(lazy="noload")
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
        if self.room_id is not None and self.assigned_room is not None:
            return self.assigned_room.name
        return self.room

    @property
    def is_break(self) -> bool:
        return self.kind == TalkKind.BREAK.value

    @property
    def is_scheduled(self) -> bool:
        return self.starts_at is not None and self.ends_at is not None


def timetable_order() -> tuple:
    """How talks are listed everywhere: scheduled ones by time, then the unscheduled ones, each by id
    (spelled out: SQLite sorts NULL first and PostgreSQL last)."""
    return Talk.starts_at.is_(None), Talk.starts_at, Talk.id


class TalkSpeaker(Base):
    """Ordered link between a talk and its speakers."""

    __tablename__ = "talk_speaker"
    __table_args__ = (UniqueConstraint("talk_id", "person_id"),)

    talk_id: Mapped[int] = mapped_column(ForeignKey("talk.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    talk: Mapped[Talk] = relationship(back_populates="speaker_links", lazy="noload")
    person: Mapped[Person] = relationship(lazy="joined")


class ProgrammeState(Base):
    """One row per event: a counter bumped by every change that shows in the programme (the ETag's source)."""

    __tablename__ = "programme_state"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), unique=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)


class ProgrammeVersion(Base):
    """A published programme: what each item looked like, to tell attendees what moved since."""

    __tablename__ = "programme_version"
    __table_args__ = (UniqueConstraint("event_id", "number"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    # {talk id: [title, start ISO, end ISO, room name, created ISO]}
    snapshot: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")


class MaterialKind(str, enum.Enum):
    SLIDES = "slides"
    DOCUMENT = "document"
    RECORDING = "recording"
    LINK = "link"


class Material(Base):
    """Slides, a document or a recording of a talk (or of the whole event): an uploaded file or a link."""

    __tablename__ = "material"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    talk_id: Mapped[int | None] = mapped_column(ForeignKey("talk.id", ondelete="CASCADE"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(20), default=MaterialKind.SLIDES.value)
    title: Mapped[str] = mapped_column(String(300))
    url: Mapped[str] = mapped_column(String(500), default="")  # a link; empty for an uploaded file
    # An uploaded file: relative to settings.media_dir, a name we generated; the type found from the content.
    file_path: Mapped[str] = mapped_column(String(200), default="")
    content_type: Mapped[str] = mapped_column(String(100), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    # Who added it, for the organisers ("organiser:3", "speaker:12").
    added_by: Mapped[str] = mapped_column(String(40), default="")
