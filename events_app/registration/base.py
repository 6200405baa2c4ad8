"""What every part of the registration service shares: the session and settings, the event's lock, seat
counts, and queuing mail.

Every change to an event's seats happens with the event's ``registration_settings`` row locked (PostgreSQL:
``SELECT ... FOR UPDATE``; SQLite: a write to that row, which takes SQLite's single writer lock first), so the
count, the decision and the insert are one step whichever server process handles the request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy import and_, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.core.timefmt import format_when
from events_app.events.models import Event
from events_app.events.public import PublicEvent
from events_app.registration.mail import CONFIRMATION_ATTACHMENTS, manage_url, queue_mail
from events_app.registration.models import (
    SEAT_HOLDING,
    PromotionMode,
    Registration,
    RegistrationMode,
    RegistrationSettings,
    RegistrationStatus,
)
from events_app.settings import Settings


def when_in_event_zone(value: dt.datetime | None, event: Event | PublicEvent) -> str:
    return "" if value is None else f"{format_when(value, event.timezone)} ({event.timezone})"



def never_configured(event: Event | PublicEvent) -> RegistrationSettings:
    return RegistrationSettings(
        event_id=event.id, mode=RegistrationMode.CLOSED, capacity=None, waitlist_enabled=True,
        promotion=PromotionMode.CONFIRM, offer_hours=48, questions=[],
    )


class RegistrationBase:
    """The shared part of RegistrationService (see services.py): each concern is a class on top of it."""

    settings: Settings
    if TYPE_CHECKING:
        repository: SQLAlchemyAsyncRepository[Registration]

    @property
    def session(self) -> AsyncSession:
        # Always the request's (or job's) AsyncSession: the service is never built on a scoped session.
        return cast(AsyncSession, self.repository.session)

    @property
    def is_sqlite(self) -> bool:
        return self.session.get_bind().dialect.name == "sqlite"

    async def settings_for(self, event: Event) -> RegistrationSettings:
        """The event's settings; an event never configured has registration closed."""
        row = await self.session.scalar(select(RegistrationSettings).where(RegistrationSettings.event_id == event.id))
        return never_configured(event) if row is None else row

    async def _lock_registration(self, registration: Registration) -> RegistrationSettings | None:
        """Locks the registration's event, then re-reads the registration: decisions see its committed state."""
        event = registration.event
        locked = await self._lock(registration.event_id)
        await self.session.refresh(registration)
        registration.event = event  # refresh expires the loaded relationship; keep the event we already have
        return locked

    async def _lock(self, event_id: int) -> RegistrationSettings | None:
        if self.is_sqlite:
            # A write first: it takes SQLite's writer lock (waiting up to the busy timeout), so what follows
            # reads the latest data and no other writer can interleave until commit.
            await self.session.execute(
                update(RegistrationSettings).where(RegistrationSettings.event_id == event_id)
                .values(offer_hours=RegistrationSettings.offer_hours)
                .execution_options(changes_no_page=True)  # takes the lock, changes nothing
            )
        return await self.session.scalar(
            select(RegistrationSettings).where(RegistrationSettings.event_id == event_id)
            .with_for_update().execution_options(populate_existing=True)
        )

    async def _seats_taken(self, event_id: int) -> int:
        return (await self._seat_counts(event_id))[0]

    async def _seat_counts(self, event_id: int) -> tuple[int, int, int]:
        """(seats held, people waiting, last waitlist number): one query."""
        result = (await self.session.execute(select(*_seat_count_columns(event_id)))).one()
        return int(result[0]), int(result[1]), int(result[2])

    async def _seat_counts_and_registrations(self, event_id: int, email_keys: set[str],
                                             ) -> tuple[tuple[int, int, int], dict[str, Registration]]:
        """`_seat_counts` and the event's registrations of these addresses (read afresh), in one query: it runs
        with the event's lock held, where every round trip makes the other processes' registrations wait."""
        one_row = select(literal(1).label("one")).subquery()
        rows = (await self.session.execute(
            select(Registration, *_seat_count_columns(event_id)).select_from(one_row)
            .outerjoin(Registration, and_(Registration.event_id == event_id,
                                          Registration.email_normalised.in_(email_keys)))
            .execution_options(populate_existing=True)
        )).all()
        counts = (int(rows[0][1]), int(rows[0][2]), int(rows[0][3]))
        return counts, {row[0].email_normalised: row[0] for row in rows if row[0] is not None}

    async def _next_waitlist_seq(self, event_id: int) -> int:
        return (await self._seat_counts(event_id))[2] + 1

    async def status_counts(self, event: Event) -> dict[str, int]:
        rows = await self.session.execute(
            select(Registration.status, func.count()).where(Registration.event_id == event.id)
            .group_by(Registration.status)
        )
        return {(status.value if hasattr(status, "value") else status): int(n) for status, n in rows}

    async def position_of(self, registration: Registration) -> int | None:
        if registration.status != RegistrationStatus.WAITLISTED or registration.waitlist_seq is None:
            return None
        return int(await self.session.scalar(
            select(func.count()).select_from(Registration).where(
                Registration.event_id == registration.event_id,
                Registration.status == RegistrationStatus.WAITLISTED,
                Registration.waitlist_seq <= registration.waitlist_seq,
            )
        ) or 0)

    def manage_url(self, token: str) -> str:
        return manage_url(self.settings, token)

    def _queue_confirmation(self, registration: Registration, *, reason: str) -> None:
        queue_mail(self.session, registration, "registration_confirmed",
                   attachments=CONFIRMATION_ATTACHMENTS, reason=reason)

    async def enqueue_confirmation(self, registration: Registration, *, reason: str) -> None:
        """The one confirmation mail (registered, approved, promoted or accepted): the check-in QR code and the
        calendar invitation (METHOD:REQUEST) go with it."""
        self._queue_confirmation(registration, reason=reason)

    async def _enqueue_named(self, registration: Registration, name: str, *,
                             attachments: Sequence[str] = (), **extra: Any) -> None:
        queue_mail(self.session, registration, name, attachments=attachments, **extra)


def _seat_count_columns(event_id: int) -> tuple[Any, Any, Any]:
    """Seats held, people waiting and the last waitlist number of an event, as scalar subqueries."""
    of_event = Registration.event_id == event_id
    waiting = (of_event, Registration.status == RegistrationStatus.WAITLISTED)
    return (
        select(func.count()).select_from(Registration)
        .where(of_event, Registration.status.in_(SEAT_HOLDING)).scalar_subquery(),
        select(func.count()).select_from(Registration).where(*waiting).scalar_subquery(),
        select(func.coalesce(func.max(Registration.waitlist_seq), 0)).where(*waiting).scalar_subquery(),
    )
