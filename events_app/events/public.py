"""The public read path: events as anyone may see them, read as plain rows for the public pages and the public API.

Pages rendered on every request (issue 12) cannot afford the ORM: building a statement, hydrating an `Event`
with its identity map entry and its collections costs more than the page's template. Here each public read is
one Core statement, built once per shape with bound parameters (so SQLAlchemy's compiled cache answers at once),
run on the request session's connection, and its rows become `PublicEvent`s: frozen, so they may be kept
between requests (web/fragments.py) and shared by concurrent ones.

Who may see an event is decided in one place, `events_visible_to(None)` (events/access.py: published or
cancelled, never a draft, so an event taken back to draft disappears at once); every statement here carries it.
The organisers' reads (drafts, managers) stay on the ORM in events/services.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from litestar.exceptions import NotFoundException
from sqlalchemy import BindParameter, ColumnElement, Integer, Select, bindparam, func, or_, select

from events_app.events.access import events_visible_to
from events_app.events.models import Event, EventKind, EventStatus, Series

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from events_app.events.services import EventFilters

# Instants outside these years are typing slips or probes (events/services.py validates with the same bounds).
EARLIEST_YEAR, LATEST_YEAR = 1900, 2200


@dataclass(frozen=True, slots=True)
class PublicSeries:
    id: int
    slug: str
    title: str


@dataclass(frozen=True, slots=True)
class PublicEvent:
    """An event as the public sees it: the columns of `Event` (the same names, so templates and `event_out`
    read either) and its series, without managers or talks."""

    id: int
    slug: str
    kind: EventKind
    title: str
    summary: str
    description: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    timezone: str
    venue_name: str
    venue_address: str
    online_url: str
    online_url_private: bool
    geo_lat: float | None
    geo_lon: float | None
    language: str
    organiser: str
    partners: tuple[str, ...]
    status: EventStatus
    series_id: int | None
    default_talk_minutes: int
    revision: int
    created_at: dt.datetime
    updated_at: dt.datetime
    series: PublicSeries | None

    # The model's own properties (not fields): one rule for zones, local times and what "cancelled" means.
    zone = Event.__dict__["zone"]
    local_start = Event.__dict__["local_start"]
    local_end = Event.__dict__["local_end"]
    is_cancelled = Event.__dict__["is_cancelled"]

    @property
    def is_public(self) -> bool:
        return self.status != EventStatus.DRAFT  # always, by construction: every read carries the rule


_EVENT_COLUMNS = (
    Event.id, Event.slug, Event.kind, Event.title, Event.summary, Event.description, Event.starts_at, Event.ends_at,
    Event.timezone, Event.venue_name, Event.venue_address, Event.online_url, Event.online_url_private,
    Event.geo_lat, Event.geo_lon, Event.language, Event.organiser, Event.partners, Event.status, Event.series_id,
    Event.default_talk_minutes, Event.revision, Event.created_at, Event.updated_at,
)
_SERIES_COLUMNS = (Series.slug, Series.title)
_WIDTH = len(_EVENT_COLUMNS)


def _public_event(row: Sequence[Any]) -> PublicEvent:
    (id_, slug, kind, title, summary, description, starts_at, ends_at, timezone, venue_name, venue_address,
     online_url, online_url_private, geo_lat, geo_lon, language, organiser, partners, status, series_id,
     default_talk_minutes, revision, created_at, updated_at, series_slug, series_title) = row[:_WIDTH + 2]
    return PublicEvent(
        id_, slug, kind, title, summary, description, starts_at, ends_at, timezone, venue_name, venue_address,
        online_url, online_url_private, geo_lat, geo_lon, language, organiser, tuple(partners or ()), status,
        series_id, default_talk_minutes, revision, created_at, updated_at,
        PublicSeries(series_id, series_slug, series_title) if series_slug is not None else None,
    )


def _public_select(*extra: Any) -> Select:
    return (select(*_EVENT_COLUMNS, *_SERIES_COLUMNS, *extra)
            .outerjoin(Series, Series.id == Event.series_id)
            .where(events_visible_to(None)))


# Built once: executing the same statement object skips building it and computing its cache key.
_BY_SLUG = _public_select().where(Event.slug == bindparam("slug"))


async def public_event(session: AsyncSession, slug: str) -> PublicEvent:
    """A published or cancelled event by its address; a draft is as unknown as an address that does not exist."""
    connection = await session.connection()
    row = (await connection.execute(_BY_SLUG, {"slug": slug})).first()
    if row is None:
        raise NotFoundException("No such event.")
    return _public_event(row)


def month_window(month: str | None) -> tuple[dt.datetime, dt.datetime] | None:
    """The UTC instants bounding a listing's month filter ("2030-03"), widened by 14 hours on each side so events
    near midnight in far zones still show; None for no month or one that is not a month of the accepted years."""
    if not month:
        return None
    try:
        first = dt.datetime.strptime(month, "%Y-%m").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    if not EARLIEST_YEAR <= first.year <= LATEST_YEAR:
        return None
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first - dt.timedelta(hours=14), following + dt.timedelta(hours=14)


@lru_cache(maxsize=256)
def _listing_statement(keys_only: bool, with_total: bool, past: bool, kind: bool, series: bool, month: bool,
                       text: bool) -> Select:
    """The statement of one shape of listing (which filters are given); values are bound at execution. With
    `keys_only`, each event's id and created_at (what its kept card is known by) instead of the whole row; with
    `with_total`, two last columns: the number of events matched and the first end among them (a window over
    the whole match, which costs PostgreSQL a scan of it; without, the index on starts_at stops at the page)."""
    now: BindParameter[dt.datetime] = bindparam("now", type_=Event.ends_at.type)
    totals = (func.count().over().label("total"), func.min(Event.ends_at).over().label("first_end")) if with_total else ()
    if keys_only:
        statement = select(Event.id, Event.created_at, *totals).where(events_visible_to(None))
        if series:
            statement = statement.join(Series, Series.id == Event.series_id)
    else:
        statement = _public_select(*totals)
    statement = statement.where(Event.ends_at < now) if past else statement.where(Event.ends_at >= now)
    if kind:
        statement = statement.where(Event.kind == bindparam("kind", type_=Event.kind.type))
    if series:
        statement = statement.where(Series.slug == bindparam("series"))
    if month:
        # Month boundaries in UTC, widened by a day so events near midnight in far zones still show.
        statement = statement.where(Event.starts_at < bindparam("month_end", type_=Event.starts_at.type),
                                    Event.ends_at >= bindparam("month_start", type_=Event.ends_at.type))
    if text:
        pattern: BindParameter[str] = bindparam("pattern")
        conditions: list[ColumnElement[bool]] = [func.lower(column).like(pattern) for column in
                                                 (Event.title, Event.summary, Event.venue_name, Event.organiser)]
        statement = statement.where(or_(*conditions))
    order = (Event.starts_at.desc(), Event.id) if past else (Event.starts_at.asc(), Event.id)
    return statement.order_by(*order).limit(bindparam("limit", type_=Integer())).offset(bindparam("offset", type_=Integer()))


@dataclass(frozen=True, slots=True)
class ListingTotal:
    """How many events a listing matches, and when that number changes by the clock alone (the first of
    them to end leaves an upcoming listing); None when not known."""

    count: int
    changes_at: dt.datetime | None = None


def listing_total_key(filters: EventFilters) -> tuple | None:
    """What an upcoming listing's total depends on besides the database and the clock (its filters, not its
    page); None for a past listing, whose total grows whenever any event ends."""
    if filters.past:
        return None
    return (filters.kind, filters.series, filters.month, filters.q)


def listing_parameters(filters: EventFilters, now: dt.datetime) -> tuple[tuple[bool, ...], dict[str, Any]]:
    """The shape of a public listing and its values; a filter that cannot match anything real is left out, as
    the organisers' search does (an unknown kind, a month outside the years an event may have)."""
    values: dict[str, Any] = {"now": now, "limit": filters.limit, "offset": filters.offset}
    kind = filters.kind in {k.value for k in EventKind}
    if kind:
        values["kind"] = EventKind(filters.kind)
    if filters.series:
        values["series"] = filters.series
    window = month_window(filters.month)
    month = window is not None
    if window is not None:
        values["month_start"], values["month_end"] = window
    if filters.q:
        values["pattern"] = f"%{filters.q.strip().lower()}%"
    return (filters.past, kind, bool(filters.series), month, bool(filters.q)), values


