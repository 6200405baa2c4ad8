"""Rendered public pages kept in each worker's memory, for anonymous visitors.

A page is served from memory only if nothing it shows was changed by a committed transaction since:
- every ORM transaction that writes notes what it changed (see `_changes_of`): registrations only change the
  seat counts of their event's page, an event's registration settings only that page; any other write changes
  every page. When it commits this process applies that, and on PostgreSQL the transaction also sends
  `NOTIFY events_app_pages, '<changes>'`, which every worker LISTENs to (so a change made by another worker or
  by the CLI reaches this worker's pages as soon as it commits);
- seat counts may lag in other processes: a page whose event's registrations changed (in another worker)
  after it was read is still served until it is `seat_lag_seconds` old (so during a rush the page everyone
  looks at is rendered once per lag there, not once per registration); the worker that took the registration
  renders the page again at once, so whoever registered sees the result;
- an entry also expires after `page_cache_seconds`, because pages depend on the clock too ("upcoming"), and as
  a bound for changes made outside the ORM (raw SQL in psql).
If the PostgreSQL listener is not connected, nothing is served from memory. The cache is safe to lose.

Only GET requests without a session cookie or an Authorization header are served or stored (so no flash
messages, no organiser pages, no token holder's drafts), and only for the routes named in CACHED_ROUTES: HTML
pages and the public JSON list of events. A page may depend on its URL, the interface language and the
database, nothing else; the one per-visitor part, the CSRF token of forms, is put back on every hit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, Request, Response
from litestar.enums import MediaType
from litestar.response import Template
from litestar.utils.scope.state import ScopeState
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from events_app.core.i18n import current_locale
from events_app.web.file_routes import is_file_request

log = logging.getLogger(__name__)

CHANNEL = "events_app_pages"
# Route names (the `name=` of the handlers) whose anonymous GET answers are kept.
CACHED_ROUTES = frozenset({"home", "past", "event", "series", "speaker", "api_list_events"})
# Of those, the ones answering JSON (kept as encoded, no CSRF token to put back).
JSON_ROUTES = frozenset({"api_list_events"})
# Of those, the pages that show an event's seats and registration settings (its context's "event").
EVENT_ROUTES = frozenset({"event"})
SESSION_COOKIE = "events_session"
CSRF_MARK = "\x00csrf\x00"
MAX_PAGES = 2000
# A request finding the page it wants being rendered by another waits for that one at most this long.
FLIGHT_WAIT_SECONDS = 5.0

# ---- invalidation: what committed writes changed, applied per process ---------------------------------------

# Every page: bumped by any write not known to be narrower (and by a reconnected listener).
_generation = 0
# Hard changes of one event's page: event id -> value of _event_sequence when it changed.
_event_sequence = 0
_event_changed: dict[int, int] = {}
# Seat counts changed by this process's own commits (shown at once here): event id -> _event_sequence then.
_own_seats_changed: dict[int, int] = {}
# Seat counts changed: event id (or ANY_EVENT) -> time.monotonic() when this process learnt of it.
_seats_changed: dict[int | str, float] = {}
ANY_EVENT = "*"

# Tables no cached page shows: writing them changes no page (mail queue, private links, API tokens, reminders
# sent). A table not named here or below changes every page (safe for tables added later).
UNSHOWN_TABLES = frozenset({"outbox_message", "registration_link", "api_token", "reminder_sent"})
# Tables whose rows show on their event's page only: (table, kind of change).
EVENT_TABLES = {"registration": "seats", "registration_settings": "event"}
ALL = ("all",)
MAX_PAYLOAD = 7000  # PostgreSQL's NOTIFY payload limit is 8000 bytes


def current_generation() -> int:
    return _generation


def current_event_sequence() -> int:
    return _event_sequence


# What was current when this request started (set by serve_cached_page, the app's before_request hook): what the
# request reads may be older than a change that commits while it runs, so what it keeps must carry this.
_request_started: ContextVar[tuple[int, int] | None] = ContextVar("page_cache_request_started", default=None)


def state_at_request_start() -> tuple[int, int]:
    """(generation, event sequence) when the current request started; the current ones outside a request."""
    return _request_started.get() or (_generation, _event_sequence)


def event_changed_since(event_id: int | None, sequence: int) -> bool:
    """Whether that event's page changed (not only its seats) after `current_event_sequence()` was `sequence`."""
    return event_id is not None and _event_changed.get(event_id, -1) > sequence


