"""Personal data of the highest class is encrypted at rest with a key from the environment (core/crypto.py).

The documents issue stores passport numbers and dates of birth in ``EncryptedText`` columns; these tests use a
table of their own with such a column, on the test database (PostgreSQL) or a SQLite file of its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import BigInteger, Column, MetaData, Table, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from events_app.core.crypto import (
    DataKeyError,
    EncryptedText,
    configure_data_keys,
    ensure_data_key_opens_stored_data,
    new_data_key,
    reencrypt_all,
)
from events_app.db import create_engine
from events_app.settings import Settings

PASSPORT, BIRTH = "E12345678", "1987-06-05"
probe_metadata = MetaData()
documents = Table("crypto_probe_document", probe_metadata, Column("id", BigInteger, primary_key=True),
                  Column("passport_number", EncryptedText, nullable=True),
                  Column("date_of_birth", EncryptedText, nullable=True))


@pytest.fixture
def probe_database_url(database_url: str, tmp_path: Path) -> str:
    """On SQLite a file of the probe's own: the test below reads the file's bytes, and closing any handle on a
    file drops every POSIX lock this process holds on it, SQLite's included; on the shared test database that
    lets another process (a server a later test starts) reset the WAL index under open connections."""
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / 'probe.db'}"
    return database_url


@pytest.fixture
async def probe_engine(clean_db, probe_database_url: str):
    engine = create_engine(Settings(database_url=probe_database_url), pooled=False)
    async with engine.begin() as conn:
        await conn.run_sync(probe_metadata.drop_all)
        await conn.run_sync(probe_metadata.create_all)
    yield engine
    async with engine.begin() as conn:
        await conn.run_sync(probe_metadata.drop_all)
    await engine.dispose()
    configure_data_keys("")  # back to the tests' default: no key


async def store(engine, ident: int = 1, **values) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(documents).values(id=ident, **values))


async def read(engine, ident: int = 1) -> tuple[str | None, str | None]:
    async with engine.connect() as conn:
        return (await conn.execute(select(documents.c.passport_number, documents.c.date_of_birth)
                                   .where(documents.c.id == ident))).one()


async def raw_row(engine, ident: int = 1) -> tuple[str, str]:
    async with engine.connect() as conn:
        return (await conn.execute(text("SELECT passport_number, date_of_birth FROM crypto_probe_document "
                                        "WHERE id = :id"), {"id": ident})).one()


async def test_a_passport_number_is_unreadable_in_the_database_and_reads_back(probe_engine, probe_database_url):
    configure_data_keys(new_data_key())
    await store(probe_engine, passport_number=PASSPORT, date_of_birth=BIRTH)
    raw = await raw_row(probe_engine)
    assert PASSPORT not in raw[0] and BIRTH not in raw[1]
    await store(probe_engine, 2, passport_number=PASSPORT)
    assert (await raw_row(probe_engine, 2))[0] != raw[0]  # a fresh IV each time: equal values do not look equal
    if probe_database_url.startswith("sqlite"):
        async with probe_engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        path = Path(make_url(probe_database_url).database)
        on_disk = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert PASSPORT.encode() not in on_disk and BIRTH.encode() not in on_disk
    assert await read(probe_engine) == (PASSPORT, BIRTH)


async def test_without_a_key_nothing_is_stored_and_nothing_is_read(probe_engine):
    configure_data_keys("")
    with pytest.raises(StatementError) as refused:
        await store(probe_engine, passport_number=PASSPORT)
    assert isinstance(refused.value.orig, DataKeyError) and "EVENTS_DATA_KEY is not set" in str(refused.value)
    configure_data_keys(new_data_key())
    await store(probe_engine, passport_number=PASSPORT)
    configure_data_keys("")
    with pytest.raises(DataKeyError):
        await read(probe_engine)


@pytest.mark.parametrize("key", ["change-me", "A" * 43 + "=", "0" * 44, "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI="])
def test_weak_or_malformed_keys_are_refused_at_start_up(key):
    with pytest.raises(DataKeyError):
        configure_data_keys(key)
    with pytest.raises(DataKeyError):
        configure_data_keys(new_data_key(), [key])


async def test_a_wrong_key_stops_the_start_and_an_altered_value_is_not_read(probe_engine):
    configure_data_keys(new_data_key())
    await store(probe_engine, passport_number=PASSPORT)
    async with probe_engine.connect() as conn:
        configure_data_keys(new_data_key())  # someone deployed another key
        with pytest.raises(DataKeyError, match="cannot be read"):
            await ensure_data_key_opens_stored_data(AsyncSession(bind=conn), probe_metadata)


async def test_key_rotation_reads_old_values_and_reencrypts_them(probe_engine):
    old, new = new_data_key(), new_data_key()
    configure_data_keys(old)
    await store(probe_engine, passport_number=PASSPORT, date_of_birth=BIRTH)
    before = await raw_row(probe_engine)

    configure_data_keys(new, [old])
    assert await read(probe_engine) == (PASSPORT, BIRTH)
    async with async_sessionmaker(probe_engine)() as session, session.begin():
        assert await reencrypt_all(session, probe_metadata) == 2
    assert await raw_row(probe_engine) != before

    configure_data_keys(new)  # the old key retired
    assert await read(probe_engine) == (PASSPORT, BIRTH)


def test_the_cli_makes_keys_that_are_accepted():
    from events_app.cli import main

    result = CliRunner().invoke(main, ["new-data-key"])
    assert result.exit_code == 0
    key = result.output.strip()
    configure_data_keys(key)
    configure_data_keys("")
