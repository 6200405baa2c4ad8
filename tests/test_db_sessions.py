"""Request sessions on PostgreSQL: public reads run without BEGIN/COMMIT, and pooled connections are tried
before use, so a connection the database dropped costs no failed request."""

from __future__ import annotations

import pytest
from litestar import Request, get
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.db import READS
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
    page = await client.get("/api/events")
    assert page.status_code == 200 and [e["title"] for e in page.json()["items"]] == ["Open Science Lecture"]
    assert (await client.get("/test-backend-pid")).json()["pid"] != pid