def pages_changed() -> None:
    global _generation
    _generation += 1


def apply_changes(changes: set[Any], *, own: bool = False) -> None:
    """Applies what a committed transaction changed (from this process, `own`, or, through NOTIFY, another)."""
    global _event_sequence
    if ALL in changes:
        pages_changed()
        return
    now = time.monotonic()
    for kind, event_id in changes:
        if kind == "seats":
            _seats_changed[event_id] = now
            if own and event_id != ANY_EVENT:
                # Read your own writes: the process that took a registration shows its event's new seats at
                # once (the person who just took the last seat sees the waitlist button); others may lag.
                _event_sequence += 1
                _own_seats_changed[event_id] = _event_sequence
        elif kind == "event":
            _event_sequence += 1
            _event_changed[event_id] = _event_sequence


def encode_changes(changes: set[Any]) -> str:
    text = "all" if ALL in changes else " ".join(sorted(f"{kind}:{event_id}" for kind, event_id in changes))
    return "all" if len(text) > MAX_PAYLOAD else text


def decode_changes(payload: str) -> set[tuple]:
    """The NOTIFY payload; anything unreadable (or an empty payload, as older code sent) changes every page."""
    changes: set[tuple] = set()
    for item in payload.split():
        kind, _, event_id = item.partition(":")
        if kind in ("seats", "event") and (event_id.isdigit() or event_id == ANY_EVENT):
            changes.add((kind, int(event_id) if event_id.isdigit() else ANY_EVENT))
        else:
            return {ALL}
    return changes or {ALL}


def _change_of_row(table: str, event_id: Any) -> Any:
    if table in UNSHOWN_TABLES:
        return ()
    kind = EVENT_TABLES.get(table)
    if kind is None:
        return ALL
    if isinstance(event_id, int):
        return (kind, event_id)
    return (kind, ANY_EVENT) if kind == "seats" else ALL


def _changes_of(session: Session) -> set[tuple]:
    changes = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        change = _change_of_row(table, getattr(obj, "event_id", None)) if table else ALL
        if change:
            changes.add(change)
    return changes


def _pending_changes(session: Session) -> set[tuple]:
    return session.info.setdefault("page_changes", set())


def _remember_write(session: Session, _flush_context: Any) -> None:
    _pending_changes(session).update(_changes_of(session))


def _remember_bulk_write(state: Any) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    if state.execution_options.get("changes_no_page"):
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if table is None:
        _pending_changes(state.session).add(ALL)
        return
    params = state.parameters
    rows = params if isinstance(params, list) else [params or {}]
    event_ids = {row.get("event_id") for row in rows if isinstance(row, dict)} or {None}
    for event_id in event_ids:
        change = _change_of_row(table, event_id)
        if change:
            _pending_changes(state.session).add(change)


def _notify_other_processes(session: Session) -> None:
    changes = _pending_changes(session)
    changes.update(_changes_of(session))  # not flushed yet: the commit flushes after this hook
    changes = changes - session.info.get("page_announced", set())
    if not changes:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # Delivered by PostgreSQL when (and only if) this transaction commits.
        connection.exec_driver_sql(f"NOTIFY {CHANNEL}, '{encode_changes(changes)}'")


def _apply_after_commit(session: Session) -> None:
    session.info.pop("page_announced", None)
    changes = session.info.pop("page_changes", None)
    if changes:
        apply_changes(changes, own=True)


