"""Rendering and serving iCalendar feeds, shared by calendar's public feeds and registration's personal feed:
the VEVENT cache, building a feed from its entries, and the conditional response (ETag / Last-Modified).
No routes here: a domain may use it without importing calendar's controllers."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import threading
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from icalendar import Calendar
from litestar import Litestar, Request, Response
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.calendar import build
from events_app.calendar.services import (
    OFF_LOOP_ENTRIES,
    FeedEntry,
    FeedScope,
    build_components,
    event_entries,
    feed_entries,
    feed_validator,
)
from events_app.core.i18n import current_locale
from events_app.core.i18n import gettext as _
from events_app.core.single_flight import SingleFlight
from events_app.settings import Settings
from events_app.web.conditional_get import conditional_response

# Part of every ETag: bump it when the builder's output changes, so clients refetch after a deploy.
BUILD_VERSION = "2"
CACHE_ENTRIES = 50_000  # ~1 KB each: enough for every event of a large programme in every language
CALENDAR_MEDIA_TYPE = "text/calendar; charset=utf-8"


# ---- the cache ------------------------------------------------------------------------------------------------
class VEventCache:
    """Serialised VEVENTs by everything they depend on. Per process and safe to lose: a miss rebuilds.
    Big feeds fill it from a worker thread while requests on the event loop read it: hence the lock."""

    def __init__(self, max_entries: int = CACHE_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple, tuple[bytes, frozenset[str]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[bytes, frozenset[str]] | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: tuple, value: tuple[bytes, frozenset[str]]) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def feed_cache(app: Litestar) -> VEventCache:
    return app.state.setdefault("calendar_vevent_cache", VEventCache())


def feed_flights(app: Litestar) -> SingleFlight:
    return app.state.setdefault("calendar_feed_flights", SingleFlight())


# ---- building -------------------------------------------------------------------------------------------------
def main_zone(entries: Sequence[FeedEntry]) -> str | None:
    zones = Counter(entry.timezone for entry in entries)
    return min(zones, key=lambda zone: (-zones[zone], zone)) if zones else None


async def render_entries(
    session: AsyncSession,
    calendar: Calendar,
    entries: Sequence[FeedEntry],
    *,
    settings: Settings,
    cache: VEventCache | None,
    tombstones: dict[int, Any] | None = None,
    event_filter: ColumnElement[bool] | None = None,
    attendee: bool = False,
) -> bytes:
    """Any feed: with a cache only the entries whose key changed are built and serialised again, to the same
    bytes icalendar would write for the whole calendar (build.assemble)."""
    span = build.event_span(entries)
    locale = current_locale.get()
    parts: dict[tuple, tuple[bytes, frozenset[str]]] = {}
    missing = []
    for entry in entries:
        hit = cache.get((locale, entry.key)) if cache is not None else None
        if hit is None:
            missing.append(entry)
        else:
            parts[entry.key] = hit
    components = await build_components(
        session, missing, settings, tombstones=tombstones, event_filter=event_filter, attendee=attendee,
    ) if missing else {}

    def serialise() -> bytes:
        if cache is None:
            return build.calendar_bytes(calendar, [components[e.key] for e in entries if e.key in components], span)
        for entry in missing:
            component = components.get(entry.key)
            if component is not None:  # an event unpublished between the two queries is simply left out
                parts[entry.key] = (component.to_ical(), build.used_tzids(component))
                cache.put((locale, entry.key), parts[entry.key])
        return build.assemble(calendar, [parts[e.key] for e in entries if e.key in parts], span)

    if len(entries) >= OFF_LOOP_ENTRIES:
        return await asyncio.to_thread(serialise)  # CPU only; other requests go on meanwhile
    return serialise()


async def render_events_feed(
    session: AsyncSession,
    scope: FeedScope,
    *,
    name: str,
    description: str,
    settings: Settings,
    now: dt.datetime,
    cache: VEventCache | None,
) -> bytes:
    """A feed of events (all, of a kind, of a series)."""
    entries = await feed_entries(session, scope, now)
    calendar = build.feed_calendar(name=name, description=description, settings=settings, zone=main_zone(entries))
    return await render_entries(session, calendar, entries, settings=settings, cache=cache, event_filter=scope.where(now))


async def render_personal_feed(
    session: AsyncSession,
    registrations: Sequence[tuple[int, bool]],
    *,
    settings: Settings,
    now: dt.datetime,
    cache: VEventCache | None,
) -> bytes:
    """A registrant's own feed: (event id, tentative) for each registration, in order. The same VEVENTs as the
    public feeds (a seat not yet confirmed is TENTATIVE), so UIDs and SEQUENCEs agree with the invitations."""
    found = await event_entries(session, [event_id for event_id, _tentative in registrations], now)
    entries = []
    for event_id, tentative in registrations:
        entry = found.get(event_id)
        if entry is not None:
            entries.append(entry.as_tentative() if tentative and entry.kind == "event" else entry)
    calendar = build.feed_calendar(
        name=_("My events"), description=_("Events you registered for."), settings=settings,
        zone=main_zone(entries),
    )
    # The attendee's own feed carries meeting links kept from the public: its VEVENTs are not those of the public
    # feeds, so they stay out of the shared cache.
    return await render_entries(session, calendar, entries, settings=settings, cache=None, attendee=True)


# ---- conditional requests -------------------------------------------------------------------------------------
def _etag(feed: str, validator: Sequence) -> str:
    digest = hashlib.blake2b(repr((BUILD_VERSION, feed, current_locale.get(), tuple(validator))).encode(), digest_size=16)
    return f'"{digest.hexdigest()}"'


async def conditional_feed(
    request: Request,
    session: AsyncSession,
    settings: Settings,
    *,
    feed: str,
    filename: str,
    now: dt.datetime,
    render: Callable[[], Awaitable[bytes]],
    private: bool = False,
    changed_at: dt.datetime | None = None,
) -> Response:
    """304 from a few aggregates when nothing changed; otherwise render the feed.

    A feed that also depends on other rows (a registrant's feed on their registrations) names them in
    ``feed`` (part of the ETag) and passes their latest change as ``changed_at`` (for Last-Modified);
    ``private`` keeps shared caches from storing it.
    """
    *validator, last_modified = await feed_validator(session, now)
    if changed_at is not None:
        changed_at = changed_at if changed_at.tzinfo else changed_at.replace(tzinfo=dt.UTC)
        last_modified = max(last_modified, changed_at) if last_modified is not None else changed_at
    headers = {
        "Cache-Control": f"{'private' if private else 'public'}, max-age={settings.calendar_refresh_seconds}",
        # Labels in descriptions follow the language (?lang=, cookie, Accept-Language).
        "Vary": "Accept-Language, Cookie",
    }
    if not private:
        # A department's web page may show the programme with a JavaScript calendar. Never on a personal feed:
        # its address is its only secret, and no other site needs to read it.
        headers["Access-Control-Allow-Origin"] = "*"
    etag = _etag(feed, validator)
    return await conditional_response(
        request, etag=etag, last_modified=last_modified, media_type=CALENDAR_MEDIA_TYPE, headers=headers,
        # Identical concurrent misses (same feed, same ETag, which includes the language) are built once.
        render=lambda: feed_flights(request.app).run(etag, render),
        # Exactly this type: Litestar would add a second charset to the media type's own.
        body_headers={"Content-Disposition": f'attachment; filename="{filename}"', "Content-Type": CALENDAR_MEDIA_TYPE},
    )
