"""Seats freed and passed on: cancellations, the waitlist, offers and their deadlines, approvals (each with
the event's lock held)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from events_app.core.i18n import gettext as _
from events_app.core.i18n import speaking
from events_app.events.models import Event
from events_app.registration.base import RegistrationBase, when_in_event_zone
from events_app.registration.mail import INVITATION_CANCEL, forget_registration_mail
from events_app.registration.models import (
    PromotionMode,
    Registration,
    RegistrationSettings,
    RegistrationStatus,
)
from events_app.registration.outcomes import RegistrationUnavailable
from events_app.registration.questions import clean_attendee


class WaitlistRules(RegistrationBase):
    async def update_answers(self, registration: Registration, data: Mapping[str, Any]) -> Registration:
        if registration.status in (RegistrationStatus.CANCELLED, RegistrationStatus.REJECTED):
            raise RegistrationUnavailable(_("This registration is no longer active."))
        row = await self.settings_for(registration.event)
        cleaned = clean_attendee({**data, "email": registration.email}, row.questions or [])
        for key in ("name", "affiliation", "country", "answers"):
            setattr(registration, key, cleaned[key])
        await self.session.flush()
        return registration

    async def cancel(self, registration: Registration, *, by_organiser: bool = False) -> Registration:
        """Frees the seat and, in the same transaction, gives it to the first person waiting."""
        event = registration.event
        locked = await self._lock(registration.event_id)
        await self.session.refresh(registration)
        if registration.status in (RegistrationStatus.CANCELLED, RegistrationStatus.REJECTED):
            return registration
        had_seat = registration.status == RegistrationStatus.CONFIRMED
        registration.status = RegistrationStatus.CANCELLED
        registration.waitlist_seq = None
        registration.offer_expires_at = None
        await self.session.flush()
        registration.event = event
        # Only a confirmed seat was sent an invitation; the CANCEL takes that entry out of the calendar.
        await self._enqueue_named(registration, "registration_cancelled", by_organiser=by_organiser,
                                  attachments=[INVITATION_CANCEL] if had_seat else ())
        if locked is not None:
            await self._expire_offers(event, locked)
            await self._fill_free_seats(event, locked)
        return registration

    async def delete_personal_data(self, registration: Registration) -> None:
        """Cancels (so the seat passes on) and removes the row with every answer and link."""
        event = registration.event
        if registration.status not in (RegistrationStatus.CANCELLED, RegistrationStatus.REJECTED):
            locked = await self._lock(registration.event_id)
            await self.session.refresh(registration)
            registration.status = RegistrationStatus.CANCELLED
            await self.session.flush()
            if locked is not None:
                await self._fill_free_seats(event, locked)
        registration_id = registration.id
        await self.session.delete(registration)  # its links go with it (ON DELETE CASCADE): old mails' links die
        await self.session.flush()
        # Its mail too, queued or sent, in the same transaction: names, addresses and links kept nowhere.
        await forget_registration_mail(self.session, registration_id)

    async def accept_offer(self, registration: Registration) -> Registration:
        event = registration.event
        locked = await self._lock(registration.event_id)
        if locked is not None:
            await self._expire_offers(event, locked)
        await self.session.refresh(registration)
        registration.event = event
        if registration.status != RegistrationStatus.OFFERED:
            raise RegistrationUnavailable(_("This offer is no longer open."))
        registration.status = RegistrationStatus.CONFIRMED
        registration.offer_expires_at = None
        await self.session.flush()
        await self.enqueue_confirmation(registration, reason="accepted")
        return registration

    async def _expire_offers(self, event: Event, locked: RegistrationSettings) -> None:
        """Offers past their deadline lapse (called with the lock held); their seats are then refilled."""
        if locked.promotion != PromotionMode.OFFER:
            return
        now = dt.datetime.now(dt.UTC)
        expired = list(await self.session.scalars(
            select(Registration).where(
                Registration.event_id == event.id, Registration.status == RegistrationStatus.OFFERED,
                Registration.offer_expires_at < now,
            )
        ))
        for registration in expired:
            registration.status = RegistrationStatus.CANCELLED
            registration.offer_expires_at = None
            registration.event = event
            await self._enqueue_named(registration, "registration_offer_expired")
        if expired:
            await self.session.flush()
            await self._fill_free_seats(event, locked)

    async def _fill_free_seats(self, event: Event, locked: RegistrationSettings) -> list[Registration]:
        """Gives free seats to the first people on the waitlist (the caller holds the lock)."""
        if locked.capacity is None:
            free = None
        else:
            free = locked.capacity - await self._seats_taken(event.id)
            if free <= 0:
                return []
        statement = (
            select(Registration)
            .where(Registration.event_id == event.id, Registration.status == RegistrationStatus.WAITLISTED)
            .order_by(Registration.waitlist_seq)
        )
        if free is not None:
            statement = statement.limit(free)
        promoted = list(await self.session.scalars(statement))
        now = dt.datetime.now(dt.UTC)
        for registration in promoted:
            registration.event = event
            registration.waitlist_seq = None
            if locked.promotion == PromotionMode.OFFER:
                registration.status = RegistrationStatus.OFFERED
                registration.offer_expires_at = now + dt.timedelta(hours=locked.offer_hours)
            else:
                registration.status = RegistrationStatus.CONFIRMED
        await self.session.flush()
        for registration in promoted:
            if registration.status == RegistrationStatus.OFFERED:
                with speaking(registration.locale):  # the mail is in their language, so is the date in it
                    deadline = when_in_event_zone(registration.offer_expires_at, event)
                await self._enqueue_named(registration, "registration_offered", deadline=deadline)
            else:
                await self.enqueue_confirmation(registration, reason="promoted")
        return promoted

    async def expire_due_offers(self) -> int:
        """For a periodic job: lapses overdue offers in every event and passes the seats on."""
        now = dt.datetime.now(dt.UTC)
        event_ids = list(await self.session.scalars(
            select(Registration.event_id).where(
                Registration.status == RegistrationStatus.OFFERED, Registration.offer_expires_at < now
            ).distinct()
        ))
        for event_id in event_ids:
            event = await self.session.get_one(Event, event_id)
            locked = await self._lock(event_id)
            if locked is not None:
                await self._expire_offers(event, locked)
        return len(event_ids)

    async def approve(self, registration: Registration) -> Registration:
        """Pending -> confirmed if a seat is free, else waitlisted (or refused when there is no waitlist)."""
        locked = await self._lock_registration(registration)
        event = registration.event
        if registration.status != RegistrationStatus.PENDING:
            raise RegistrationUnavailable(_("Only pending registrations can be approved."))
        if locked is None or locked.capacity is None or await self._seats_taken(event.id) < locked.capacity:
            registration.status = RegistrationStatus.CONFIRMED
            await self.session.flush()
            await self.enqueue_confirmation(registration, reason="approved")
        elif locked.waitlist_enabled:
            registration.waitlist_seq = await self._next_waitlist_seq(event.id)
            registration.status = RegistrationStatus.WAITLISTED
            await self.session.flush()
            await self._enqueue_named(registration, "registration_waitlisted",
                                      position=await self.position_of(registration))
        else:
            raise RegistrationUnavailable(_("The event is full; raise the capacity first."))
        return registration

    async def reject(self, registration: Registration) -> Registration:
        await self._lock_registration(registration)
        if registration.status not in (RegistrationStatus.PENDING, RegistrationStatus.WAITLISTED):
            raise RegistrationUnavailable(_("Only pending or waitlisted registrations can be rejected."))
        registration.status = RegistrationStatus.REJECTED
        registration.waitlist_seq = None
        await self.session.flush()
        await self._enqueue_named(registration, "registration_rejected")
        return registration

    async def move_from_waitlist(self, registration: Registration) -> Registration:
        """Confirms a waitlisted person ahead of the queue, if a seat is free; never beyond capacity."""
        locked = await self._lock_registration(registration)
        event = registration.event
        if registration.status != RegistrationStatus.WAITLISTED:
            raise RegistrationUnavailable(_("This person is not on the waitlist."))
        if locked is not None and locked.capacity is not None and await self._seats_taken(event.id) >= locked.capacity:
            raise RegistrationUnavailable(_("The event is full; raise the capacity first."))
        registration.status = RegistrationStatus.CONFIRMED
        registration.waitlist_seq = None
        await self.session.flush()
        await self.enqueue_confirmation(registration, reason="promoted")
        return registration

