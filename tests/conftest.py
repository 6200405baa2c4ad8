"""Test fixtures: a real database (SQLite file, or PostgreSQL via EVENTS_TEST_DATABASE_URL), the app, clients.

Every test starts from empty tables. Data is built through the services, the way the app builds it.
Under pytest-xdist (`make test` runs two workers) every worker has its own of everything a test may change: its
database (see database_url), its temporary folder with the media folder, and its SMTP sink port.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from litestar import Litestar
from litestar.stores.memory import MemoryStore
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from events_app.accounts import passwords
from events_app.app import create_app
from events_app.db import create_engine
from events_app.models import metadata
from events_app.settings import Settings
from events_app.wiring import wire

wire()  # the suite is a composition root too: domain events reach their receivers, jobs are registered

# A cheap argon2 for tests only: the production parameters cost ~0.2 s of CPU per hash, paid by every account a
# test creates and every login. Hashes keep their parameters, so verifying works either way. Set where the hasher
# lives (accounts/passwords.py: everything hashes through it); setting it on a module that no longer holds it
# changes nothing, as happened once when the hasher moved out of accounts/services.py.
passwords.password_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
passwords._dummy_hash.cache_clear()  # made with the cheap hasher on first use

TEST_PASSWORD = "correct-horse-battery"
CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


def pytest_report_header(config) -> str:
    return f"database: {os.environ.get('EVENTS_TEST_DATABASE_URL') or 'SQLite (temporary file)'}"


def xdist_worker() -> str:
    """`gw0`, `gw1`, ... under pytest-xdist (`-n 2`), empty in a plain run."""
    return os.environ.get("PYTEST_XDIST_WORKER", "")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    """SQLite: a file in this worker's temporary folder. PostgreSQL: EVENTS_TEST_DATABASE_URL itself, or under
    xdist a database of each worker's own (`<name>_gw0`, ...), made empty at the start and dropped at the end."""
    url = os.environ.get("EVENTS_TEST_DATABASE_URL")
    if not url:
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    elif url.startswith("postgresql") and xdist_worker():
        worker_url = recreate_sibling_database(url, xdist_worker())
        yield worker_url
        close_cleaners()
        drop_database(worker_url)
    else:
        yield url
    close_cleaners()


@pytest.fixture(scope="session")
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture(scope="session")
def _schema(database_url: str) -> None:
    """Creates the tables once per run (migrations are tested separately in test_migrations.py)."""

    async def build() -> None:
        engine = create_engine(Settings(database_url=database_url), pooled=False)
        async with engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
            await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
            await conn.run_sync(metadata.create_all)
        await engine.dispose()

    asyncio.run(build())