def _forget_after_rollback(session: Session, _previous_transaction: Any) -> None:
    session.info.pop("page_changes", None)
    session.info.pop("page_announced", None)


async def announce_seat_change_now(session: AsyncSession, event_id: int) -> None:
    """Announces now, in the transaction just beginning, that it changes this event's seats, instead of when it
    commits: PostgreSQL delivers a NOTIFY at commit (and only if it commits) wherever it was sent. For a
    transaction about to take a lock that other processes wait for, that is one round trip fewer while the
    lock is held; the commit then announces only what it changed besides."""
    if session.get_bind().dialect.name != "postgresql":
        return
    connection = await session.connection()
    change = ("seats", event_id)
    await connection.exec_driver_sql(f"NOTIFY {CHANNEL}, '{encode_changes({change})}'")
    session.info.setdefault("page_announced", set()).add(change)


_HOOKS = (
    ("after_flush", _remember_write),
    ("do_orm_execute", _remember_bulk_write),
    ("before_commit", _notify_other_processes),
    ("after_commit", _apply_after_commit),
    ("after_soft_rollback", _forget_after_rollback),
)


def watch_writes() -> None:
    """Hooks every ORM session of this process (app, CLI, worker). Called by db.create_engine; idempotent."""
    for name, hook in _HOOKS:
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)


# ---- the store ------------------------------------------------------------------------------------------------


@dataclass
class CachedPage:
    body: str | bytes  # HTML with CSRF_MARK for the visitor's token, or encoded JSON
    expires: float
    # The event whose page this is (its seats and settings), when it was read, and _event_sequence then.
    event_id: int | None = None
    read_at: float = 0.0
    sequence: int = 0


@dataclass
class PageCache:
    seconds: float
    # On PostgreSQL pages are served only while the LISTEN connection is up; SQLite has a single writer process.
    needs_listener: bool
    seat_lag_seconds: float = 2.0
    listening: bool = False
    generation: int = -1
    pages: OrderedDict[tuple, CachedPage] = field(default_factory=OrderedDict)
    # Pages being rendered now (single flight): key -> (done when the leading request has finished, its start).
    flights: dict[tuple, tuple[asyncio.Future, float]] = field(default_factory=dict)

    def join_flight(self, key: tuple) -> asyncio.Future | None:
        """The flight already rendering this page, if any; else None, and the caller leads a new one."""
        found = self.flights.get(key)
        now = time.monotonic()
        if found is not None and now - found[1] < FLIGHT_WAIT_SECONDS and not found[0].done():
            return found[0]
        # No flight, or one whose request vanished without its hooks running: start a new one.
        self.flights[key] = (asyncio.get_running_loop().create_future(), now)
        return None

    def land(self, key: tuple, flight: asyncio.Future) -> None:
        if self.flights.get(key, (None,))[0] is flight:
            del self.flights[key]
        if not flight.done():
            flight.set_result(None)

    @property
    def changes_known(self) -> bool:
        """Whether this process hears of every committed write (web/fragments.py relies on it too)."""
        return self.listening or not self.needs_listener

    @property
    def active(self) -> bool:
        return self.seconds > 0 and self.changes_known

    def _sync(self) -> None:
        if self.generation != _generation:
            self.pages.clear()
            self.generation = _generation

    def _current(self, page: CachedPage, now: float) -> bool:
        if page.expires < now:
            return False
        return page.event_id is None or self.seats_current(page.event_id, page.read_at, page.sequence, now)

    def seats_current(self, event_id: int, read_at: float, sequence: int, now: float) -> bool:
        """Whether what was read of an event's seats and registration settings at `read_at` (monotonic time;
        `_event_sequence` then) may still be shown: its settings unchanged, no registration for it taken by this
        process since, and another process's heard of at most `seat_lag_seconds` after the read."""
        if max(_event_changed.get(event_id, -1), _own_seats_changed.get(event_id, -1)) > sequence:
            return False
        seats = max(_seats_changed.get(event_id, 0.0), _seats_changed.get(ANY_EVENT, 0.0))
        return seats <= read_at or now <= read_at + self.seat_lag_seconds

    def get(self, key: tuple) -> CachedPage | None:
        self._sync()
        page = self.pages.get(key)
        if page is None:
            return None
        if not self._current(page, time.monotonic()):
            del self.pages[key]
            return None
        self.pages.move_to_end(key)
        return page

    def put(self, key: tuple, body: str | bytes, generation: int, *, event_id: int | None = None,
            read_at: float | None = None, sequence: int | None = None) -> None:
        self._sync()
        if generation != self.generation:
            return  # a write committed while this page was being rendered: it may be stale already
        now = time.monotonic()
        page = CachedPage(body=body, expires=now + self.seconds, event_id=event_id,
                          read_at=now if read_at is None else read_at,
                          sequence=_event_sequence if sequence is None else sequence)
        if not self._current(page, now):
            return
        self.pages[key] = page
        while len(self.pages) > MAX_PAGES:
            self.pages.popitem(last=False)


