"""What organisers read: the list of registrations, the dashboard, the CSV export."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar.exceptions import NotFoundException
from sqlalchemy import func, or_, select

from events_app.core.csv_cells import csv_text
from events_app.core.i18n import current_locale
from events_app.core.i18n import gettext as _
from events_app.core.timefmt import format_when
from events_app.core.validation import country_names
from events_app.events.models import Event
from events_app.registration.base import RegistrationBase
from events_app.registration.models import Registration, RegistrationStatus
from events_app.registration.outcomes import Dashboard
from events_app.registration.questions import answer_text


class ReportRules(RegistrationBase):
    async def for_event(self, event: Event, registration_id: int) -> Registration:
        registration = await self.session.scalar(
            select(Registration).where(Registration.id == registration_id, Registration.event_id == event.id)
        )
        if registration is None:
            raise NotFoundException("No such registration.")
        registration.event = event
        return registration

    async def list_for_event(self, event: Event, *, status: str | None = None, q: str | None = None
                             ) -> list[tuple[Registration, int | None]]:
        statement = select(Registration).where(Registration.event_id == event.id)
        if status in {s.value for s in RegistrationStatus}:
            statement = statement.where(Registration.status == RegistrationStatus(status))
        if q and q.strip():
            pattern = f"%{q.strip().lower()}%"
            statement = statement.where(or_(
                func.lower(Registration.name).like(pattern), Registration.email_normalised.like(pattern),
                func.lower(Registration.affiliation).like(pattern),
            ))
        rows = list(await self.session.scalars(statement.order_by(Registration.created_at, Registration.id)))
        # Positions are ranks in waitlist order, computed here in one pass rather than a query per row.
        waiting = sorted((r for r in rows if r.status == RegistrationStatus.WAITLISTED), key=lambda r: r.waitlist_seq or 0)
        ahead = await self._waitlist_ranks(event, waiting)
        return [(r, ahead.get(r.id)) for r in rows]

    async def _waitlist_ranks(self, event: Event, registrations: Sequence[Registration]) -> dict[int, int]:
        if not registrations:
            return {}
        seqs = list(await self.session.scalars(
            select(Registration.waitlist_seq).where(
                Registration.event_id == event.id, Registration.status == RegistrationStatus.WAITLISTED
            ).order_by(Registration.waitlist_seq)
        ))
        rank = {seq: index for index, seq in enumerate(seqs, start=1)}
        return {r.id: rank[r.waitlist_seq] for r in registrations if r.waitlist_seq in rank}

    async def dashboard(self, event: Event, *, top: int = 12) -> Dashboard:
        counts = await self.status_counts(event)
        attending = (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED, RegistrationStatus.PENDING)
        checked_in = await self.session.scalar(
            select(func.count()).select_from(Registration)
            .where(Registration.event_id == event.id, Registration.checked_in_at.is_not(None))
        )

        async def breakdown(column: Any) -> list[tuple[str, int]]:
            rows = await self.session.execute(
                select(column, func.count()).where(Registration.event_id == event.id,
                                                   Registration.status.in_(attending))
                .group_by(column).order_by(func.count().desc(), column).limit(top)
            )
            return [(value or "", int(n)) for value, n in rows]

        return Dashboard(counts=counts, checked_in=int(checked_in or 0),
                         by_country=await breakdown(Registration.country),
                         by_affiliation=await breakdown(Registration.affiliation))

    async def export_csv(self, event: Event) -> str:
        """Every registration with its answers; cells are made formula-safe by core/csv_cells.py."""
        row = await self.settings_for(event)
        questions = list(row.questions or [])
        # The code columns stay as they were (imports match on them); the words next to them are for people.
        # after the columns they always had, so a column's position in an older import still holds.
        header = [_("Name"), _("E-mail"), _("Affiliation"), _("Country"), _("Status"), _("Waitlist position"),
                  _("Registered at (UTC)"), _("Checked in at (UTC)"), _("Country name"), _("Status (in words)"),
                  # For people: the same instants in the event's zone and the reader's locale ("7 Dec 2026 14:00");
                  # the UTC columns stay where they were for sorting and imports. The questions, which differ
                  # from event to event, stay last.
                  _("Registered at (event time)"), _("Checked in at (event time)"),
                  *[q["label"] for q in questions]]
        countries = country_names(current_locale.get())
        return csv_text(header, ((
            registration.name, registration.email, registration.affiliation, registration.country,
            registration.status.value, position or "",
            registration.created_at.strftime("%Y-%m-%d %H:%M"),
            registration.checked_in_at.strftime("%Y-%m-%d %H:%M") if registration.checked_in_at else "",
            countries.get(registration.country or "", ""), status_label(registration.status),
            format_when(registration.created_at, event.timezone),
            format_when(registration.checked_in_at, event.timezone) if registration.checked_in_at else "",
            *[answer_text(q, registration.answers or {}) for q in questions],
        ) for registration, position in await self.list_for_event(event)))


def status_label(status: RegistrationStatus | str) -> str:
    """A registration status in the reader's words (pages, CSV); the stable code is ``status.value``."""
    value = status.value if isinstance(status, RegistrationStatus) else str(status)
    labels = {"confirmed": _("Confirmed"), "pending": _("Pending approval"), "waitlisted": _("Waitlisted"),
              "offered": _("Seat offered"), "cancelled": _("Cancelled"), "rejected": _("Not accepted")}
    return labels.get(value, value)
