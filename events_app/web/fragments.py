"""Rendered parts of public pages kept in each worker's memory, for pages rendered on every request.

The page cache (web/page_cache.py) keeps whole pages for anonymous visitors; when it cannot help (its entry was
dropped because the seats of the event changed during a registration rush, an organiser's request, the cache
turned off), the parts of a page that change rarely are still not rendered again:

    {% call cached_fragment("event-body", event.id, event.created_at, past) %} ... {% endcall %}

renders the block once per key and interface language and serves it again for as long as nothing it may
show has changed. It follows the page cache's record of committed writes: any write that is not known to be
narrower drops every fragment, a change of an event's registration settings drops that event's fragments,
and a registration (seat counts) drops none — so a fragment must never show seat counts or registration
state, nor anything per visitor (CSRF token, session, flash messages) or per request (query string, clock,
except through its key). Fragments also expire after `seconds`, as a bound for changes made outside the ORM.
On PostgreSQL fragments are served only while the worker's LISTEN connection is up (web/page_cache.py).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from jinja2 import pass_context
from markupsafe import Markup

from events_app.core.i18n import current_locale
from events_app.web import page_cache

MAX_FRAGMENTS = 5000
T = TypeVar("T")


@dataclass
class FragmentCache:
    seconds: float
    # Kept fragments (or read-only values, see `kept_value`): key -> (html, expires, generation, event sequence
    # when rendered).
    fragments: OrderedDict[tuple, tuple[Any, float, int, int]] = field(default_factory=OrderedDict)
    # Seat reads (see `kept_seats`): event id -> (value, read at, generation, event sequence then).
    seats: dict[int, tuple[Any, float, int, int]] = field(default_factory=dict)

    def get(self, key: tuple, event_id: int | None) -> Any:
        found = self.fragments.get(key)
        if found is None:
            return None
        html, expires, generation, sequence = found
        if (expires < time.monotonic() or generation != page_cache.current_generation()
                or page_cache.event_changed_since(event_id, sequence)):
            del self.fragments[key]
            return None
        self.fragments.move_to_end(key)
        return html

    def put(self, key: tuple, html: Any, generation: int, sequence: int, *, until: dt.datetime | None = None) -> None:
        """Keeps `html` for at most `seconds`, and not past `until` (a UTC instant when what it shows changes
        by the clock alone, such as a call for abstracts closing)."""
        if generation != page_cache.current_generation():
            return  # a write committed while it was being rendered: it may be stale already
        expires = time.monotonic() + self.seconds
        if until is not None:
            expires = min(expires, time.monotonic() + (until - dt.datetime.now(dt.UTC)).total_seconds())
        self.fragments[key] = (html, expires, generation, sequence)
        while len(self.fragments) > MAX_FRAGMENTS:
            self.fragments.popitem(last=False)

    def clear(self) -> None:
        self.fragments.clear()
        self.seats.clear()


def _usable_cache(context: Any) -> FragmentCache | None:
    request = context.get("request")
    return None if request is None else _cache_of(request)


def _cache_of(request: Any, *, every_process: bool = False) -> FragmentCache | None:
    """The cache, if usable. With `every_process`, only while this process hears the writes of every other
    (PostgreSQL's LISTEN): for values known by a key that another process's write could reuse for other rows (an
    address, a listing's filters), unlike fragments known by an event's id and created_at. SQLite announces
    nothing across processes, and a second process writing to it (the browser tests' data helper) is not heard."""
    state = request.app.state
    cache = state.get("fragments")
    pages = state.get("page_cache")
    if cache is None or cache.seconds <= 0 or pages is None or not pages.changes_known:
        return None
    if every_process and not pages.listening:
        return None
    return cache


def _event_of(key: tuple) -> int | None:
    return key[0] if key and isinstance(key[0], int) else None


def kept_fragment(request: Any, name: str, *key: Hashable) -> Markup | None:
    """For a handler that can skip reading what a fragment shows: the fragment, if kept. Pass it to the
    template as ``kept_fragments={(name, *key): html}`` so the page shows this very copy (it may be dropped
    between this call and the rendering)."""
    cache = _cache_of(request)
    html = None if cache is None else cache.get((name, *key, current_locale.get()), _event_of(key))
    return None if html is None else Markup(html)


async def kept_value(request: Any, name: str, read: Callable[[], Awaitable[T]], *key_parts: Hashable,
                     every_process: bool = False) -> T:
    """A value read from the database that every page shows alike (the series menu, the months with events, a
    public event's row by its address, `key_parts`), kept like a fragment of no single event: read again after
    any write that may change it (any write that is not a registration or an event's registration settings).
    It is shared by concurrent requests: it must be immutable (tuples, frozen dataclasses, not ORM objects).
    What `read` raises (a 404) is not kept. `every_process`: see `_cache_of`."""
    cache = _cache_of(request, every_process=every_process)
    if cache is None:
        return await read()
    key = ("value", name, *key_parts)
    value = cache.get(key, None)
    if value is None:
        generation, sequence = page_cache.current_generation(), page_cache.current_event_sequence()
        value = await read()
        cache.put(key, value, generation, sequence)
    return cast("T", value)


def kept_value_if_any(request: Any, name: str, *key_parts: Hashable, every_process: bool = False) -> Any:
    """A value kept by `keep_value` (None if there is none): for a handler that reads it together with
    something else when it is not kept. `every_process`: see `_cache_of`."""
    cache = _cache_of(request, every_process=every_process)
    return None if cache is None else cache.get(("value", name, *key_parts), None)


def keep_value(request: Any, value: Any, name: str, *key_parts: Hashable, until: dt.datetime | None = None,
               every_process: bool = False) -> None:
    """Keeps an immutable value read during this request, as `kept_value` does, and not past `until` (a UTC
    instant when it changes by the clock alone)."""
    cache = _cache_of(request, every_process=every_process)
    if cache is not None:
        generation, sequence = page_cache.state_at_request_start()
        cache.put(("value", name, *key_parts), value, generation, sequence, until=until)


@pass_context
def cached_fragment(context: Any, name: str, *key: Hashable, caller: Callable[[], str], until: Any = None) -> Markup:
    """Jinja global for a call block: the block's output for (name, key, language), rendered once. The first
    key part is the event the fragment shows (its id), or None for a fragment of no single event; with the id,
    its created_at, so an id handed out again (a restored backup, an emptied test database) is another key.
    `until`: a UTC instant at which the block would read differently by the clock alone (kept no longer)."""
    kept = (context.get("kept_fragments") or {}).get((name, *key))
    if kept is not None:
        return Markup(kept)
    cache = _usable_cache(context)
    if cache is None:
        return Markup(caller())
    full_key = (name, *key, current_locale.get())
    event_id = _event_of(key)
    html = cache.get(full_key, event_id)
    if html is None:
        # What the block shows was read since the request started, maybe before a change that committed since.
        generation, sequence = page_cache.state_at_request_start()
        html = str(caller())
        cache.put(full_key, html, generation, sequence, until=until if isinstance(until, dt.datetime) else None)
    return Markup(html)


async def kept_seats(request: Any, event_id: int, read: Callable[[], Awaitable[T]]) -> T:
    """What an event page shows of the event's seats and registration settings (`read`: an immutable value),
    kept as the page cache keeps such a page: until this process takes a registration for the event or its
    settings change, and for at most the page cache's seat lag once another process's registration for it is
    heard (so seat counts lag by a few seconds at most, and never for whoever just registered here). Only
    where every process's writes are heard (PostgreSQL's LISTEN); elsewhere it is read every time."""
    cache = _cache_of(request, every_process=True)
    pages = request.app.state.get("page_cache")
    if cache is None or pages is None:
        return await read()
    now = time.monotonic()
    found = cache.seats.get(event_id)
    if found is not None:
        value, read_at, generation, sequence = found
        if (generation == page_cache.current_generation() and now - read_at <= cache.seconds
                and pages.seats_current(event_id, read_at, sequence, now)):
            return cast("T", value)
    generation, sequence = page_cache.current_generation(), page_cache.current_event_sequence()
    value = await read()
    if generation == page_cache.current_generation():
        if len(cache.seats) >= MAX_FRAGMENTS:
            cache.seats.clear()
        cache.seats[event_id] = (value, now, generation, sequence)
    return value
