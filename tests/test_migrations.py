"""The migrations, applied to an empty database, build exactly what the models describe."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from events_app.cli import alembic_config
from events_app.db import create_engine, metadata
from events_app.settings import Settings


def schema_differences(url: str) -> list:
    async def compare() -> list:
        engine = create_engine(Settings(database_url=url), pooled=False)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync_conn: compare_metadata(
                    MigrationContext.configure(sync_conn, opts={"compare_type": True}), metadata
                )
            )
        await engine.dispose()
        return diff

    return asyncio.run(compare())


def table_names(url: str) -> set[str]:
    async def names() -> set[str]:
        engine = create_engine(Settings(database_url=url), pooled=False)
        async with engine.connect() as conn:
            found = await conn.run_sync(lambda sync_conn: set(inspect(sync_conn).get_table_names()))
        await engine.dispose()
        return found

    return asyncio.run(names())


def test_migrations_match_models_and_go_down_and_up_again(empty_database_url: str):
    config = alembic_config(empty_database_url)
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")
    assert set(metadata.tables) <= table_names(empty_database_url)
    assert schema_differences(empty_database_url) == []

    command.downgrade(config, "base")
    assert table_names(empty_database_url) - {"alembic_version"} == set()

    command.upgrade(config, "head")
    assert schema_differences(empty_database_url) == []


def test_there_is_a_single_migration_head():
    from alembic.script import ScriptDirectory

    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1
