"""Database base classes and the Advanced Alchemy configuration shared by app, CLI and migrations.

It knows no domain: events_app.models maps every table, events_app.wiring watches writes for the page cache."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

from advanced_alchemy.base import BigIntAuditBase, orm_registry
from advanced_alchemy.extensions.litestar import (
    AlembicAsyncConfig,
    AsyncSessionConfig,
    SQLAlchemyAsyncConfig,
)
from advanced_alchemy.extensions.litestar._utils import get_aa_scope_state, set_aa_scope_state
from sqlalchemy import CursorResult, Result, event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.util import await_only

from events_app.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from litestar.datastructures import State
    from litestar.types import Scope

# Every model has a bigint id, created_at and updated_at (UTC, timezone-aware on both databases).
Base = BigIntAuditBase
metadata = orm_registry.metadata


def rows_affected(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched (the session types its result as a plain Result)."""
    return cast("CursorResult[Any]", result).rowcount or 0


def engine_options(settings: Settings) -> dict:
    if settings.is_sqlite:
        # SQLite serialises writers; a generous busy timeout makes concurrent writers wait, not fail.
        return {"connect_args": {"timeout": 30}}
    # No pool_pre_ping: its asyncpg ping is three round trips (BEGIN, ";", ROLLBACK, for pgbouncer's transaction
    # mode, which we do not use); `_check_on_checkout` does the same job in none or one.
    return {"pool_size": settings.db_pool_size, "max_overflow": settings.db_max_overflow}


# A pooled connection idle longer than this is pinged before use; one used more recently is only asked
# whether its socket is still open (no round trip).
PING_AFTER_IDLE_SECONDS = 10.0
_RETURNED_AT = "returned_at"


def _note_return(_dbapi_connection: Any, record: Any) -> None:
    record.info[_RETURNED_AT] = time.monotonic()


def _check_on_checkout(_dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """A pooled connection is checked before use, so a restarted database costs no failed request: a dead one
    is discarded and the pool tries a new one (SQLAlchemy's pessimistic disconnect handling).

    A backend the server ended (restart, pg_terminate_backend, idle timeout) closes its socket, which asyncpg
    has already seen: `is_closed()` answers without a round trip. Only a connection idle for a while, which a
    firewall may have dropped without a word, is pinged (one round trip; under load, none are)."""
    connection = proxy.driver_connection
    if connection.is_closed():
        raise exc.DisconnectionError()
    returned_at = record.info.get(_RETURNED_AT)
    if returned_at is not None and time.monotonic() - returned_at < PING_AFTER_IDLE_SECONDS:
        return
    try:
        await_only(connection.fetchrow(";"))
    except Exception as error:
        raise exc.DisconnectionError() from error


def create_engine(settings: Settings, *, pooled: bool = True) -> AsyncEngine:
    options = engine_options(settings) if pooled else {"poolclass": NullPool}
    engine = create_async_engine(settings.database_url, **options)
    if pooled and not settings.is_sqlite:
        event.listen(engine.sync_engine, "checkout", _check_on_checkout)
        event.listen(engine.sync_engine, "checkin", _note_return)
    if settings.is_sqlite:

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

    return engine


# Handler opt: the request only reads (public pages, public API reads). On PostgreSQL its session runs its
# statements without BEGIN and COMMIT (two round trips of a page's five or six); each statement sees the
# latest committed data, which is all a page needs (seat counts may lag anyway). Never set it on a handler
# that writes: nothing would be atomic.
READS_ONLY = "reads_only"
READS = {READS_ONLY: True}  # opt=READS on a handler
_READING_METHODS = frozenset({"GET", "HEAD"})


class RequestSessionConfig(SQLAlchemyAsyncConfig):
    """Advanced Alchemy's per-request session, bound to an autocommit view of the engine for READS_ONLY
    requests on PostgreSQL (same pool; the isolation level is set on the connection without a round trip and
    reset when it returns)."""

    _reading_engine: AsyncEngine | None = None

    def provide_session(self, state: State, scope: Scope) -> AsyncSession:
        if (
            get_aa_scope_state(scope, self.session_scope_key) is None
            and scope.get("method") in _READING_METHODS
            and scope["route_handler"].opt.get(READS_ONLY)
        ):
            engine = self.get_engine()
            if engine.dialect.name == "postgresql":
                if self._reading_engine is None:
                    self._reading_engine = engine.execution_options(isolation_level="AUTOCOMMIT")
                session = state[self.session_maker_app_state_key](bind=self._reading_engine)
                set_aa_scope_state(scope, self.session_scope_key, session)
                return cast("AsyncSession", session)
        return super().provide_session(state, scope)


def sqlalchemy_config(settings: Settings) -> SQLAlchemyAsyncConfig:
    return RequestSessionConfig(
        engine_instance=create_engine(settings),
        # Commit on 2xx and redirects (POST-redirect-GET); anything else rolls back, so rejected input writes nothing.
        before_send_handler="autocommit_include_redirects",
        # Advanced Alchemy's file-object and dogpile-cache listeners are unused here; off, a commit no longer asks
        # the engine for its execution options (a new option-engine object each time, ~0.1 ms a request).
        session_config=AsyncSessionConfig(expire_on_commit=False, info={"enable_cache_listener": False}),
        enable_file_object_listener=False,
        create_all=False,
        alembic_config=AlembicAsyncConfig(
            script_config=str(PROJECT_ROOT / "alembic.ini"),
            script_location=str(PROJECT_ROOT / "alembic"),
        ),
    )