# ---- request hooks ----------------------------------------------------------------------------------------------

@dataclass
class _Pending:
    """A cache miss worth storing, noted by before_request: what was current when the request started."""

    key: tuple
    generation: int
    read_at: float
    sequence: int
    flight: asyncio.Future | None  # set when this request leads the rendering of its page


_pending: ContextVar[_Pending | None] = ContextVar("page_cache_pending", default=None)
_current_request: ContextVar[Request | None] = ContextVar("page_cache_request", default=None)


def _cache_of(request: Request) -> PageCache | None:
    cache = request.app.state.get("page_cache")
    return cache if cache is not None and cache.active else None


def _csrf_token(request: Request) -> str:
    # Litestar leaves its `Empty` sentinel (a class, so truthy) when the CSRF middleware did not run.
    token = ScopeState.from_scope(request.scope).csrf_token
    return token if isinstance(token, str) else ""


def _cacheable(request: Request) -> bool:
    if request.method != "GET" or request.route_handler.name not in CACHED_ROUTES or is_file_request(request):
        return False
    if "authorization" in request.headers:  # an API token may show its owner's drafts
        return False
    return not any(name.startswith(SESSION_COOKIE) for name in request.cookies)


async def serve_cached_page(request: Request) -> Response | None:
    """before_request hook: answer from memory, or note that the page may be stored."""
    _pending.set(None)
    _current_request.set(request)
    _request_started.set((_generation, _event_sequence))
    cache = _cache_of(request)
    if cache is None or not _cacheable(request):
        return None
    key = (request.scope["path"], request.scope["query_string"], current_locale.get())
    page = cache.get(key)
    if page is None:
        flight = cache.join_flight(key)
        if flight is not None:
            # Single flight: the same page is being rendered for someone else; take theirs when it is done.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(flight), FLIGHT_WAIT_SECONDS)
            page = cache.get(key)
        if page is None:  # leading, or the leader's page was not kept (a write meanwhile, not cacheable)
            leading = None if flight is not None else cache.flights[key][0]
            _pending.set(_Pending(key, cache.generation, time.monotonic(), _event_sequence, leading))
            return None
    if isinstance(page.body, bytes):
        return Response(content=page.body, media_type=MediaType.JSON)
    return Response(content=page.body.replace(CSRF_MARK, _csrf_token(request)), media_type=MediaType.HTML)


def _land(request: Request | None, pending: _Pending) -> None:
    cache = request.app.state.get("page_cache") if request is not None else None
    if pending.flight is not None and cache is not None:
        cache.land(pending.key, pending.flight)


