from __future__ import annotations

import datetime as dt

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from events_app.db import Base
from events_app.events.models import Event, Series
from events_app.schedule.models import Talk
from events_app.speakers.models import Person


class CalendarTombstone(Base):
    """A deleted talk, still published as STATUS:CANCELLED for a while.

    Calendar clients only remove an entry they are told about; a VEVENT that silently vanishes from a feed
    stays in many clients (and in every invitation already accepted), so deletions are announced.
    """

    __tablename__ = "calendar_tombstone"

    # The UID is derived from it (talk-<id>@<host>) exactly as for a live talk, so the two can never differ.
    talk_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), unique=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    summary: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    ends_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    timezone: Mapped[str] = mapped_column(String(64))
    # SEQUENCE of the cancellation: one more than the last published version of the talk.
    sequence: Mapped[int] = mapped_column(Integer)
    deleted_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    # The talk's speakers, so their personal feeds can announce the cancellation too.
    person_ids: Mapped[list[int]] = mapped_column(JSON, default=list)


class WithdrawnEvent(Base):
    """A published event taken back to draft, still announced as STATUS:CANCELLED for a while.

    Withdrawing must look like a cancellation to every subscriber (a VEVENT that silently vanishes stays in
    their calendars). What is announced is the event as it was last public, kept here, so edits made to the
    draft afterwards are never published; the event's talks leave tombstones the same way. Deleted again when
    the event is published or cancelled, which publishes it under a higher SEQUENCE.
    """

    __tablename__ = "calendar_withdrawn_event"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), unique=True)
    # The feeds it stays in are chosen by what it was, not by the draft's later edits.
    kind: Mapped[str] = mapped_column(String(20))  # an EventKind value
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id", ondelete="SET NULL"), nullable=True)
    summary: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    ends_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    timezone: Mapped[str] = mapped_column(String(64))
    # The event's revision after the withdrawal: higher than anything published before.
    sequence: Mapped[int] = mapped_column(Integer)
    withdrawn_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)


# The feeds' ETag is the latest updated_at of these tables (calendar.services.feed_validator); with an index
# each max() is one lookup, which keeps a 304 answer in a few milliseconds however large the programme.
for _model in (Event, Talk, Person, Series):
    Index(f"ix_{_model.__tablename__}_updated_at", _model.updated_at)
