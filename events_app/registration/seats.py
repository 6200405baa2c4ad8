"""Who gets a seat: the event's registration settings, availability, and deciding registrations under the
event's lock, several at once (group commit)."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import secrets
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from litestar.exceptions import NotFoundException
from sqlalchemy import ScalarSelect, Select, bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import raiseload

from events_app.core.i18n import current_locale, speaking
from events_app.core.i18n import gettext as _
from events_app.core.validation import Conflict, Errors
from events_app.events.models import Event, EventStatus
from events_app.events.public import PublicEvent
from events_app.events.services import parse_instant
from events_app.registration.base import never_configured, when_in_event_zone
from events_app.registration.links import LinkRules
from events_app.registration.mail import hash_token, new_token, queue_mail
from events_app.registration.models import (
    PromotionMode,
    Registration,
    RegistrationLink,
    RegistrationMode,
    RegistrationSettings,
    RegistrationStatus,
)
from events_app.registration.outcomes import (
    AlreadyRegistered,
    Availability,
    Registered,
    RegistrationUnavailable,
)
from events_app.registration.questions import clean_attendee, clean_questions, normalise_email
from events_app.registration.waitlist import WaitlistRules
from events_app.web.page_cache import announce_seat_change_now


def new_checkin_code() -> str:
    # 10 characters from an alphabet without look-alikes: easy to type if a scanner fails.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))



def _count_of(*statuses: RegistrationStatus) -> ScalarSelect[int]:
    # Equalities, not IN: an IN list is expanded again on every execution.
    return (select(func.count()).select_from(Registration)
            .where(Registration.event_id == bindparam("event_id"),
                   or_(*(Registration.status == status for status in statuses))).scalar_subquery())


# Read on every view of an event page (seat counts are never kept): built once, so executing it skips building
# the statement and its cache key.
# What the panel shows of the settings, as plain columns (run on the connection: no ORM loading).
_PANEL_COLUMNS = ("mode", "opens_at", "closes_at", "capacity", "waitlist_enabled", "questions")
_AVAILABILITY = (
    select(*(getattr(RegistrationSettings, name) for name in _PANEL_COLUMNS),
           _count_of(RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED),
           _count_of(RegistrationStatus.WAITLISTED))
    .where(RegistrationSettings.event_id == bindparam("event_id"))
)


class SeatRules(WaitlistRules, LinkRules):
    def clean_settings(self, event: Event, data: Mapping[str, Any]) -> dict[str, Any]:
        errors = Errors()
        cleaned: dict[str, Any] = {}
        if "mode" in data:
            if data["mode"] not in {m.value for m in RegistrationMode}:
                errors.add("mode", _("Choose open, approval or closed."))
            else:
                cleaned["mode"] = RegistrationMode(data["mode"])
        for name in ("opens_at", "closes_at"):
            if name in data:
                cleaned[name] = (
                    None if data[name] in (None, "") else parse_instant(errors, name, data[name], event.timezone)
                )
        if cleaned.get("opens_at") and cleaned.get("closes_at") and cleaned["closes_at"] <= cleaned["opens_at"]:
            errors.add("closes_at", _("Registration must close after it opens."))
        if "capacity" in data:
            cleaned["capacity"] = self._whole_number(errors, "capacity", data["capacity"], low=0, high=100000,
                                                     allow_empty=True)
        if "waitlist_enabled" in data:
            cleaned["waitlist_enabled"] = data["waitlist_enabled"] in (True, "on", "true", "1", 1)
        if "promotion" in data:
            if data["promotion"] not in {p.value for p in PromotionMode}:
                errors.add("promotion", _("Choose confirm or offer."))
            else:
                cleaned["promotion"] = PromotionMode(data["promotion"])
        if "offer_hours" in data:
            cleaned["offer_hours"] = self._whole_number(errors, "offer_hours", data["offer_hours"], low=1, high=720)
        if "questions" in data:
            cleaned["questions"] = clean_questions(errors, data["questions"])
        errors.raise_if_any()
        return cleaned

    @staticmethod
    def _whole_number(errors: Errors, name: str, value: Any, *, low: int, high: int,
                      allow_empty: bool = False) -> int | None:
        if value in (None, "") and allow_empty:
            return None
        try:
            number = int(str(value).strip())
        except (TypeError, ValueError):
            errors.add(name, _("Enter a whole number."))
            return None
        if not low <= number <= high:
            errors.add(name, _("Enter a number from %(low)s to %(high)s.", low=low, high=high))
        return number

    async def update_settings(self, event: Event, data: Mapping[str, Any]) -> RegistrationSettings:
        """Changes the settings; a larger capacity fills the new seats from the waitlist at once."""
        cleaned = self.clean_settings(event, data)
        row = await self._lock(event.id)
        if row is None:
            self.session.add(RegistrationSettings(
                event_id=event.id, mode=RegistrationMode.CLOSED, waitlist_enabled=True,
                promotion=PromotionMode.CONFIRM, offer_hours=48, questions=[],
            ))
            try:
                await self.session.flush()
            except IntegrityError:  # created by a concurrent request: lock that one
                await self.session.rollback()
            row = await self._lock(event.id)
            assert row is not None
        for key, value in cleaned.items():
            setattr(row, key, value)
        await self.session.flush()
        await self._fill_free_seats(event, row)
        return row

    def _closed_reason(self, event: Event | PublicEvent, row: RegistrationSettings, now: dt.datetime) -> str | None:
        if event.status == EventStatus.CANCELLED:
            return _("This event has been cancelled; registration is closed.")
        if event.status != EventStatus.PUBLISHED:
            return _("This event is not open for registration.")
        if row.mode == RegistrationMode.CLOSED:
            return _("Registration is closed.")
        if row.opens_at and now < row.opens_at:
            return _("Registration opens on %(when)s.", when=when_in_event_zone(row.opens_at, event))
        if (row.closes_at and now >= row.closes_at) or now >= event.ends_at:
            return _("Registration has closed.")
        return None

    async def availability(self, event: Event) -> Availability:
        row = await self.settings_for(event)
        counts = await self.status_counts(event) if row.id else {}
        confirmed = counts.get(RegistrationStatus.CONFIRMED.value, 0) + counts.get(RegistrationStatus.OFFERED.value, 0)
        return self._availability(event, row, confirmed, counts.get(RegistrationStatus.WAITLISTED.value, 0))

    async def panel_row(self, event: Event | PublicEvent) -> tuple | None:
        """What the public event page shows of the settings and both counts, as plain values in one statement
        (None if the event's registration was never configured)."""
        connection = await self.session.connection()
        found = (await connection.execute(_AVAILABILITY, {"event_id": event.id})).first()
        return None if found is None else tuple(found)

    def panel_availability(self, event: Event | PublicEvent, found: tuple | None) -> Availability:
        """`availability` from a `panel_row` (the clock and the language are applied now)."""
        if found is None:
            return self._availability(event, never_configured(event), 0, 0)
        *columns, confirmed, waitlisted = found
        row = RegistrationSettings(event_id=event.id, **dict(zip(_PANEL_COLUMNS, columns, strict=True)))  # not added
        return self._availability(event, row, int(confirmed or 0), int(waitlisted or 0))

    def _availability(self, event: Event | PublicEvent, row: RegistrationSettings, confirmed: int,
                      waitlisted: int) -> Availability:
        reason = self._closed_reason(event, row, dt.datetime.now(dt.UTC))
        full = row.capacity is not None and confirmed >= row.capacity and row.mode == RegistrationMode.OPEN
        if reason is None and full and not row.waitlist_enabled:
            reason = _("This event is full.")
        if reason is None:
            message = _("The event is full; you can join the waitlist.") if full else _("Registration is open.")
        return Availability(
            mode=row.mode, is_open=reason is None, message=reason or message, capacity=row.capacity,
            confirmed=confirmed, waitlisted=waitlisted,
            waitlist_enabled=row.waitlist_enabled, questions=list(row.questions or []),
        )

    async def event_for_registration(self, slug: str) -> tuple[Event, RegistrationSettings | None]:
        """The event by address (drafts are unknown to the public) and its settings: one query."""
        result = (await self.session.execute(_event_for_registration_statement(), {"slug": slug})).first()
        if result is None:
            raise NotFoundException("No such event.")
        return result[0], result[1]

    def prepare(self, event: Event, data: Mapping[str, Any], row: RegistrationSettings) -> Applicant:
        """Checks the form and the event without the lock: bad input and closed events stop here."""
        reason = self._closed_reason(event, row, dt.datetime.now(dt.UTC))
        if reason:
            raise RegistrationUnavailable(reason)
        cleaned = clean_attendee(data, row.questions or [])
        return Applicant(cleaned=cleaned, email_key=normalise_email(cleaned["email"]), token=new_token(),
                         locale=current_locale.get())

    async def register_and_commit(self, event: Event, data: Mapping[str, Any], *,
                                  row: RegistrationSettings | None = None) -> Registered:
        """`register` and commit, for requests: registrations for one event arriving together in this process
        are decided and committed together (group commit).

        Seats are decided one at a time under the event's row lock, so every registration waits for the ones
        before it; paying the lock, the counting and the commit once per group instead of once per person is
        what lets a popular lecture take hundreds of registrations a second. Whoever takes this process's turn
        for the event settles everyone waiting in the room, itself included; the others find their outcome
        ready when their turn comes.
        """
        applicant = self.prepare(event, data, row or await self.settings_for(event))
        # Nothing is written yet: end the reading transaction so the connection goes back to the pool while
        # this request waits, instead of idling in a transaction beside everyone else in the room.
        await self.session.commit()
        room = _waiting_room(event.id)
        for _attempt in range(3):
            entry = _Waiting(applicant, asyncio.get_running_loop().create_future())
            room.append(entry)
            async with _event_turn(event.id):
                while not entry.outcome.done():  # first come, first served, GROUP_LIMIT at a time
                    await self._settle(event, room)
            outcome = entry.outcome.result()
            if outcome is _TRY_AGAIN:  # the request settling the group was cancelled before deciding ours
                continue
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        # Cancelled leaders three times running: decide this one alone.
        [outcome] = await self._decide_alone(event, [applicant])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def admit(self, event: Event, *, name: str, email: str, affiliation: str = "", country: str = "",
                    locale: str = "en") -> Registration:
        """A person selected by the organisers (an accepted application): confirmed if a seat is free, else
        waitlisted, whatever the registration mode. Decided under the event's lock like every seat, so two
        acceptances at once can never take one last seat twice. Someone already holding or awaiting a seat keeps
        their registration; a cancelled or rejected one is taken up again."""
        locked = await self._lock(event.id)
        key = normalise_email(email)
        registration = await self.session.scalar(
            select(Registration).where(Registration.event_id == event.id, Registration.email_normalised == key)
            .execution_options(populate_existing=True))
        if registration is not None and registration.status in (
                RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED, RegistrationStatus.WAITLISTED):
            registration.event = event
            return registration
        if registration is None:
            registration = Registration(event_id=event.id, email=email, email_normalised=key, name=name,
                                        affiliation=affiliation[:200], country=country, answers={}, locale=locale,
                                        checkin_code=new_checkin_code(), manage_token_hash=hash_token(new_token()),
                                        status=RegistrationStatus.PENDING)
            self.session.add(registration)
        registration.event = event
        registration.waitlist_seq = None
        if locked is None or locked.capacity is None or await self._seats_taken(event.id) < locked.capacity:
            registration.status = RegistrationStatus.CONFIRMED
            await self.session.flush()
            await self.enqueue_confirmation(registration, reason="approved")
        else:
            registration.waitlist_seq = await self._next_waitlist_seq(event.id)
            registration.status = RegistrationStatus.WAITLISTED
            await self.session.flush()
            await self._enqueue_named(registration, "registration_waitlisted",
                                      position=await self.position_of(registration))
        return registration

    async def _settle(self, event: Event, room: list[_Waiting]) -> None:
        """Takes the event's lock, then the first GROUP_LIMIT people in the room, decides and commits; every
        one of them gets an outcome, whatever happens."""
        group: list[_Waiting] = []
        try:
            try:
                try:
                    await announce_seat_change_now(self.session, event.id)  # not while the lock is held
                    locked = await self._lock(event.id)
                finally:
                    # Taken once the lock is held: whoever arrived while it was awaited joins this group.
                    group = room[:GROUP_LIMIT]
                    del room[:GROUP_LIMIT]
                outcomes = await self._decide_locked(event, [entry.applicant for entry in group], locked)
                await self.session.commit()
            except Exception:
                await self.session.rollback()
                # One bad apple (or a lost connection) must not fail the rest: decide them one by one.
                outcomes = []
                for entry in group:
                    outcomes.extend(await self._decide_alone(event, [entry.applicant]))
            for entry, outcome in zip(group, outcomes, strict=True):
                entry.outcome.set_result(outcome)
        finally:  # cancelled: the others try again with their own request
            for entry in group:
                if not entry.outcome.done():
                    entry.outcome.set_result(_TRY_AGAIN)

    async def _decide(self, event: Event, applicants: Sequence[Applicant]) -> list[Registered | Exception]:
        return await self._decide_locked(event, applicants, await self._lock(event.id))

    async def _decide_alone(self, event: Event, applicants: Sequence[Applicant]) -> list[Registered | Exception]:
        """`_decide` in a transaction of its own, committed; a failure becomes the outcome of each applicant."""
        try:
            await self.session.refresh(event)  # an earlier rollback expired it
            outcomes = await self._decide(event, applicants)
            await self.session.commit()
        except Exception as exc:  # noqa: BLE001 - handed to the requests it belongs to
            await self.session.rollback()
            return [exc for _applicant in applicants]
        return outcomes

    async def _decide_locked(self, event: Event, applicants: Sequence[Applicant],
                             locked: RegistrationSettings | None) -> list[Registered | Exception]:
        """Seats for applicants in arrival order, with the event's lock held, in the current transaction.

        The serialised part costs about the same for one person or fifty: the locking read, one read (the counts
        and the addresses already known), one insert of all new rows; mail is only queued (the outbox worker
        composes it)."""
        now = dt.datetime.now(dt.UTC)
        if locked is None or self._closed_reason(event, locked, now):
            outcomes: list[Registered | Exception] = []
            for applicant in applicants:
                with speaking(applicant.locale):
                    reason = self._closed_reason(event, locked, now) if locked else None
                    outcomes.append(RegistrationUnavailable(reason or _("Registration is closed.")))
            return outcomes
        await self._expire_offers(event, locked)
        (seats_taken, waiting, last_seq), existing = await self._seat_counts_and_registrations(
            event.id, {a.email_key for a in applicants})
        outcomes = []
        decided: list[tuple[Applicant, Registration, int | None]] = []
        already: list[tuple[Applicant, Registration]] = []
        for applicant in applicants:
            with speaking(applicant.locale):
                previous = existing.get(applicant.email_key)
                if locked.mode == RegistrationMode.APPROVAL:
                    status = RegistrationStatus.PENDING
                elif locked.capacity is None or seats_taken < locked.capacity:
                    status = RegistrationStatus.CONFIRMED
                elif locked.waitlist_enabled:
                    status = RegistrationStatus.WAITLISTED
                else:
                    status = None
                if previous is not None and previous.status != RegistrationStatus.CANCELLED:
                    # Registered already: the link goes to the address again, and the outcome is what a new
                    # address would get (refused only if a newcomer would be), so the answer tells nothing.
                    already.append((applicant, previous))
                    outcomes.append(AlreadyRegistered() if status else RegistrationUnavailable(_("This event is full.")))
                    continue
                if status is None:
                    outcomes.append(RegistrationUnavailable(_("This event is full.")))
                    continue
                if status == RegistrationStatus.CONFIRMED:
                    seats_taken += 1
            fields = {**applicant.cleaned, "status": status, "locale": applicant.locale,
                      "checkin_code": new_checkin_code(),
                      "waitlist_seq": None, "offer_expires_at": None, "checked_in_at": None,
                      # Whoever registers (again) has proven nothing yet; the e-mailed link will.
                      "email_verified_at": None, "shown_link_hash": None}
            position = None
            if status == RegistrationStatus.WAITLISTED:
                # Behind everyone waiting now; positions are ranks in this order, so they never have gaps.
                last_seq, waiting = last_seq + 1, waiting + 1
                fields["waitlist_seq"], position = last_seq, waiting
            if previous is not None:  # someone who cancelled registers again: the same row, a fresh place
                registration = previous
                for key, value in fields.items():
                    setattr(registration, key, value)
                self.session.add(RegistrationLink(registration_id=registration.id,
                                                  token_hash=hash_token(applicant.token)))
            else:
                registration = Registration(event_id=event.id, email_normalised=applicant.email_key,
                                            manage_token_hash=hash_token(applicant.token), **fields)
                self.session.add(registration)
                existing[applicant.email_key] = registration  # the same address twice in one group
            registration.event = event
            decided.append((applicant, registration, position))
            outcomes.append(Registered(registration=registration, token=applicant.token, position=position))
        try:
            await self.session.flush()
        except IntegrityError as exc:  # the unique constraint is the last guard against a second row
            raise Conflict("email", _("This e-mail address is already registered for this event.")) from exc
        for applicant, registration, position in decided:
            with speaking(applicant.locale):
                if registration.status == RegistrationStatus.CONFIRMED:
                    self._queue_confirmation(registration, reason="registered")
                elif registration.status == RegistrationStatus.PENDING:
                    queue_mail(self.session, registration, "registration_pending")
                else:
                    queue_mail(self.session, registration, "registration_waitlisted", position=position)
        for applicant, registration in already:  # their private link, sent again (at most once an hour)
            with speaking(applicant.locale):
                await self._resend_link(registration, event, now)
        return outcomes


@functools.cache
def _event_for_registration_statement() -> Select:
    """Built once: every registration request runs it, and building it (and its cache key) each time cost
    ~0.19 ms, about a twentieth of the server's CPU per registration."""
    return (
        select(Event, RegistrationSettings)
        .outerjoin(RegistrationSettings, RegistrationSettings.event_id == Event.id)
        .where(Event.slug == bindparam("slug"), Event.is_public)
        .options(raiseload(Event.managers))  # the series names a category in the invitation
    )


GROUP_LIMIT = 64  # registrations decided in one transaction at most


@dataclass
class Applicant:
    """A checked registration request, waiting for its seat to be decided."""

    cleaned: dict[str, Any]
    email_key: str
    token: str
    locale: str  # outcomes and mails speak the applicant's language, whoever's request decides them


@dataclass
class _Waiting:
    applicant: Applicant
    outcome: asyncio.Future


_TRY_AGAIN = object()


_ROOMS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, list[_Waiting]]] = weakref.WeakKeyDictionary()


def _waiting_room(event_id: int) -> list[_Waiting]:
    return _ROOMS.setdefault(asyncio.get_running_loop(), {}).setdefault(event_id, [])


_TURNS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Lock]] = weakref.WeakKeyDictionary()


def _event_turn(event_id: int) -> asyncio.Lock:
    # asyncio locks belong to one event loop; tests run a loop per test, servers one per process.
    turns = _TURNS.setdefault(asyncio.get_running_loop(), {})
    return turns.setdefault(event_id, asyncio.Lock())

