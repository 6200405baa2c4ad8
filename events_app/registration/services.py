"""Registration rules: who gets a seat, the waitlist, offers, manage links, check-in, export.

Every change to an event's seats happens with the event's ``registration_settings`` row locked (PostgreSQL:
``SELECT ... FOR UPDATE``; SQLite: a write to that row, which takes SQLite's single writer lock first), so the
count, the decision and the insert are one step whichever server process handles the request.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from litestar.exceptions import NotFoundException
from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload

from events_app.core.csv_cells import csv_text
from events_app.core.i18n import current_locale, speaking
from events_app.core.i18n import gettext as _
from events_app.core.slugs import slug_base
from events_app.core.text import strip_control
from events_app.core.validation import (
    Conflict,
    Errors,
    ValidationFailed,
    clean_country,
    clean_email,
    clean_text,
)
from events_app.events.models import Event, EventStatus
from events_app.events.services import parse_instant
from events_app.registration.mail import (
    CONFIRMATION_ATTACHMENTS,
    INVITATION_CANCEL,
    checkin_qr,
    forget_registration_mail,
    hash_token,
    manage_url,
    new_token,
    queue_mail,
)
from events_app.registration.models import (
    SEAT_HOLDING,
    PromotionMode,
    QuestionKind,
    Registration,
    RegistrationLink,
    RegistrationMode,
    RegistrationSettings,
    RegistrationStatus,
)
from events_app.settings import Settings

FIELD_LIMITS = {"name": 200, "affiliation": 200}
ANSWER_LIMITS = {QuestionKind.SHORT_TEXT: 200, QuestionKind.LONG_TEXT: 5000}
MAX_QUESTIONS = 30
MAX_OPTIONS = 30


def normalise_email(email: str) -> str:
    # email_validator has already lower-cased the domain; mailbox case is kept by servers but never matters
    # to people, so "Wang@Example.cn" and "wang@example.cn" are one registration.
    return email.strip().lower()


def new_checkin_code() -> str:
    # 10 characters from an alphabet without look-alikes: easy to type if a scanner fails.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


class RegistrationUnavailable(ValidationFailed):
    """Registration is closed, full, or the event is not open for it; nothing is stored."""

    def __init__(self, message: str) -> None:
        super().__init__({"event": message})
        self.message = message


class AlreadyRegistered(Conflict):
    """The address is registered for the event already; its link was e-mailed again (at most once an hour).

    Only the service says so: pages and the API answer exactly as for a new registration, so that nobody
    learns from the answer whether an address is registered."""

    def __init__(self) -> None:
        super().__init__("email", _("This e-mail address is already registered for this event."))


# At most one "your link again" mail per registration (one address, one event) in this time.
LINK_RESEND_INTERVAL = dt.timedelta(hours=1)


@dataclass
class Availability:
    mode: RegistrationMode
    is_open: bool
    message: str
    capacity: int | None
    confirmed: int
    waitlisted: int
    waitlist_enabled: bool
    questions: list[dict[str, Any]]

    @property
    def seats_left(self) -> int | None:
        if self.capacity is None:
            return None
        return max(self.capacity - self.confirmed, 0)


@dataclass
class Registered:
    registration: Registration
    # The manage link e-mailed to the address (tests act as the person who received it). Never put it in an
    # answer to whoever filled in the form: that would let anyone who types an address act as its owner.
    token: str
    position: int | None


@dataclass
class CheckInResult:
    outcome: str  # "checked_in" | "already" | "not_confirmed" | "unknown"
    registration: Registration | None = None
    checked_in_at: dt.datetime | None = None


@dataclass
class Dashboard:
    counts: dict[str, int]
    checked_in: int
    by_country: list[tuple[str, int]] = field(default_factory=list)
    by_affiliation: list[tuple[str, int]] = field(default_factory=list)


# ---- questions and answers ------------------------------------------------------------------------------------


def clean_questions(errors: Errors, value: Any) -> list[dict[str, Any]]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > MAX_QUESTIONS:
        errors.add("questions", _("Give at most %(n)s questions as a list.", n=MAX_QUESTIONS))
        return []
    questions: list[dict[str, Any]] = []
    keys: set[str] = set()
    kinds = {k.value for k in QuestionKind}
    for index, item in enumerate(value, start=1):
        if not isinstance(item, Mapping):
            errors.add("questions", _("Question %(n)s is not understood.", n=index))
            continue
        label = " ".join(strip_control(str(item.get("label") or "")).split())
        kind = str(item.get("kind") or "")
        if not label or len(label) > 300:
            errors.add("questions", _("Question %(n)s needs a label of at most 300 characters.", n=index))
            continue
        if kind not in kinds:
            errors.add("questions", _("Question %(n)s: choose short_text, long_text, single_choice, "
                                      "multiple_choice or checkbox.", n=index))
            continue
        options = [" ".join(strip_control(str(o)).split()) for o in (item.get("options") or []) if str(o).strip()]
        if kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE):
            if not options or len(options) > MAX_OPTIONS or any(len(o) > 200 for o in options):
                errors.add("questions", _("Question %(n)s needs between 1 and %(m)s options.", n=index, m=MAX_OPTIONS))
                continue
        else:
            options = []
        key = str(item.get("key") or "") or slug_base(label, f"q{index}")[:40]
        base, n = key, 2
        while key in keys:
            key, n = f"{base}-{n}", n + 1
        keys.add(key)
        questions.append({"key": key, "label": label, "kind": kind, "required": bool(item.get("required")),
                          "options": options})
    return questions


def clean_answers(errors: Errors, questions: Sequence[Mapping[str, Any]], answers: Any) -> dict[str, Any]:
    if answers is None:
        answers = {}
    if not isinstance(answers, Mapping):
        errors.add("answers", _("Answers must be given by question."))
        return {}
    cleaned: dict[str, Any] = {}
    for question in questions:
        key, kind, name = question["key"], QuestionKind(question["kind"]), f"answers.{question['key']}"
        value = answers.get(key)
        if kind in ANSWER_LIMITS:
            text = clean_text(errors, name, value, max_length=ANSWER_LIMITS[kind], required=question["required"],
                              multiline=kind == QuestionKind.LONG_TEXT)
            if text:
                cleaned[key] = text
        elif kind == QuestionKind.SINGLE_CHOICE:
            if value in (None, ""):
                if question["required"]:
                    errors.add(name, _("Please choose one."))
            elif value not in question["options"]:
                errors.add(name, _("Choose one of the offered options."))
            else:
                cleaned[key] = value
        elif kind == QuestionKind.MULTIPLE_CHOICE:
            chosen = value if isinstance(value, list) else ([] if value in (None, "") else [value])
            if any(c not in question["options"] for c in chosen):
                errors.add(name, _("Choose among the offered options."))
            elif question["required"] and not chosen:
                errors.add(name, _("Please choose at least one."))
            elif chosen:
                cleaned[key] = [o for o in question["options"] if o in chosen]
        else:  # checkbox
            checked = value in (True, "on", "true", "1", "yes", 1)
            if question["required"] and not checked:
                errors.add(name, _("Please tick this box to continue."))
            cleaned[key] = checked
    return cleaned


def answer_text(question: Mapping[str, Any], answers: Mapping[str, Any]) -> str:
    value = answers.get(question["key"])
    if question["kind"] == QuestionKind.CHECKBOX:
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return "; ".join(value)
    return "" if value is None else str(value)


def clean_attendee(data: Mapping[str, Any], questions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The attendee's fields; the same checks for the HTML form and the JSON API."""
    errors = Errors()
    cleaned = {
        "name": clean_text(errors, "name", data.get("name"), max_length=FIELD_LIMITS["name"], required=True,
                           multiline=False),
        "email": clean_email(errors, "email", data.get("email"), required=True),
        "affiliation": clean_text(errors, "affiliation", data.get("affiliation"),
                                  max_length=FIELD_LIMITS["affiliation"], multiline=False),
        "country": clean_country(errors, "country", data.get("country")),
        "answers": clean_answers(errors, questions, data.get("answers")),
    }
    errors.raise_if_any()
    return cleaned