async def release_page_flight(_exception: Exception, _scope: Any) -> None:
    """after_exception hook: a page that failed to render releases those waiting for it."""
    pending = _pending.get()
    if pending is not None:
        _pending.set(None)
        _land(_current_request.get(), pending)


def _event_of(request: Request, response: Template) -> int | None:
    """The event whose seats and registration settings the page shows (only the event page does)."""
    if request.route_handler.name not in EVENT_ROUTES:
        return None
    event_id = getattr((response.context or {}).get("event"), "id", None)
    return event_id if isinstance(event_id, int) else None


async def store_rendered_page(response: Response) -> Response:
    """after_request hook: render a page noted by serve_cached_page once, keep it, answer with it."""
    pending = _pending.get()
    if pending is None:
        return response
    _pending.set(None)
    request = _current_request.get()
    try:
        return _store(request, response, pending)
    finally:
        _land(request, pending)


def _store(request: Request | None, response: Response, pending: _Pending) -> Response:
    if request is None or request.scope["path"] != pending.key[0]:
        return response
    if request.route_handler.name in JSON_ROUTES:
        return _store_json(request, response, pending)
    if (
        not isinstance(response, Template)
        or response.status_code not in (None, 200)
        or response.cookies
        or response.headers
        or response.background
        or not (response.template_name or "").endswith(".html")
    ):
        return response
    if request.scope.get("session"):  # the handler put something in the session
        return response
    rendered = response.to_asgi_response(None, request)
    body = rendered.body.decode(response.encoding)
    token = _csrf_token(request)
    cache = request.app.state.get("page_cache")
    if cache is not None:
        cache.put(pending.key, body.replace(token, CSRF_MARK) if token else body, pending.generation,
                  event_id=_event_of(request, response), read_at=pending.read_at, sequence=pending.sequence)
    return Response(content=body, media_type=MediaType.HTML)


def _store_json(request: Request, response: Response, pending: _Pending) -> Response:
    if (
        type(response) is not Response
        or response.status_code not in (None, 200)
        or response.cookies
        or response.headers
        or response.background
        or response.media_type != MediaType.JSON
    ):
        return response
    body = response.to_asgi_response(None, request).body
    cache = request.app.state.get("page_cache")
    if cache is not None:
        cache.put(pending.key, body, pending.generation, read_at=pending.read_at, sequence=pending.sequence)
    return Response(content=body, media_type=MediaType.JSON)


# ---- the PostgreSQL listener ------------------------------------------------------------------------------


def asyncpg_dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _listen(cache: PageCache, dsn: str, stop: asyncio.Event) -> None:
    import asyncpg

    while not stop.is_set():
        connection = None
        try:
            connection = await asyncpg.connect(dsn, timeout=5)
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _conn, lost=lost: lost.set())
            await connection.add_listener(CHANNEL, lambda *args: apply_changes(decode_changes(args[-1] or "")))
            pages_changed()  # anything may have happened while we were not listening
            cache.listening = True
            stop_wait = asyncio.ensure_future(stop.wait())
            lost_wait = asyncio.ensure_future(lost.wait())
            await asyncio.wait({stop_wait, lost_wait}, return_when=asyncio.FIRST_COMPLETED)
            stop_wait.cancel()
            lost_wait.cancel()
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("page cache listener not connected: %s", exc)
        finally:
            cache.listening = False
            if connection is not None and not connection.is_closed():
                with contextlib.suppress(Exception):
                    await connection.close(timeout=2)
        if not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=5)


def page_cache_lifespan(cache: PageCache, database_url: str, *,
                        fragments: bool = False) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """Runs the listener while the app serves, if pages (or, with `fragments`, parts of pages) are kept."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        if not cache.needs_listener or (cache.seconds <= 0 and not fragments):
            yield
            return
        stop = asyncio.Event()
        task = asyncio.create_task(_listen(cache, asyncpg_dsn(database_url), stop))
        try:
            yield
        finally:
            stop.set()
            await task

    return lifespan
