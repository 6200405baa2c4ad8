from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ColumnElement,
    Enum,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from events_app.core.i18n import gettext as _
from events_app.db import Base, metadata

if TYPE_CHECKING:
    from events_app.accounts.models import Account
    from events_app.schedule.models import Talk


class EventKind(str, enum.Enum):
    CONFERENCE = "conference"
    WORKSHOP = "workshop"
    LECTURE = "lecture"


def kind_label(kind: EventKind) -> str:
    labels = {EventKind.CONFERENCE: _("Conference"), EventKind.WORKSHOP: _("Workshop"), EventKind.LECTURE: _("Lecture")}
    return labels[kind]


class EventStatus(str, enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


def _str_enum(enum_cls: type[enum.Enum]) -> Enum:
    # Stored as plain strings with a CHECK constraint: portable, and readable in SQL.
    return Enum(
        enum_cls,
        native_enum=False,
        length=20,
        values_callable=lambda e: [m.value for m in e],
        create_constraint=True,
        name=f"ck_{enum_cls.__name__.lower()}",
    )


event_managers = Table(
    "event_manager",
    metadata,
    Column("event_id", ForeignKey("event.id", ondelete="CASCADE"), primary_key=True),
    Column("account_id", ForeignKey("account.id", ondelete="CASCADE"), primary_key=True),
)


class Series(Base):
    __tablename__ = "series"

    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # Who created it: they may edit it (see events/access.py) even before an event of theirs is in it.
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), nullable=True, default=None
    )

    events: Mapped[list[Event]] = relationship(back_populates="series", lazy="noload")


class Event(Base):
    __tablename__ = "event"

    slug: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[EventKind] = mapped_column(_str_enum(EventKind), index=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    ends_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    timezone: Mapped[str] = mapped_column(String(64))
    venue_name: Mapped[str] = mapped_column(String(200), default="")
    venue_address: Mapped[str] = mapped_column(String(500), default="")
    online_url: Mapped[str] = mapped_column(String(500), default="")
    # The meeting link is for registered attendees only: left out of public pages, the public API and public
    # feeds; given in the confirmation, reminders, the manage page and the personal feed.
    online_url_private: Mapped[bool] = mapped_column(Boolean, default=False)
    geo_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    geo_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    language: Mapped[str] = mapped_column(String(35), default="en")
    organiser: Mapped[str] = mapped_column(String(300), default="")
    partners: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[EventStatus] = mapped_column(_str_enum(EventStatus), default=EventStatus.DRAFT, index=True)
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("series.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # How long a new talk is until the organiser says otherwise (the talk form's first free slot).
    default_talk_minutes: Mapped[int] = mapped_column(Integer, default=30)
    # Bumped on every change of time, place or status; iCalendar feeds use it as SEQUENCE.
    revision: Mapped[int] = mapped_column(Integer, default=0)

    series: Mapped[Series | None] = relationship(back_populates="events", lazy="joined")
    managers: Mapped[list[Account]] = relationship(secondary=event_managers, lazy="selectin")
    talks: Mapped[list[Talk]] = relationship(
        back_populates="event",
        lazy="noload",
        cascade="all, delete-orphan",
        # Scheduled talks by time, then the unscheduled ones (SQLite and PostgreSQL place NULLs apart otherwise).
        order_by="[Talk.starts_at.is_(None), Talk.starts_at, Talk.id]",
    )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def local_start(self) -> dt.datetime:
        return self.starts_at.astimezone(self.zone)

    @property
    def local_end(self) -> dt.datetime:
        return self.ends_at.astimezone(self.zone)

    @hybrid_property
    def is_public(self) -> bool:
        """Anyone may see it: published or cancelled, not a draft. In queries too (``Event.is_public``)."""
        return self.status != EventStatus.DRAFT

    @is_public.inplace.expression
    @classmethod
    def _is_public_condition(cls) -> ColumnElement[bool]:
        return cls.status != EventStatus.DRAFT

    @property
    def is_cancelled(self) -> bool:
        return self.status == EventStatus.CANCELLED
