"""Request sessions on PostgreSQL: public reads run without BEGIN/COMMIT, and pooled connections are checked
before use (a round trip only after a while idle), so a connection the database dropped costs no failed request."""

from __future__ import annotations

import asyncio
import time

import pytest
from litestar import Request, get
from sqlalchemy import text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.util import greenlet_spawn

from events_app.db import PING_AFTER_IDLE_SECONDS, READS, _check_on_checkout
from tests.conftest import make_event


@pytest.fixture
def postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("the reading session and the ping are PostgreSQL's")


async def test_a_public_read_runs_outside_a_transaction_and_the_next_request_gets_one_again(app, client, postgres_only):
    async def server_transaction_open(db_session: AsyncSession) -> bool:
        await db_session.execute(text("SELECT 1"))
        raw = await (await db_session.connection()).get_raw_connection()
        return bool(raw.driver_connection.is_in_transaction())  # asks asyncpg, which tracks the server's state

    @get("/test-reads-transaction", name="test_reads_transaction", opt=READS)
    async def reading(db_session: AsyncSession) -> dict:
        return {"open": await server_transaction_open(db_session)}

    @get("/test-writes-transaction", name="test_writes_transaction")
    async def writing(db_session: AsyncSession) -> dict:
        return {"open": await server_transaction_open(db_session)}

    app.register(reading)
    app.register(writing)
    assert (await client.get("/test-reads-transaction")).json() == {"open": False}
    # The pool's connections went back with their isolation level reset: a request that may write is atomic.
    for _ in range(3):
        assert (await client.get("/test-writes-transaction")).json() == {"open": True}


async def backend_gone(db: AsyncSession, pid: int) -> None:
    """Waits until the server has ended the backend (pg_terminate_backend only signals it)."""
    for _ in range(200):
        await db.execute(text("SELECT pg_stat_clear_snapshot()"))  # else the transaction sees its first reading
        if not await db.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}):
            await asyncio.sleep(0.05)  # its socket's end reaches the client's loop
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"backend {pid} still running")


async def test_a_connection_dropped_by_the_database_is_replaced_before_a_request_uses_it(app, client, db, organiser,
                                                                                         postgres_only):
    @get("/test-backend-pid", name="test_backend_pid")
    async def backend_pid(db_session: AsyncSession) -> dict:
        return {"pid": await db_session.scalar(text("SELECT pg_backend_pid()"))}

    @get("/test-empty-pool", name="test_empty_pool")
    async def empty_pool(request: Request) -> None:
        await request.app.state["db_config"].get_engine().dispose()

    app.register(backend_pid)
    app.register(empty_pool)
    await make_event(db, organiser, title="Open Science Lecture")
    await db.commit()
    # Requests run on the test client's loop: the pool is emptied and refilled from there, with one connection.
    await client.get("/test-empty-pool")
    pid = (await client.get("/test-backend-pid")).json()["pid"]
    assert await db.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    await backend_gone(db, pid)
    page = await client.get("/api/events")
    assert page.status_code == 200 and [e["title"] for e in page.json()["items"]] == ["Open Science Lecture"]
    assert (await client.get("/test-backend-pid")).json()["pid"] != pid


class FakeDriverConnection:
    def __init__(self, *, closed: bool = False, answers: bool = True) -> None:
        self.closed, self.answers, self.pings = closed, answers, 0

    def is_closed(self) -> bool:
        return self.closed

    async def fetchrow(self, _query: str) -> None:
        self.pings += 1
        if not self.answers:
            raise ConnectionResetError("gone")


class FakeRecord:
    def __init__(self, returned_seconds_ago: float | None) -> None:
        self.info = {} if returned_seconds_ago is None else {"returned_at": time.monotonic() - returned_seconds_ago}


class FakeProxy:
    def __init__(self, driver_connection: FakeDriverConnection) -> None:
        self.driver_connection = driver_connection


async def check_out(connection: FakeDriverConnection, returned_seconds_ago: float | None) -> None:
    await greenlet_spawn(_check_on_checkout, None, FakeRecord(returned_seconds_ago), FakeProxy(connection))


async def test_a_connection_back_a_moment_ago_is_used_without_a_round_trip() -> None:
    connection = FakeDriverConnection()
    await check_out(connection, returned_seconds_ago=0.5)
    assert connection.pings == 0


async def test_a_connection_whose_socket_the_server_closed_is_discarded_without_a_round_trip() -> None:
    connection = FakeDriverConnection(closed=True)
    with pytest.raises(DisconnectionError):
        await check_out(connection, returned_seconds_ago=0.5)
    assert connection.pings == 0


@pytest.mark.parametrize("returned_seconds_ago", [PING_AFTER_IDLE_SECONDS + 1, None])
async def test_a_connection_idle_for_a_while_or_never_used_is_pinged_first(returned_seconds_ago) -> None:
    # A firewall may drop an idle connection without closing it: only a round trip tells.
    alive = FakeDriverConnection()
    await check_out(alive, returned_seconds_ago)
    assert alive.pings == 1
    dropped = FakeDriverConnection(answers=False)
    with pytest.raises(DisconnectionError):
        await check_out(dropped, returned_seconds_ago)
    assert dropped.pings == 1
