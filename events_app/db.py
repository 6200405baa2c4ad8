"""Database base classes and the Advanced Alchemy configuration shared by app, CLI and migrations."""

from __future__ import annotations

from advanced_alchemy.base import BigIntAuditBase, orm_registry
from advanced_alchemy.extensions.litestar import (
    AlembicAsyncConfig,
    AsyncSessionConfig,
    SQLAlchemyAsyncConfig,
)
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from events_app.settings import PROJECT_ROOT, Settings

# Every model has a bigint id, created_at and updated_at (UTC, timezone-aware on both databases).
Base = BigIntAuditBase
metadata = orm_registry.metadata


def import_models() -> None:
    """Import every domain's models so the metadata is complete (for migrations and create_all)."""
    from events_app.accounts import models as _accounts  # noqa: F401
    from events_app.calendar import models as _calendar  # noqa: F401
    from events_app.events import models as _events  # noqa: F401
    from events_app.notify import models as _notify  # noqa: F401
    from events_app.registration import models as _registration  # noqa: F401
    from events_app.schedule import models as _schedule  # noqa: F401
    from events_app.speakers import models as _speakers  # noqa: F401


def engine_options(settings: Settings) -> dict:
    if settings.is_sqlite:
        # SQLite serialises writers; a generous busy timeout makes concurrent writers wait, not fail.
        return {"connect_args": {"timeout": 30}}
    return {"pool_size": settings.db_pool_size, "max_overflow": 10, "pool_pre_ping": True}


def create_engine(settings: Settings, *, pooled: bool = True) -> AsyncEngine:
    from events_app.web.page_cache import watch_writes

    watch_writes()  # committed writes clear the rendered public pages, in every process
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
    import_models()
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
