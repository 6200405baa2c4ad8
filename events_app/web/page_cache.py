"""Rendered public pages kept in each worker's memory, for anonymous visitors.

A page is served from memory only if nothing was committed to the database since it was rendered:
- every ORM transaction that writes bumps this process's generation when it commits, and on PostgreSQL also
  sends `NOTIFY events_app_pages` inside the transaction, which every worker LISTENs to (so a change made by
  another worker or by the CLI clears this worker's pages as soon as it commits);
- an entry also expires after `page_cache_seconds`, because pages depend on the clock too ("upcoming"), and as
  a bound for changes made outside the ORM (raw SQL in psql).
If the PostgreSQL listener is not connected, nothing is served from memory. The cache is safe to lose.

Only GET requests without a session cookie are served or stored (so no flash messages, no organiser pages),
and only for the routes named in CACHED_ROUTES. A page may depend on its URL, the interface language and the
database, nothing else; the one per-visitor part, the CSRF token of forms, is put back on every hit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from litestar import Litestar, Request, Response
from litestar.enums import MediaType
from litestar.response import Template
from litestar.utils.scope.state import ScopeState
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from events_app.core.i18n import current_locale

log = logging.getLogger(__name__)

CHANNEL = "events_app_pages"
# Route names (the `name=` of the handlers) whose anonymous GET answers are kept.
CACHED_ROUTES = frozenset({"home", "past", "event", "series", "speaker"})
SESSION_COOKIE = "events_session"
CSRF_MARK = "\x00csrf\x00"
MAX_PAGES = 2000

# ---- invalidation: a per-process counter bumped by every committed write ----------------------------------

_generation = 0


def current_generation() -> int:
    return _generation


def pages_changed() -> None:
    global _generation
    _generation += 1


def _remember_write(session: Session, _flush_context) -> None:
    session.info["writes_pages"] = True


def _remember_bulk_write(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info["writes_pages"] = True


def _notify_other_processes(session: Session) -> None:
    if not (session.info.get("writes_pages") or session.new or session.dirty or session.deleted):
        return
    session.info["writes_pages"] = True
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # Delivered by PostgreSQL when (and only if) this transaction commits.
        connection.exec_driver_sql(f"NOTIFY {CHANNEL}")


def _bump_after_commit(session: Session) -> None:
    if session.info.pop("writes_pages", False):
        pages_changed()


def _forget_after_rollback(session: Session, _previous_transaction) -> None:
    session.info.pop("writes_pages", None)


_HOOKS = (
    ("after_flush", _remember_write),
    ("do_orm_execute", _remember_bulk_write),
    ("before_commit", _notify_other_processes),
    ("after_commit", _bump_after_commit),
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
    body: str
    expires: float


@dataclass
class PageCache:
    seconds: float
    # On PostgreSQL pages are served only while the LISTEN connection is up; SQLite has a single writer process.
    needs_listener: bool
    listening: bool = False
    generation: int = -1
    pages: OrderedDict[tuple, CachedPage] = field(default_factory=OrderedDict)

    @property
    def active(self) -> bool:
        return self.seconds > 0 and (self.listening or not self.needs_listener)

    def _sync(self) -> None:
        if self.generation != _generation:
            self.pages.clear()
            self.generation = _generation

    def get(self, key: tuple) -> CachedPage | None:
        self._sync()
        page = self.pages.get(key)
        if page is None:
            return None
        if page.expires < time.monotonic():
            del self.pages[key]
            return None
        self.pages.move_to_end(key)
        return page

    def put(self, key: tuple, body: str, generation: int) -> None:
        self._sync()
        if generation != self.generation:
            return  # a write committed while this page was being rendered: it may be stale already
        self.pages[key] = CachedPage(body=body, expires=time.monotonic() + self.seconds)
        while len(self.pages) > MAX_PAGES:
            self.pages.popitem(last=False)


# ---- request hooks ----------------------------------------------------------------------------------------------

# Set by before_request for a cache miss worth storing: (key, generation when the request started).
_pending: ContextVar[tuple[tuple, int] | None] = ContextVar("page_cache_pending", default=None)
_current_request: ContextVar[Request | None] = ContextVar("page_cache_request", default=None)


def _cache_of(request: Request) -> PageCache | None:
    cache = request.app.state.get("page_cache")
    return cache if cache is not None and cache.active else None


def _csrf_token(request: Request) -> str:
    # Litestar leaves its `Empty` sentinel (a class, so truthy) when the CSRF middleware did not run.
    token = ScopeState.from_scope(request.scope).csrf_token
    return token if isinstance(token, str) else ""


def _cacheable(request: Request) -> bool:
    if request.method != "GET" or request.route_handler.name not in CACHED_ROUTES:
        return False
    return not any(name.startswith(SESSION_COOKIE) for name in request.cookies)


async def serve_cached_page(request: Request) -> Response | None:
    """before_request hook: answer from memory, or note that the page may be stored."""
    _pending.set(None)
    _current_request.set(request)
    cache = _cache_of(request)
    if cache is None or not _cacheable(request):
        return None
    key = (request.scope["path"], request.scope["query_string"], current_locale.get())
    page = cache.get(key)
    if page is None:
        _pending.set((key, cache.generation))
        return None
    return Response(content=page.body.replace(CSRF_MARK, _csrf_token(request)), media_type=MediaType.HTML)


async def store_rendered_page(response: Response) -> Response:
    """after_request hook: render a page noted by serve_cached_page once, keep it, answer with it."""
    pending = _pending.get()
    if pending is None:
        return response
    _pending.set(None)
    request = _current_request.get()
    if request is None or request.scope["path"] != pending[0][0]:
        return response
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
    key, generation = pending
    cache = request.app.state.get("page_cache")
    if cache is not None:
        cache.put(key, body.replace(token, CSRF_MARK) if token else body, generation)
    return Response(content=body, media_type=MediaType.HTML)


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
            await connection.add_listener(CHANNEL, lambda *_args: pages_changed())
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


def page_cache_lifespan(cache: PageCache, database_url: str):
    @contextlib.asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        if not cache.needs_listener or cache.seconds <= 0:
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
