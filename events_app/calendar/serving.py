"""Rendering and serving iCalendar feeds, shared by calendar's public feeds and registration's personal feed:
the VEVENT cache, building a feed from its entries, and the conditional response (ETag / Last-Modified).
No routes here: a domain may use it without importing calendar's controllers."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import hashlib
import threading
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
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
from events_app.core.gc_pause import collector_paused
from events_app.core.i18n import current_locale
from events_app.core.i18n import gettext as _
from events_app.core.single_flight import SingleFlight
from events_app.settings import Settings
from events_app.web.conditional_get import conditional_response

# Part of every ETag: bump it when the builder's output changes, so clients refetch after a deploy.
BUILD_VERSION = "2"
CACHE_ENTRIES = 50_000  # ~1 KB each: enough for every event of a large programme in every language
CALENDAR_MEDIA_TYPE = "text/calendar; charset=utf-8"
KEPT_FEED_BYTES = 64 * 1024 * 1024  # finished public feeds kept per process (a 2,000-talk programme: 2 MB)
OFF_LOOP_BYTES = 256 * 1024  # bodies from this size are compressed in a worker thread


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


@dataclass
class KeptFeed:
    body: bytes
    gzipped: bytes | None = None  # made on the first request that accepts gzip

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"")


class FeedBodies:
    """Finished public feeds by ETag, per process and safe to lose.

    The ETag names everything a feed's bytes depend on (the feed, the language, the validator over every row
    feeds show; see conditional_feed), so while a client's copy with that ETag is current (304), so are these
    bytes: a repeated request for a big programme costs the validator's one query and the write, instead of
    reading 2,000 talks, looking up 2,000 VEVENTs and joining 2 MB again. A change gives every feed a new ETag;
    the old bodies leave least recently used first, within ``max_bytes``. Only touched on the event loop."""

    def __init__(self, max_bytes: int = KEPT_FEED_BYTES) -> None:
        self.max_bytes = max_bytes
        self._kept: OrderedDict[str, KeptFeed] = OrderedDict()
        self._bytes = 0

    def get(self, etag: str) -> KeptFeed | None:
        kept = self._kept.get(etag)
        if kept is not None:
            self._kept.move_to_end(etag)
        return kept

    def put(self, etag: str, kept: KeptFeed) -> KeptFeed:
        previous = self._kept.pop(etag, None)
        self._bytes -= previous.size if previous is not None else 0
        if kept.size <= self.max_bytes:
            self._kept[etag] = kept
            self._bytes += kept.size
        while self._bytes > self.max_bytes:
            self._bytes -= self._kept.popitem(last=False)[1].size
        return kept

    def __len__(self) -> int:
        return len(self._kept)


def feed_bodies(app: Litestar) -> FeedBodies:
    return app.state.setdefault("calendar_feed_bodies", FeedBodies())


def _gzip(body: bytes) -> bytes:
    # mtime=0: the same bytes for the same feed in every process (proxies may compare them).
    return gzip.compress(body, compresslevel=6, mtime=0)


async def _kept_feed(app: Litestar, etag: str, render: Callable[[], Awaitable[bytes]]) -> KeptFeed:
    bodies = feed_bodies(app)
    kept = bodies.get(etag)
    if kept is not None:
        return kept

    async def render_and_keep() -> KeptFeed:
        return bodies.put(etag, KeptFeed(await render()))

    # Identical concurrent misses (same feed, same ETag, which includes the language) are built once.
    return await feed_flights(app).run(etag, render_and_keep)


async def _kept_gzip(app: Litestar, etag: str, render: Callable[[], Awaitable[bytes]]) -> bytes:
    kept = await _kept_feed(app, etag, render)
    if kept.gzipped is None:  # perhaps compressed by another request since: the kept entry is replaced then
        kept = feed_bodies(app).get(etag) or kept
    if kept.gzipped is not None:
        return kept.gzipped

    async def compress() -> KeptFeed:
        again = feed_bodies(app).get(etag)
        if again is not None and again.gzipped is not None:
            return again
        body = kept.body
        # zlib lets go of the GIL while it compresses: off the loop, others are served meanwhile.
        gzipped = await asyncio.to_thread(_gzip, body) if len(body) >= OFF_LOOP_BYTES else _gzip(body)
        return feed_bodies(app).put(etag, KeptFeed(body, gzipped))

    compressed = await feed_flights(app).run((etag, "gzip"), compress)
    assert compressed.gzipped is not None
    return compressed.gzipped


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

    def serialise_paused() -> bytes:
        with collector_paused():  # see core/gc_pause.py
            return serialise()

    if len(entries) >= OFF_LOOP_ENTRIES:
        return await asyncio.to_thread(serialise_paused)  # CPU only; other requests go on meanwhile
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
    app = request.app
    if private:
        # A registrant's own feed is small and read by one person: built each time, identical misses once.
        kept_render, gzipped = (lambda: feed_flights(app).run(etag, render)), None
    else:
        async def kept_render() -> bytes:
            return (await _kept_feed(app, etag, render)).body

        async def gzipped() -> bytes:
            return await _kept_gzip(app, etag, render)

    return await conditional_response(
        request, etag=etag, last_modified=last_modified, media_type=CALENDAR_MEDIA_TYPE, headers=headers,
        render=kept_render, gzipped=gzipped,
        # Exactly this type: Litestar would add a second charset to the media type's own.
        body_headers={"Content-Disposition": f'attachment; filename="{filename}"', "Content-Type": CALENDAR_MEDIA_TYPE},
    )
