"""Check-in at the door: the QR code, scanning, searching confirmed attendees."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select, update

from events_app.core.i18n import gettext as _
from events_app.db import rows_affected
from events_app.events.models import Event
from events_app.registration.base import RegistrationBase
from events_app.registration.mail import checkin_qr
from events_app.registration.models import Registration, RegistrationStatus
from events_app.registration.outcomes import CheckInResult


class CheckInRules(RegistrationBase):
    def qr_svg(self, registration: Registration) -> str:
        return checkin_qr(registration.checkin_code).svg_inline(scale=5, title=_("Check-in code"))

    async def check_in(self, event: Event, scanned: str) -> CheckInResult:
        """Marks attendance once for the scanned or typed code."""
        code = scanned.strip().upper()
        registration = await self.session.scalar(
            select(Registration).where(Registration.event_id == event.id, Registration.checkin_code == code)
        ) if code else None
        if registration is None:
            return CheckInResult("unknown")
        return await self.check_in_registration(registration)

    async def check_in_registration(self, registration: Registration) -> CheckInResult:
        if registration.status != RegistrationStatus.CONFIRMED:
            return CheckInResult("not_confirmed", registration)
        now = dt.datetime.now(dt.UTC)
        # A conditional update: two scanners at two doors cannot both check the same person in, and a
        # cancellation committed meanwhile is seen.
        result = await self.session.execute(
            update(Registration).where(
                Registration.id == registration.id, Registration.checked_in_at.is_(None),
                Registration.status == RegistrationStatus.CONFIRMED,
            ).values(checked_in_at=now)
        )
        await self.session.refresh(registration)
        if rows_affected(result) == 1:
            return CheckInResult("checked_in", registration, registration.checked_in_at)
        if registration.checked_in_at is None:
            return CheckInResult("not_confirmed", registration)
        return CheckInResult("already", registration, registration.checked_in_at)

    async def search_confirmed(self, event: Event, q: str) -> list[Registration]:
        if not q.strip():
            return []
        pattern = f"%{q.strip().lower()}%"
        return list(await self.session.scalars(
            select(Registration).where(
                Registration.event_id == event.id, Registration.status == RegistrationStatus.CONFIRMED,
                or_(func.lower(Registration.name).like(pattern), Registration.email_normalised.like(pattern)),
            ).order_by(Registration.name).limit(20)
        ))