# ---- the service ----------------------------------------------------------------------------------------------


class RegistrationService(SQLAlchemyAsyncRepositoryService[Registration]):
    class Repo(SQLAlchemyAsyncRepository[Registration]):
        model_type = Registration

    repository_type = Repo

    def __init__(self, session: AsyncSession, settings: Settings, **kwargs: Any) -> None:
        super().__init__(session=session, **kwargs)
        self.settings = settings

    @property
    def session(self) -> AsyncSession:
        return self.repository.session

    @property
    def is_sqlite(self) -> bool:
        return self.session.get_bind().dialect.name == "sqlite"

    # ---- settings ---------------------------------------------------------------------------------------------
    async def settings_for(self, event: Event) -> RegistrationSettings:
        """The event's settings; an event never configured has registration closed."""
        row = await self.session.scalar(select(RegistrationSettings).where(RegistrationSettings.event_id == event.id))
        if row is None:
            return RegistrationSettings(
                event_id=event.id, mode=RegistrationMode.CLOSED, capacity=None, waitlist_enabled=True,
                promotion=PromotionMode.CONFIRM, offer_hours=48, questions=[],
            )
        return row

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
    def _whole_number(errors: Errors, name: str, value: Any, *, low: int, high: int, allow_empty: bool = False):
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

    # ---- locking ----------------------------------------------------------------------------------------------
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
            )
        return await self.session.scalar(
            select(RegistrationSettings).where(RegistrationSettings.event_id == event_id)
            .with_for_update().execution_options(populate_existing=True)
        )

    async def _seats_taken(self, event_id: int) -> int:
        return (await self._seat_counts(event_id))[0]

    # ---- public: availability and registering --------------------------------------------------------------
    def _closed_reason(self, event: Event, row: RegistrationSettings, now: dt.datetime) -> str | None:
        if event.status == EventStatus.CANCELLED:
            return _("This event has been cancelled; registration is closed.")
        if event.status != EventStatus.PUBLISHED:
            return _("This event is not open for registration.")
        if row.mode == RegistrationMode.CLOSED:
            return _("Registration is closed.")
        if row.opens_at and now < row.opens_at:
            return _("Registration opens on %(when)s.", when=_format_when(row.opens_at, event))
        if (row.closes_at and now >= row.closes_at) or now >= event.ends_at:
            return _("Registration has closed.")
        return None

    async def availability(self, event: Event) -> Availability:
        row = await self.settings_for(event)
        counts = await self.status_counts(event) if row.id else {}
        confirmed = counts.get(RegistrationStatus.CONFIRMED.value, 0) + counts.get(RegistrationStatus.OFFERED.value, 0)
        reason = self._closed_reason(event, row, dt.datetime.now(dt.UTC))
        full = row.capacity is not None and confirmed >= row.capacity and row.mode == RegistrationMode.OPEN
        if reason is None and full and not row.waitlist_enabled:
            reason = _("This event is full.")
        if reason is None:
            message = _("The event is full; you can join the waitlist.") if full else _("Registration is open.")
        return Availability(
            mode=row.mode, is_open=reason is None, message=reason or message, capacity=row.capacity,
            confirmed=confirmed, waitlisted=counts.get(RegistrationStatus.WAITLISTED.value, 0),
            waitlist_enabled=row.waitlist_enabled, questions=list(row.questions or []),
        )

    async def event_for_registration(self, slug: str) -> tuple[Event, RegistrationSettings | None]:
        """The event by address (drafts are unknown to the public) and its settings: one query."""
        result = (await self.session.execute(
            select(Event, RegistrationSettings)
            .outerjoin(RegistrationSettings, RegistrationSettings.event_id == Event.id)
            .where(Event.slug == slug, Event.status != EventStatus.DRAFT)
            .options(raiseload(Event.managers))  # the series names a category in the invitation
        )).first()
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

    async def register(self, event: Event, data: Mapping[str, Any], *, row: RegistrationSettings | None = None
                       ) -> Registered:
        """Registers one person: confirmed, pending or waitlisted, decided under the event's lock."""
        applicant = self.prepare(event, data, row or await self.settings_for(event))
        try:
            [outcome] = await self._decide(event, [applicant])
        except Exception:
            await self.session.rollback()
            raise
        if isinstance(outcome, Exception):
            # A refusal rolls a request back; the link re-sent to an address registered already must survive.
            await self.session.commit()
            raise outcome
        return outcome

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

    async def _settle(self, event: Event, room: list[_Waiting]) -> None:
        """Takes the event's lock, then the first GROUP_LIMIT people in the room, decides and commits; every
        one of them gets an outcome, whatever happens."""
        group: list[_Waiting] = []
        try:
            try:
                try:
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

        The serialised part costs about the same for one person or fifty: the locking read, two reads, one
        insert of all new rows; mail is only queued (the outbox worker composes it)."""
        now = dt.datetime.now(dt.UTC)
        if locked is None or self._closed_reason(event, locked, now):
            outcomes: list[Registered | Exception] = []
            for applicant in applicants:
                with speaking(applicant.locale):
                    reason = self._closed_reason(event, locked, now) if locked else None
                    outcomes.append(RegistrationUnavailable(reason or _("Registration is closed.")))
            return outcomes
        await self._expire_offers(event, locked)
        seats_taken, waiting, last_seq = await self._seat_counts(event.id)
        existing = {r.email_normalised: r for r in await self.session.scalars(
            select(Registration).where(Registration.event_id == event.id,
                                       Registration.email_normalised.in_({a.email_key for a in applicants}))
            .execution_options(populate_existing=True)
        )}
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

    async def _seat_counts(self, event_id: int) -> tuple[int, int, int]:
        """(seats held, people waiting, last waitlist number): one query."""
        of_event = Registration.event_id == event_id
        waiting = (of_event, Registration.status == RegistrationStatus.WAITLISTED)
        result = (await self.session.execute(select(
            select(func.count()).select_from(Registration)
            .where(of_event, Registration.status.in_(SEAT_HOLDING)).scalar_subquery(),
            select(func.count()).select_from(Registration).where(*waiting).scalar_subquery(),
            select(func.coalesce(func.max(Registration.waitlist_seq), 0)).where(*waiting).scalar_subquery(),
        ))).one()
        return int(result[0]), int(result[1]), int(result[2])

    async def _next_waitlist_seq(self, event_id: int) -> int:
        return (await self._seat_counts(event_id))[2] + 1

    # ---- e-mails (queued here, composed by the outbox worker: see registration/mail.py) ----------------------
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
        if claimed.rowcount != 1:
            return False
        registration.event = event
        await self._enqueue_named(registration, "registration_link",
                                  position=await self.position_of(registration))
        return True

    # ---- manage links -------------------------------------------------------------------------------------------
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
        registration.event = await self.session.scalar(
            select(Event).where(Event.id == registration.event_id).options(raiseload(Event.managers))
        )
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
        from events_app.calendar.services import listed_in_feeds

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

    # ---- attendee changes -----------------------------------------------------------------------------------
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

    # ---- waitlist -------------------------------------------------------------------------------------------------
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
                    deadline = _format_when(registration.offer_expires_at, event)
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

    # ---- organiser ----------------------------------------------------------------------------------------------
    async def for_event(self, event: Event, registration_id: int) -> Registration:
        registration = await self.session.scalar(
            select(Registration).where(Registration.id == registration_id, Registration.event_id == event.id)
        )
        if registration is None:
            raise NotFoundException("No such registration.")
        registration.event = event
        return registration

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
        waiting = sorted((r for r in rows if r.status == RegistrationStatus.WAITLISTED), key=lambda r: r.waitlist_seq)
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

    async def status_counts(self, event: Event) -> dict[str, int]:
        rows = await self.session.execute(
            select(Registration.status, func.count()).where(Registration.event_id == event.id)
            .group_by(Registration.status)
        )
        return {(status.value if hasattr(status, "value") else status): int(n) for status, n in rows}

    async def dashboard(self, event: Event, *, top: int = 12) -> Dashboard:
        counts = await self.status_counts(event)
        attending = (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED, RegistrationStatus.PENDING)
        checked_in = await self.session.scalar(
            select(func.count()).select_from(Registration)
            .where(Registration.event_id == event.id, Registration.checked_in_at.is_not(None))
        )

        async def breakdown(column) -> list[tuple[str, int]]:
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
        header = [_("Name"), _("E-mail"), _("Affiliation"), _("Country"), _("Status"), _("Waitlist position"),
                  _("Registered at (UTC)"), _("Checked in at (UTC)"), *[q["label"] for q in questions]]
        return csv_text(header, ((
            registration.name, registration.email, registration.affiliation, registration.country,
            registration.status.value, position or "",
            registration.created_at.strftime("%Y-%m-%d %H:%M"),
            registration.checked_in_at.strftime("%Y-%m-%d %H:%M") if registration.checked_in_at else "",
            *[answer_text(q, registration.answers or {}) for q in questions],
        ) for registration, position in await self.list_for_event(event)))

    # ---- check-in -----------------------------------------------------------------------------------------------
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
        if result.rowcount == 1:
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

    # ---- across events --------------------------------------------------------------------------------------
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


# ---- telling attendees about changes to their event ----------------------------------------------------------
FEED_STATUSES = (RegistrationStatus.CONFIRMED, RegistrationStatus.PENDING, RegistrationStatus.WAITLISTED,
                 RegistrationStatus.OFFERED)
# What makes an attendee's calendar entry wrong: when one of these changes, confirmed attendees get a new REQUEST.
TIME_AND_PLACE = frozenset({"starts_at", "ends_at", "timezone", "venue_name", "venue_address", "online_url"})


async def announce_event_change(session: AsyncSession, event: Event, *, changed: set[str],
                                previous_status: EventStatus, settings: Settings | None) -> int:
    """The one rule for what confirmed attendees hear when their event changes; EventService calls it after
    every change (the event's revision already bumped, so SEQUENCE is higher than in any earlier message).

    - the event is cancelled, or withdrawn (a published event taken back to draft: the same to a calendar,
      whatever the organiser calls it): METHOD:CANCEL (STATUS:CANCELLED) removes it from their calendars;
    - a published event's time or place changes, or a cancelled or withdrawn event is published again:
      METHOD:REQUEST with the same UID updates the entry.
    Anything else (a new title, summary, speakers) sends nothing, on purpose: the feeds carry it under a higher
    SEQUENCE, the invitation already in their calendar keeps its time and place, and a mail for every edit
    would teach people to ignore the ones that matter. Pending, waitlisted and offered people were never sent
    an invitation, so they get none. Returns the number of mails queued (in the caller's transaction: nothing
    is sent unless the change commits).
    """
    cancelled = event.status == EventStatus.CANCELLED and previous_status != EventStatus.CANCELLED
    withdrawn = event.status == EventStatus.DRAFT and previous_status == EventStatus.PUBLISHED
    if cancelled or withdrawn:
        method, template = "CANCEL", "registration_event_cancelled"
    elif event.status == EventStatus.PUBLISHED and (
        changed & TIME_AND_PLACE or previous_status in (EventStatus.CANCELLED, EventStatus.DRAFT)
    ):
        method, template = "REQUEST", "registration_event_changed"
    else:
        return 0
    attendees = list(await session.scalars(
        select(Registration).where(Registration.event_id == event.id,
                                   Registration.status == RegistrationStatus.CONFIRMED)
        .order_by(Registration.id)
    ))
    if not attendees:
        return 0
    if settings is None:
        raise RuntimeError("EventService(settings=...) is needed to mail attendees about a change")
    service = RegistrationService(session, settings)
    for registration in attendees:
        registration.event = event
        await service._enqueue_named(registration, template, attachments=[f"invitation:{method}"])
    return len(attendees)


def _format_when(value: dt.datetime | None, event: Event) -> str:
    from events_app.core.timefmt import format_when

    return "" if value is None else f"{format_when(value, event.timezone)} ({event.timezone})"


async def registration_panel(session: AsyncSession, event: Event, settings: Settings) -> dict[str, Any]:
    """What the public event page shows about registration."""
    service = RegistrationService(session, settings)
    return {"availability": await service.availability(event), "values": {}, "errors": {}}


async def registration_page_context(session: AsyncSession, *, event: Event, settings: Settings) -> dict[str, Any]:
    """Receives events' ``event_page_shown``: the registration panel of the public event page."""
    return {"registration": await registration_panel(session, event, settings)}


async def expire_seat_offers(session: AsyncSession, settings: Settings) -> int:
    """The periodic job "expire seat offers": offers past their deadline pass to the next person."""
    return await RegistrationService(session, settings).expire_due_offers()