async def _listing(session: AsyncSession, filters: EventFilters, *, keys_only: bool,
                   known_total: ListingTotal | None) -> tuple[Sequence[Any], ListingTotal]:
    shape, values = listing_parameters(filters, dt.datetime.now(dt.UTC))
    connection = await session.connection()
    if known_total is not None:
        return (await connection.execute(_listing_statement(keys_only, False, *shape), values)).all(), known_total
    statement = _listing_statement(keys_only, True, *shape)
    rows = (await connection.execute(statement, values)).all()
    if rows:
        return rows, ListingTotal(int(rows[0][-2]), None if filters.past else rows[0][-1])
    if not filters.offset:
        return [], ListingTotal(0)
    # A page past the end: still say how many there are.
    count = await connection.scalar(
        select(func.count()).select_from(statement.order_by(None).limit(None).offset(None).subquery()), values)
    return [], ListingTotal(int(count or 0))


async def public_events(session: AsyncSession, filters: EventFilters, *,
                        known_total: ListingTotal | None = None) -> tuple[list[PublicEvent], ListingTotal]:
    """A page of the public listing (upcoming, or past with `filters.past`) and the number of events in it
    (counted unless `known_total` is given, kept from an earlier request)."""
    rows, total = await _listing(session, filters, keys_only=False, known_total=known_total)
    return [_public_event(row) for row in rows], total


async def public_event_keys(session: AsyncSession, filters: EventFilters, *, known_total: ListingTotal | None = None,
                            ) -> tuple[list[tuple[int, dt.datetime]], ListingTotal]:
    """The same page as `public_events`, as each event's (id, created_at): enough when its cards are kept."""
    rows, total = await _listing(session, filters, keys_only=True, known_total=known_total)
    return [(row[0], row[1]) for row in rows], total


_BY_IDS = _public_select().where(Event.id.in_(bindparam("ids", expanding=True)))


async def public_events_by_id(session: AsyncSession, ids: Sequence[int]) -> list[PublicEvent]:
    """These public events, in the order given (those no longer public are left out)."""
    connection = await session.connection()
    found = {row[0]: _public_event(row) for row in await connection.execute(_BY_IDS, {"ids": list(ids)})}
    return [found[event_id] for event_id in ids if event_id in found]
