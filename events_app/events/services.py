"""Rules for events and series: validation, slugs, publishing, revisions, who may manage what."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from litestar.exceptions import NotFoundException
from sqlalchemy import Select, String, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import raiseload, selectinload
from sqlalchemy.sql.functions import FunctionElement

from events_app.accounts.models import Account
from events_app.core.i18n import gettext as _
from events_app.core.slugs import MAX_SLUG_LENGTH, SLUG_PATTERN, available_slug, slug_base
from events_app.core.text import has_nul, strip_control
from events_app.core.timefmt import is_valid_timezone, parse_local
from events_app.core.validation import Conflict, Errors, clean_text, clean_url
from events_app.events.access import (
    ensure_may_manage_event,
    ensure_may_see_event,
    events_visible_to,
    may_edit_series,
    may_manage_event,
    series_editable_by,
)
from events_app.events.models import Event, EventKind, EventStatus, Series
from events_app.events.public import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    ListingTotal,
    PublicEvent,
    month_window,
    public_event,
    public_event_keys,
    public_events,
    public_events_by_id,
)
from events_app.events.signals import (
    event_audience_counted,
    event_changed,
    event_registration_state,
    event_withdrawn,
)
from events_app.schedule.models import Talk, TalkSpeaker
from events_app.settings import Settings
from events_app.speakers.models import Person

EVENT_TEXT_LIMITS = {
    "title": (200, False),
    "summary": (500, True),
    "description": (20000, True),
    "venue_name": (200, False),
    "venue_address": (500, True),
    "organiser": (300, False),
}
MAX_EVENT_LENGTH = dt.timedelta(days=31)
# Fields whose change must reach calendars: every change to them bumps the revision (iCalendar SEQUENCE).
CALENDAR_FIELDS = {
    "title", "summary", "description", "starts_at", "ends_at", "timezone", "venue_name", "venue_address",
    "online_url", "online_url_private", "geo_lat", "geo_lon", "status", "series_id", "organiser", "kind", "language",
    "partners",
}


# Instants outside EARLIEST_YEAR..LATEST_YEAR (events/public.py) are typing slips or probes; beyond them offsets
# like +01:25 can overflow.


def parse_instant(errors: Errors, field: str, value: Any, zone: str | None) -> dt.datetime | None:
    """ISO 8601 with an offset is an instant; without one it is a wall time in the event's zone."""
    if value in (None, ""):
        errors.add(field, _("This field is required."))
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        try:
            parsed = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            errors.add(field, _("Enter a date and time, e.g. 2026-03-03T14:00."))
            return None
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        errors.add(field, _("Enter a date between %(low)s and %(high)s.", low=EARLIEST_YEAR, high=LATEST_YEAR))
        return None
    if parsed.tzinfo is None:
        if zone is None:
            return None  # the zone itself is invalid; that error is reported on its own field
        return parse_local(parsed.isoformat(), zone)
    return parsed.astimezone(dt.UTC)


MIN_TALK_MINUTES, MAX_TALK_MINUTES = 5, 480


def clean_minutes(errors: Errors, field: str, value: Any, *, default: int) -> int:
    """A talk length in whole minutes, 5 to 480 (8 hours); empty means the default."""
    if value in (None, ""):
        return default
    try:
        minutes = int(str(value).strip())
    except (TypeError, ValueError, OverflowError):
        minutes = 0
    if not MIN_TALK_MINUTES <= minutes <= MAX_TALK_MINUTES:
        errors.add(field, _("Enter a number of minutes from %(low)s to %(high)s.", low=MIN_TALK_MINUTES,
                            high=MAX_TALK_MINUTES))
        return default
    return minutes


def clean_partners(errors: Errors, value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.add("partners", _("Give partner institutions as a list of names."))
        return []
    if any(has_nul(v) for v in value):
        errors.add("partners", _("Contains a character that is not allowed (NUL)."))
        return []
    names = [" ".join(strip_control(v).split()) for v in value if strip_control(v).strip()]
    if len(names) > 20 or any(len(n) > 200 for n in names):
        errors.add("partners", _("At most 20 partners of at most 200 characters each."))
    return names


# Public pages never ask who manages an event: skip that query, and fail loudly if a page starts to.
PUBLIC_EVENT_LOADING = raiseload(Event.managers)


class utc_year_month(FunctionElement):
    """'2026-03' for a UTC instant column, computed by the database."""

    type = String()
    inherit_cache = True
    name = "utc_year_month"


@compiles(utc_year_month)
def _utc_year_month_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    # SQLite keeps DateTimeUTC values as 'YYYY-MM-DD HH:MM:SS' text in UTC.
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 7)"


