"""Database base classes and the Advanced Alchemy configuration shared by app, CLI and migrations.

It knows no domain: events_app.models maps every table, events_app.wiring watches writes for the page cache."""

from __future__ import annotations

from typing import Any, cast

from advanced_alchemy.base import BigIntAuditBase, orm_registry
from advanced_alchemy.extensions.litestar import (
    AlembicAsyncConfig,
    AsyncSessionConfig,
    SQLAlchemyAsyncConfig,
)
from sqlalchemy import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from events_app.settings import PROJECT_ROOT, Settings

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
    return {"pool_size": settings.db_pool_size, "max_overflow": 10, "pool_pre_ping": True}


def create_engine(settings: Settings, *, pooled: bool = True) -> AsyncEngine:
    options = engine_options(settings) if pooled else {"poolclass": NullPool}
    engine = create_async_engine(settings.database_url, **options)
    if settings.is_sqlite:
        from sqlalchemy import event

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

    return engine


def sqlalchemy_config(settings: Settings) -> SQLAlchemyAsyncConfig:
    return SQLAlchemyAsyncConfig(
        engine_instance=create_engine(settings),
        # Commit on 2xx and redirects (POST-redirect-GET); anything else rolls back, so rejected input writes nothing.
        before_send_handler="autocommit_include_redirects",
        session_config=AsyncSessionConfig(expire_on_commit=False),
        create_all=False,
        alembic_config=AlembicAsyncConfig(
            script_config=str(PROJECT_ROOT / "alembic.ini"),
            script_location=str(PROJECT_ROOT / "alembic"),
        ),
    )