class TableCleaner:
    """Empties every table over one connection kept for the run, in one round trip.

    DELETE, not TRUNCATE: on PostgreSQL a TRUNCATE of the ~20 tables costs 150-500 ms (new files for every
    table), a DELETE of the few rows a test leaves ~3 ms. Sequences restart as TRUNCATE ... RESTART IDENTITY
    did; on SQLite an emptied table hands out ids from 1 again by itself (no AUTOINCREMENT).
    """

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.postgres = database_url.startswith("postgresql")
        deletes = "".join(f'DELETE FROM "{table.name}";' for table in reversed(metadata.sorted_tables))
        if self.postgres:
            self.script = deletes + (
                "SELECT setval(s.oid, 1, false) FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace"
                " WHERE s.relkind = 'S' AND n.nspname = current_schema();"
            )
            # asyncpg connections belong to one event loop, and each test has its own: this one gets a loop
            # of its own on a helper thread for the whole run.
            self.loop = asyncio.new_event_loop()
            self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
            self.thread.start()
            self.connection = None
        else:
            self.script = "BEGIN;" + deletes + "COMMIT;"
            self.sqlite = sqlite3.connect(make_url(database_url).database, isolation_level=None)

    def clean(self) -> None:
        if not self.postgres:
            self.sqlite.executescript(self.script)
            return
        asyncio.run_coroutine_threadsafe(self._clean_postgres(), self.loop).result()

    async def _clean_postgres(self) -> None:
        import asyncpg

        from events_app.web.page_cache import asyncpg_dsn

        if self.connection is None or self.connection.is_closed():
            self.connection = await asyncpg.connect(asyncpg_dsn(self.database_url))
        # The browser tests' server process may still be finishing the previous test's writes (the in-process
        # worker sending its mail): PostgreSQL then picks one side of the deadlock to abort, and when it is
        # this DELETE, doing it again once the other side has committed is the answer.
        for attempt in range(4):
            try:
                await self.connection.execute(self.script)
                return
            except asyncpg.exceptions.DeadlockDetectedError:
                await asyncio.sleep(0.1 * (attempt + 1))
        await self.connection.execute(self.script)

    def close(self) -> None:
        if not self.postgres:
            self.sqlite.close()
            return
        if self.connection is not None:
            asyncio.run_coroutine_threadsafe(self.connection.close(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


_cleaners: dict[str, TableCleaner] = {}


def wipe(database_url: str) -> None:
    """Empties every table of that database (built by _schema or by the migrations)."""
    cleaner = _cleaners.get(database_url)
    if cleaner is None:
        cleaner = _cleaners[database_url] = TableCleaner(database_url)
    cleaner.clean()


def close_cleaners() -> None:
    while _cleaners:
        _cleaners.popitem()[1].close()


@pytest.fixture
def clean_db(_schema, database_url: str) -> None:
    wipe(database_url)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpSink:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

    def __init__(self, port: int) -> None:
        from aiosmtpd.controller import Controller

        self.port = port
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.connections: list[int] = []  # for each message, the SMTP connection (client port) it came over
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                sink.connections.append(session.peer[1])
                sink.messages.append(message_from_bytes(envelope.original_content or envelope.content, policy=default_policy))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


@pytest.fixture(scope="session")
def smtp_port() -> int:
    # One port for the run: the settings (and so the app) stay the same from test to test.
    return free_port()


@pytest.fixture
def smtp_server(smtp_port: int):
    sink = SmtpSink(smtp_port).start()
    yield sink
    sink.stop()


async def deliver_outbox(settings: Settings) -> int:
    """One pass of the delivery worker, as `events-app worker --once` does."""
    from events_app.notify.worker import deliver_due

    engine = create_engine(settings, pooled=False)
    try:
        return await deliver_due(engine, settings)
    finally:
        await engine.dispose()


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture
def settings(database_url: str, media_dir: Path, smtp_port: int) -> Settings:
    # Equal from test to test (a module may override it), so the app built for it can be reused.
    return Settings(
        database_url=database_url,
        secret_key="test-suite-secret-key-0123456789-abcdefghijklmnop",
        base_url="http://testserver.local",
        smtp_url=f"smtp://127.0.0.1:{smtp_port}",
        media_dir=media_dir,
        db_pool_size=5,
    )


@pytest.fixture(scope="session")
def _apps() -> dict[Settings, Litestar]:
    return {}


def reset_app(app: Litestar) -> None:
    """What an app keeps between requests, forgotten between tests: caches, rate-limit counters."""
    page_cache = app.state.get("page_cache")
    if page_cache is not None:
        page_cache.pages.clear()
    fragments = app.state.get("fragments")
    if fragments is not None:
        fragments.clear()
    for key in ("calendar_vevent_cache", "programme_store"):
        app.state.pop(key, None)
    for store in app.stores._stores.values():
        if isinstance(store, MemoryStore):
            store._store.clear()


@pytest.fixture
def app(clean_db, settings: Settings, _apps: dict[Settings, Litestar]) -> Litestar:
    """The app for these settings, built once per run (building one costs ~0.2 s), reset for each test."""
    application = _apps.get(settings)
    if application is None:
        application = _apps[settings] = create_app(settings)
    reset_app(application)
    if settings.media_dir.exists():
        shutil.rmtree(settings.media_dir)
    settings.media_dir.mkdir(parents=True)
    return application


@pytest.fixture
async def client(app) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as test_client:
        yield test_client


@pytest.fixture
async def db(clean_db, settings: Settings) -> AsyncIterator[AsyncSession]:
    """A session for arranging and checking data; commit before the app should see it.

    Pooled for the test's length: the connection a commit hands back serves the next transaction, where an
    unpooled engine opened a new one (on PostgreSQL a new server process) after every commit of the arranging."""
    engine = create_engine(settings)
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        yield session
    await engine.dispose()


def _admin_engine(database_url: str):
    return create_engine(Settings(database_url=database_url), pooled=False).execution_options(
        isolation_level="AUTOCOMMIT"
    )


def recreate_sibling_database(database_url: str, suffix: str, *, template: str | None = None) -> str:
    """An empty PostgreSQL database next to the test database (`<name>_<suffix>`), or a copy of the database
    named `template` (nobody may be connected to it); answers its URL."""
    url = make_url(database_url)
    name = f"{url.database}_{suffix}"
    copy_of = f' TEMPLATE "{template}"' if template else ""

    async def recreate() -> None:
        admin = _admin_engine(database_url)
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"{copy_of}'))
        await admin.dispose()

    asyncio.run(recreate())
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(database_url: str) -> None:
    """Removes a PostgreSQL database made by recreate_sibling_database (connected to `postgres` meanwhile)."""
    cleaner = _cleaners.pop(database_url, None)
    if cleaner is not None:
        cleaner.close()
    url = make_url(database_url)

    async def drop() -> None:
        admin = _admin_engine(url.set(database="postgres").render_as_string(hide_password=False))
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        await admin.dispose()

    asyncio.run(drop())


@pytest.fixture
def empty_database_url(database_url: str, tmp_path) -> Iterator[str]:
    if not database_url.startswith("postgresql"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    url = recreate_sibling_database(database_url, "migrations")
    yield url
    drop_database(url)


# ---- helpers used across test modules ------------------------------------------------------------------------


def csrf_token_from(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


async def post_form(client: AsyncTestClient, page_url: str, data: dict, *, action: str | None = None, **kwargs):
    """Posts a form the way a browser does: load the page, take its CSRF token, submit."""
    page = await client.get(page_url)
    assert page.status_code == 200, (page_url, page.status_code)
    payload = {**data, "_csrf_token": csrf_token_from(page.text)}
    kwargs.setdefault("follow_redirects", False)
    return await client.post(action or page_url, data=payload, **kwargs)


async def make_account(db: AsyncSession, email: str, *, admin: bool = False):
    from events_app.accounts.models import Role
    from events_app.accounts.services import AccountService

    account = await AccountService(session=db).create_account(
        email, TEST_PASSWORD, full_name=email.split("@")[0], role=Role.ADMIN if admin else Role.ORGANISER
    )
    await db.commit()
    return account


async def login(client: AsyncTestClient, email: str, password: str = TEST_PASSWORD) -> None:
    response = await post_form(client, "/login", {"email": email, "password": password, "next": "/organiser"})
    assert response.status_code in (302, 303), response.text
    assert response.headers["location"] == "/organiser"


async def make_token(db: AsyncSession, account) -> str:
    from events_app.accounts.services import AccountService

    token = await AccountService(session=db).create_token(account, "test")
    await db.commit()
    return token


def event_payload(**overrides) -> dict:
    payload = {
        "title": "Invited Lecture on Open Science",
        "kind": "lecture",
        "starts_at": "2030-03-05T14:00",
        "ends_at": "2030-03-05T15:30",
        "timezone": "Asia/Shanghai",
        "venue_name": "Lecture Hall 1",
        "summary": "A lecture.",
    }
    payload.update(overrides)
    return payload


async def make_event(db: AsyncSession, account, *, publish: bool = True, **overrides):
    from events_app.events.services import EventService

    data = event_payload(**overrides)
    if publish:
        data.setdefault("status", "published")
    event = await EventService(session=db).create_event(data, creator=account)
    await db.commit()
    return event


@pytest.fixture
async def organiser(db: AsyncSession):
    return await make_account(db, "organiser@example.org")


@pytest.fixture
async def admin(db: AsyncSession):
    return await make_account(db, "admin@example.org", admin=True)


@pytest.fixture
async def token(db: AsyncSession, organiser) -> str:
    return await make_token(db, organiser)


@pytest.fixture(scope="session", autouse=True)
def _route_table() -> None:
    """Links built without a request (services, mail) read the table create_app installs (web/urls.py); a test
    that calls a service before any app exists gets the same table."""
    from events_app.routes import build_route_table
    from events_app.web.urls import use_routes

    use_routes(build_route_table(Settings()))