@compiles(utc_year_month, "postgresql")
def _utc_year_month_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC', 'YYYY-MM')"


@dataclass
class EventFilters:
    kind: str | None = None
    series: str | None = None
    month: str | None = None  # "2026-03"
    q: str | None = None
    past: bool = False
    # Organiser searches cover every date unless asked for what is still to come (the dashboard's first table).
    upcoming_only: bool = False
    limit: int = 20
    offset: int = 0


class SeriesService(SQLAlchemyAsyncRepositoryService[Series]):
    class Repo(SQLAlchemyAsyncRepository[Series]):
        model_type = Series

    repository_type = Repo

    def clean(self, data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
        errors = Errors()
        cleaned: dict[str, Any] = {}
        if not partial or "title" in data:
            cleaned["title"] = clean_text(errors, "title", data.get("title"), max_length=200, required=True, multiline=False)
        if not partial or "description" in data:
            cleaned["description"] = clean_text(errors, "description", data.get("description"), max_length=20000)
        if data.get("slug"):
            cleaned["slug"] = clean_slug(errors, data.get("slug"))
        errors.raise_if_any()
        return cleaned

    async def create_series(self, data: Mapping[str, Any], *, creator: Account | None = None) -> Series:
        cleaned = self.clean(data)
        session = self.repository.session
        slug = cleaned.pop("slug", None)
        if slug and await session.scalar(select(exists().where(Series.slug == slug))):
            raise Conflict("slug", _("This address is already taken."))
        slug = slug or await available_slug(session, Series.slug, slug_base(cleaned["title"], "series"))
        series = Series(slug=slug, created_by_id=creator.id if creator else None, **cleaned)
        session.add(series)
        await flush_or_conflict(session, "slug")
        return series

    async def update_series(self, series: Series, data: Mapping[str, Any]) -> Series:
        cleaned = self.clean(data, partial=True)
        cleaned.pop("slug", None)  # slugs are part of public URLs and stay as first given
        for key, value in cleaned.items():
            setattr(series, key, value)
        await self.repository.session.flush()
        return series

    async def by_slug(self, slug: str) -> Series:
        series = await self.get_one_or_none(Series.slug == slug)
        if series is None:
            raise NotFoundException("No such series.")
        return series

    async def all_series(self) -> list[Series]:
        return list(await self.repository.session.scalars(select(Series).order_by(Series.title)))

    async def series_menu(self) -> tuple[SeriesChoice, ...]:
        """Every series' address and title, for filter menus (plain values, safe to keep between requests)."""
        rows = await self.repository.session.execute(select(Series.slug, Series.title).order_by(Series.title))
        return tuple(SeriesChoice(slug, title) for slug, title in rows)

    async def editable_by(self, account: Account, *, also: int | None = None) -> list[Series]:
        """The series this account may edit and put events into (plus `also`, an event's current series)."""
        condition = series_editable_by(account)
        if also is not None:
            condition = or_(condition, Series.id == also)
        return list(await self.repository.session.scalars(select(Series).where(condition).order_by(Series.title)))


def clean_slug(errors: Errors, value: Any) -> str:
    text = clean_text(errors, "slug", value, max_length=MAX_SLUG_LENGTH, multiline=False).lower()
    if text and not SLUG_PATTERN.match(text):
        errors.add("slug", _("Use lower-case letters, digits and single hyphens."))
    return text


async def flush_or_conflict(session: AsyncSession, field: str) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(field, _("This address is already taken.")) from exc


class EventService(SQLAlchemyAsyncRepositoryService[Event]):
    class Repo(SQLAlchemyAsyncRepository[Event]):
        model_type = Event

    repository_type = Repo

    def __init__(self, session: Any = None, *, settings: Settings | None = None, **kwargs: Any) -> None:
        super().__init__(session=session, **kwargs)
        # For the e-mails a change sends (addresses, calendar UIDs), handed to the receivers of event_changed.
        # Injected by the app and the CLI; without it, a change that must mail attendees fails loudly.
        self.settings = settings

    # ---- validation -------------------------------------------------------------------------------------
    async def clean(
        self, data: Mapping[str, Any], *, existing: Event | None = None, account: Account | None = None
    ) -> dict[str, Any]:
        """Validates a full (create) or partial (update) set of event fields; raises ValidationFailed.

        With an account, putting the event into a series needs the right to edit that series."""
        errors = Errors()
        partial = existing is not None
        cleaned: dict[str, Any] = {}

        def given(field: str) -> bool:
            return not partial or field in data

        for field, (limit, multiline) in EVENT_TEXT_LIMITS.items():
            if given(field):
                cleaned[field] = clean_text(
                    errors, field, data.get(field), max_length=limit, required=field == "title", multiline=multiline
                )
        if given("kind"):
            kind = data.get("kind")
            if kind not in {k.value for k in EventKind}:
                errors.add("kind", _("Choose conference, workshop or lecture."))
            else:
                cleaned["kind"] = EventKind(kind)
        if given("timezone"):
            typed_zone = clean_text(errors, "timezone", data.get("timezone"), max_length=64, required=True,
                                    multiline=False)
            if typed_zone and not is_valid_timezone(typed_zone):
                errors.add("timezone", _("Unknown time zone; use an IANA name such as Asia/Shanghai."))
            cleaned["timezone"] = typed_zone
        zone: str | None = cleaned.get("timezone", existing.timezone if existing else None)
        zone = zone if zone and "timezone" not in errors else None
        for field in ("starts_at", "ends_at"):
            if given(field):
                cleaned[field] = parse_instant(errors, field, data.get(field), zone)
        starts = cleaned.get("starts_at", existing.starts_at if existing else None)
        ends = cleaned.get("ends_at", existing.ends_at if existing else None)
        if starts and ends and "starts_at" not in errors and "ends_at" not in errors:
            if ends <= starts:
                errors.add("ends_at", _("The end must be after the start."))
            elif ends - starts > MAX_EVENT_LENGTH:
                errors.add("ends_at", _("An event can last at most 31 days."))
        if given("online_url"):
            cleaned["online_url"] = clean_url(errors, "online_url", data.get("online_url"))
        if given("online_url_private"):
            cleaned["online_url_private"] = data.get("online_url_private") in (True, "on", "true", "1")
        if given("language"):
            cleaned["language"] = clean_text(errors, "language", data.get("language") or "en", max_length=35, multiline=False)
        if given("partners"):
            cleaned["partners"] = clean_partners(errors, data.get("partners"))
        if given("default_talk_minutes"):
            cleaned["default_talk_minutes"] = clean_minutes(errors, "default_talk_minutes",
                                                            data.get("default_talk_minutes"), default=30)
        for field, low, high in (("geo_lat", -90, 90), ("geo_lon", -180, 180)):
            if field in data:
                value = data.get(field)
                if value in (None, ""):
                    cleaned[field] = None
                    continue
                try:
                    number = float(value)
                except (TypeError, ValueError):
                    errors.add(field, _("Enter a number."))
                    continue
                if not low <= number <= high:
                    errors.add(field, _("Out of range."))
                cleaned[field] = number
        if "status" in data and data.get("status") is not None:
            if data["status"] not in {s.value for s in EventStatus}:
                errors.add("status", _("Choose draft, published or cancelled."))
            else:
                cleaned["status"] = EventStatus(data["status"])
        if "series" in data:
            slug = data.get("series")
            if slug in (None, ""):
                cleaned["series_id"] = None
            else:
                series = await self.repository.session.scalar(select(Series).where(Series.slug == str(slug)))
                if series is None:
                    errors.add("series", _("No series with this address."))
                elif (
                    account is not None
                    and series.id != (existing.series_id if existing else None)
                    and not await may_edit_series(self.repository.session, account, series)
                ):
                    errors.add("series", _("Only the organisers of this series' events (or an administrator) "
                                           "may add events to it."))
                else:
                    cleaned["series_id"] = series.id
        if not partial and data.get("slug"):
            cleaned["slug"] = clean_slug(errors, data.get("slug"))
        errors.raise_if_any()
        return cleaned

    # ---- changes ------------------------------------------------------------------------------------------
    async def create_event(self, data: Mapping[str, Any], *, creator: Account) -> Event:
        cleaned = await self.clean(data, account=creator)
        session = self.repository.session
        slug = cleaned.pop("slug", None)
        if slug and await session.scalar(select(exists().where(Event.slug == slug))):
            raise Conflict("slug", _("This address is already taken."))
        slug = slug or await available_slug(session, Event.slug, slug_base(cleaned["title"], "event"))
        cleaned.setdefault("status", EventStatus.DRAFT)
        event = Event(slug=slug, revision=0, **cleaned)
        event.managers = [creator]
        session.add(event)
        await flush_or_conflict(session, "slug")
        return await self.load(event.id)

    async def update_event(self, event: Event, data: Mapping[str, Any], *, by: Account | None = None,
                           notify_attendees: bool = True) -> Event:
        """`by`: the organiser making the change (pages and API); None for the system (CLI, demo, tests).
        `notify_attendees=False`: a change of time or place is saved without mailing the attendees (the
        organiser tells them otherwise); a cancellation is mailed whatever it says."""
        cleaned = await self.clean(data, existing=event, account=by)
        cleaned.pop("slug", None)
        changed = {k for k, v in cleaned.items() if getattr(event, k) != v}
        previous_status = event.status
        if "starts_at" in changed or "ends_at" in changed:
            await self._ensure_talks_fit(event, cleaned.get("starts_at", event.starts_at), cleaned.get("ends_at", event.ends_at))
        for key in changed:
            setattr(event, key, cleaned[key])
        if changed & CALENDAR_FIELDS:
            event.revision += 1
        await self.repository.session.flush()
        event = await self.load(event.id)
        await self._announce(event, changed, previous_status, notify_attendees=notify_attendees)
        return event

    async def _ensure_talks_fit(self, event: Event, starts: dt.datetime, ends: dt.datetime) -> None:
        session = self.repository.session
        outside = await session.scalar(
            select(func.count()).select_from(Talk).where(
                Talk.event_id == event.id, or_(Talk.starts_at < starts, Talk.ends_at > ends)
            )
        )
        if outside:
            errors = Errors()
            errors.add("starts_at", _("%(n)s talks would fall outside the new dates; move them first.", n=outside))
            errors.raise_if_any()

    async def set_status(self, event: Event, status: EventStatus) -> Event:
        if event.status != status:
            previous_status = event.status
            event.status = status
            event.revision += 1
            await self.repository.session.flush()
            await self._announce(event, {"status"}, previous_status)
        return event

    async def audience(self, event: Event) -> int:
        """How many people a change of the event's time, place or status would mail (asked of the domains)."""
        return sum(await event_audience_counted.send(self.repository.session, event=event))

    async def registration_closed(self, event: Event, *, open_registration: bool = False) -> bool:
        """Whether nobody can register for the event yet; `open_registration` opens it first (asked of the
        registration domain, in this transaction)."""
        answers = await event_registration_state.send(self.repository.session, event=event,
                                                      open_registration=open_registration, settings=self.settings)
        return any(answer.get("registration_closed") for answer in answers)

    async def _announce(self, event: Event, changed: set[str], previous_status: EventStatus, *,
                        notify_attendees: bool = True) -> None:
        """Tells the domains that care (registration mails attendees, calendar keeps withdrawn events in the
        feeds), inside this transaction: what they write commits or rolls back with the change."""
        session = self.repository.session
        if not event.is_public and previous_status != EventStatus.DRAFT:
            await event_withdrawn.send(session, event=event, previous_status=previous_status)
        await event_changed.send(session, event=event, changed=changed, previous_status=previous_status,
                                 settings=self.settings, notify_attendees=notify_attendees)

    async def add_manager(self, event: Event, account: Account) -> None:
        if all(m.id != account.id for m in event.managers):
            event.managers.append(account)
            await self.repository.session.flush()

    # ---- reading ------------------------------------------------------------------------------------------
    def _with_programme(self, statement: Select) -> Select:
        return statement.options(
            selectinload(Event.talks).selectinload(Talk.speaker_links).joinedload(TalkSpeaker.person),
        )

    async def load(self, event_id: int) -> Event:
        session = self.repository.session
        event = await session.scalar(
            self._with_programme(select(Event).where(Event.id == event_id)).execution_options(populate_existing=True)
        )
        if event is None:
            raise NotFoundException("No such event.")
        return event

    async def public_by_slug(self, slug: str) -> Event:
        """Published or cancelled events; drafts are 404 to the public."""
        event = await self.repository.session.scalar(
            self._with_programme(select(Event).where(Event.slug == slug, Event.is_public))
            .options(PUBLIC_EVENT_LOADING)
        )
        if event is None:
            raise NotFoundException("No such event.")
        return event

    async def by_slug(self, slug: str) -> Event:
        event = await self.repository.session.scalar(self._with_programme(select(Event).where(Event.slug == slug)))
        if event is None:
            raise NotFoundException("No such event.")
        return event

    async def managed_by_slug(self, slug: str, account: Account) -> Event:
        """For every organiser route that takes an event's slug: 404 unless visible, 403 unless managed."""
        event = await self.by_slug(slug)
        ensure_may_manage_event(account, event)
        return event

    async def visible_by_slug(self, slug: str, account: Account | None) -> Event:
        """For reads open to all: a draft is found only by those who manage it."""
        if account is None:  # anonymous: no need to load who manages the event
            return await self.public_by_slug(slug)
        event = await self.by_slug(slug)
        ensure_may_see_event(account, event)
        return event

    def _filtered(self, filters: EventFilters, *, account: Account | None) -> Select:
        statement = select(Event).where(events_visible_to(account))
        now = dt.datetime.now(dt.UTC)
        if filters.past:
            statement = statement.where(Event.ends_at < now)
        elif account is None or filters.upcoming_only:
            statement = statement.where(Event.ends_at >= now)
        if filters.kind in {k.value for k in EventKind}:
            statement = statement.where(Event.kind == EventKind(filters.kind))
        if filters.series:
            statement = statement.join(Series, Event.series_id == Series.id).where(Series.slug == filters.series)
        window = month_window(filters.month)
        if window is not None:
            statement = statement.where(Event.starts_at < window[1], Event.ends_at >= window[0])
        if filters.q:
            pattern = f"%{filters.q.strip().lower()}%"
            statement = statement.where(
                or_(
                    func.lower(Event.title).like(pattern),
                    func.lower(Event.summary).like(pattern),
                    func.lower(Event.venue_name).like(pattern),
                    func.lower(Event.organiser).like(pattern),
                )
            )
        return statement

    async def search(self, filters: EventFilters, *, account: Account | None = None) -> tuple[list[Event], int]:
        """The events this account may see (drafts of those it manages too; without one, what the public sees:
        upcoming unless `filters.past`), as ORM objects, for the organisers' pages and the API with a token. The
        public pages and API read `public_listing` (plain rows, the same access rule)."""
        session = self.repository.session
        statement = self._filtered(filters, account=account)
        order = Event.starts_at.desc() if filters.past else Event.starts_at.asc()
        # The total comes with each row (a window over the whole match), saving a second statement; the joins
        # are to-one (series), so they do not multiply rows.
        found = (await session.execute(
            statement.add_columns(func.count().over().label("total"))
            .order_by(order, Event.id).limit(filters.limit).offset(filters.offset)
        )).all()
        if found:
            return [row[0] for row in found], int(found[0][1])
        if not filters.offset:
            return [], 0
        # A page past the end: still say how many there are.
        total = await session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
        return [], int(total or 0)

    async def months_with_events(self) -> tuple[str, ...]:
        now = dt.datetime.now(dt.UTC)
        # Distinct months in SQL: the home page must not fetch every upcoming event to fill one menu.
        rows = await self.repository.session.scalars(
            select(utc_year_month(Event.starts_at))
            .where(Event.is_public, Event.ends_at >= now)
            .distinct()
        )
        return tuple(sorted(rows))

    async def speakers_of(self, event: Event) -> list:
        """Distinct speakers in programme order (from already loaded talks: no extra query)."""
        seen: dict[int, Any] = {}
        for talk in event.talks:
            for link in talk.speaker_links:
                seen.setdefault(link.person.id, link.person)
        return list(seen.values())

    async def public_event(self, slug: str) -> PublicEvent:
        """The public event page's event with its series, as plain values (events/public.py)."""
        return await public_event(self.repository.session, slug)

    async def public_listing(self, filters: EventFilters, *, known_total: ListingTotal | None = None,
                             ) -> tuple[list[PublicEvent], ListingTotal]:
        """A page of upcoming (or past) public events and their number (events/public.py)."""
        return await public_events(self.repository.session, filters, known_total=known_total)

    async def public_listing_keys(self, filters: EventFilters, *, known_total: ListingTotal | None = None,
                                  ) -> tuple[list[tuple[int, dt.datetime]], ListingTotal]:
        """`public_listing` as each event's (id, created_at), for a page whose cards may be kept rendered."""
        return await public_event_keys(self.repository.session, filters, known_total=known_total)

    async def public_events_by_id(self, ids: list[int]) -> list[PublicEvent]:
        return await public_events_by_id(self.repository.session, ids)

    async def programme_listing(self, event: Event | PublicEvent, *, limit: int) -> ProgrammeListing:
        """Talks in time order with their speakers, and the distinct speakers in programme order: one query of
        plain rows (no ORM objects per talk and person, which cost more than the page's whole template).
        A programme of more than `limit` talks is not listed (the page links to the programme instead): then
        only its size is read."""
        # Unscheduled talks are not in the public programme.
        first_talks = (select(Talk.id).where(Talk.event_id == event.id, Talk.starts_at.is_not(None))
                       .order_by(Talk.starts_at, Talk.id).limit(limit + 1).scalar_subquery())
        rows = await self.repository.session.execute(
            select(Talk.id, Talk.title, Talk.starts_at, Talk.ends_at, Talk.room,
                   Person.id, Person.honorific, Person.full_name, Person.affiliation, Person.country)
            .select_from(Talk)
            .outerjoin(TalkSpeaker, TalkSpeaker.talk_id == Talk.id)
            .outerjoin(Person, Person.id == TalkSpeaker.person_id)
            .where(Talk.id.in_(first_talks))
            .order_by(Talk.starts_at, Talk.id, TalkSpeaker.position)
        )
        talks: dict[int, ListedTalk] = {}
        speakers: dict[int, ListedSpeaker] = {}
        for talk_id, title, starts_at, ends_at, room, person_id, honorific, full_name, affiliation, country in rows:
            talk = talks.get(talk_id)
            if talk is None:
                talk = talks[talk_id] = ListedTalk(title, starts_at, ends_at, room, [])
            if person_id is not None:
                speaker = speakers.get(person_id)
                if speaker is None:
                    speaker = speakers[person_id] = ListedSpeaker(person_id, honorific, full_name, affiliation, country)
                talk.speakers.append(speaker)
        if len(talks) > limit:
            size = await self.repository.session.scalar(
                select(func.count()).where(Talk.event_id == event.id, Talk.starts_at.is_not(None)))
            return ProgrammeListing(talks=[], speakers=[], size=int(size or 0), listed=False)
        return ProgrammeListing(talks=list(talks.values()), speakers=list(speakers.values()), size=len(talks),
                                listed=True)


@dataclass(frozen=True, slots=True)
class SeriesChoice:
    slug: str
    title: str


@dataclass(slots=True)
class ProgrammeListing:
    talks: list[ListedTalk]
    speakers: list[ListedSpeaker]
    size: int  # talks in the programme
    listed: bool  # False for a programme too big to list on the event page


@dataclass(slots=True)
class ListedSpeaker:
    """A speaker as the event page lists them (read as plain columns)."""

    id: int
    honorific: str
    full_name: str
    affiliation: str
    country: str

    display_name = Person.__dict__["display_name"]  # the same property as the model's: one rule for names


@dataclass(slots=True)
class ListedTalk:
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    room: str
    speakers: list[ListedSpeaker]


# The names the rest of the code knew these rules by; the rules themselves live in events/access.py.
can_manage = may_manage_event
ensure_can_manage = ensure_may_manage_event
