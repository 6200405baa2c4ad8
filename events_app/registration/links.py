"""Private links and addresses: the manage link (and sending it again), the personal calendar feed's token,
and which registrations one proven e-mail address joins."""

from __future__ import annotations

import datetime as dt

from litestar.exceptions import NotFoundException
from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import raiseload

from events_app.calendar.services import listed_in_feeds
from events_app.db import rows_affected
from events_app.events.models import Event
from events_app.registration.base import RegistrationBase
from events_app.registration.mail import hash_token, new_token
from events_app.registration.models import Registration, RegistrationLink, RegistrationStatus

# At most one "your link again" mail per registration (one address, one event) in this time.
LINK_RESEND_INTERVAL = dt.timedelta(hours=1)


FEED_STATUSES = (RegistrationStatus.CONFIRMED, RegistrationStatus.PENDING, RegistrationStatus.WAITLISTED,
                 RegistrationStatus.OFFERED)



class LinkRules(RegistrationBase):
    async def _resend_link(self, registration: Registration, event: Event, now: dt.datetime) -> bool:
        """Mails the registration's link again, unless that was done less than LINK_RESEND_INTERVAL ago.

        A conditional update decides, so two requests can never both send, whatever the processes or locks:
        the second one's UPDATE waits for the first to commit and then matches no row."""
        claimed = await self.session.execute(
            update(Registration)
            .where(Registration.id == registration.id, or_(
                Registration.link_resent_at.is_(None), Registration.link_resent_at <= now - LINK_RESEND_INTERVAL,
            ))
            .values(link_resent_at=now)
            .execution_options(synchronize_session=False)
        )
        if rows_affected(claimed) != 1:
            return False
        registration.event = event
        await self._enqueue_named(registration, "registration_link",
                                  position=await self.position_of(registration))
        return True

    async def by_token(self, token: str) -> Registration:
        """The registration a private link opens. A link that was only ever e-mailed proves the address:
        the registration is marked verified the first time one is used (see Registration.email_verified_at)."""
        token_hash = hash_token(token)
        registration = await self.session.scalar(select(Registration).where(or_(
            Registration.manage_token_hash == token_hash,
            Registration.id.in_(select(RegistrationLink.registration_id).where(RegistrationLink.token_hash == token_hash)),
        )))
        if registration is None:
            registration = await self.session.scalar(
                select(Registration).where(Registration.shown_link_hash == token_hash)
            )
        elif registration.email_verified_at is None:
            # Written under the event's lock, like every change to registrations: locking the row first
            # would invert the order and deadlock with a seat decision that holds the event and wants the row.
            await self._lock(registration.event_id)
            registration.email_verified_at = dt.datetime.now(dt.UTC)
            await self.session.flush()
        if registration is None:
            raise NotFoundException("This link is not valid (any more).")
        registration.event = (await self.session.execute(
            select(Event).where(Event.id == registration.event_id).options(raiseload(Event.managers))
        )).scalar_one()
        return registration

    async def rotate_calendar_token(self, registration: Registration) -> str:
        """A new token for the personal calendar feed; the previous one stops working."""
        token = new_token()
        registration.calendar_token_hash = hash_token(token)
        await self.session.flush()
        return token

    async def by_calendar_token(self, token: str) -> Registration | None:
        return await self.session.scalar(
            select(Registration).where(Registration.calendar_token_hash == hash_token(token))
        )

    def _same_proven_address(self, registration: Registration) -> ColumnElement[bool]:
        """The one rule for joining registrations by e-mail address: only from a registration whose address
        was proven, and only to registrations whose address was proven too (each by a link e-mailed for it).

        Typing an address proves nothing, so an unproven registration stands for itself alone; and a
        registration someone else made for this address joins the others only once its owner opened its link.
        """
        if registration.email_verified_at is None:
            return Registration.id == registration.id
        return and_(Registration.email_normalised == registration.email_normalised,
                    Registration.email_verified_at.is_not(None))

    async def calendar_feed_registrations(self, registration: Registration,
                                          now: dt.datetime | None = None) -> list[Registration]:
        """What a person's calendar feed shows: every registration under their proven e-mail address that
        holds or awaits a seat (confirmed; pending, waitlisted, offered as tentative), each with its event set.

        Cancelled and rejected registrations are left out: a subscribed calendar mirrors the feed, so a
        missing entry is removed, which is what the person wants. Events the organisers cancelled stay,
        marked cancelled, as long as the public feeds keep them (CANCELLED_KEPT_FOR after their end), so
        the change is seen rather than the entry silently vanishing; so do events taken back to draft after
        being published (withdrawn: cancelled for the calendar). Drafts never published are never shown.
        """
        now = now or dt.datetime.now(dt.UTC)
        rows = (await self.session.execute(
            select(Registration, Event).join(Event, Event.id == Registration.event_id).where(
                self._same_proven_address(registration),
                Registration.status.in_(FEED_STATUSES),
                listed_in_feeds(now),
            ).options(raiseload(Event.managers)).order_by(Event.starts_at, Event.id)
        )).all()
        for reg, event in rows:
            reg.event = event
        return [reg for reg, _event in rows]

    async def active_registrations_of_person(self, registration: Registration) -> list[Registration]:
        """The confirmed and pending registrations under this registration's proven e-mail address."""
        rows = list(await self.session.scalars(
            select(Registration).where(
                self._same_proven_address(registration),
                Registration.status.in_((RegistrationStatus.CONFIRMED, RegistrationStatus.PENDING)),
            ).order_by(Registration.id)
        ))
        events = {e.id: e for e in await self.session.scalars(
            select(Event).where(Event.id.in_({r.event_id for r in rows})).options(raiseload(Event.managers))
        )} if rows else {}
        for r in rows:
            r.event = events[r.event_id]
        return rows

