"""A real server process on loopback and Debian's Chromium: shared by the browser tests and screenshots.py.

Playwright's own browser download cannot work here, so Chromium is Debian's package (`apt-get install chromium
fonts-noto-cjk`; without the fonts Chinese renders as boxes) and axe-core comes from npm (tests/browser/setup.sh).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
import subprocess
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from events_app.db import create_engine
from events_app.devserver import start_server, stop_server, wait_until_up
from events_app.settings import Settings
from events_app.wiring import wire

T = TypeVar("T")

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("EVENTS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
INSTALL_HINT = (
    "run `sh tests/browser/setup.sh` (as root it installs Debian's chromium and fonts-noto-cjk with apt, "
    "and axe-core with npm); `make test` does this for you"
)


def in_thread(work: Callable[[], T]) -> T:
    """Runs `work` on a fresh thread: Playwright's sync API keeps an event loop on the test's thread, so
    asyncio.run (database set-up) must happen elsewhere."""
    result: dict[str, object] = {}

    def target() -> None:
        try:
            result["value"] = work()
        except BaseException as exc:  # re-raised on the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["value"]  # type: ignore[return-value]


def run_in_database(database_url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Arranges data through the services, in the server's database, then commits."""
    wire()

    async def runner() -> T:
        engine = create_engine(Settings(database_url=database_url), pooled=False)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                value = await work(session)
                await session.commit()
                return value
        finally:
            await engine.dispose()

    return in_thread(lambda: asyncio.run(runner()))


def fresh_database(base_url: str | None, sqlite_path: Path, *, suffix: str = "browser") -> str:
    """An empty database built by the migrations, as `events-app db upgrade` builds production.

    SQLite: a new file. PostgreSQL: a sibling database `<name>_<suffix>`, because the main fixtures drop and
    create tables in the test database itself while this server process holds connections to its own.
    """
    from alembic import command

    from events_app.cli import alembic_config

    if base_url and base_url.startswith("postgresql"):
        from tests.conftest import recreate_sibling_database

        database_url = in_thread(lambda: recreate_sibling_database(base_url, suffix))
    else:
        sqlite_path.unlink(missing_ok=True)
        database_url = f"sqlite+aiosqlite:///{sqlite_path}"

    config = alembic_config(database_url)
    config.attributes["configure_logging"] = False
    in_thread(lambda: command.upgrade(config, "head"))
    return database_url


def copy_database(template_url: str, base_url: str | None, sqlite_path: Path) -> str:
    """A copy of a database fresh_database built: the migrations run once per run, not once per server.

    SQLite: the file copied with SQLite's backup API (whole, whatever its journal holds). PostgreSQL:
    `<name>_browser` created from the template database."""
    from sqlalchemy.engine import make_url

    if base_url and base_url.startswith("postgresql"):
        from tests.conftest import recreate_sibling_database

        template = make_url(template_url).database
        return in_thread(lambda: recreate_sibling_database(base_url, "browser", template=template))
    sqlite_path.unlink(missing_ok=True)
    source, target = sqlite3.connect(make_url(template_url).database), sqlite3.connect(sqlite_path)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return f"sqlite+aiosqlite:///{sqlite_path}"


def drop_database(database_url: str) -> None:
    """Removes what fresh_database made on PostgreSQL (the SQLite file goes with pytest's temporary folder)."""
    if not database_url.startswith("postgresql"):
        return
    from tests.conftest import drop_database as drop_postgres_database

    in_thread(lambda: drop_postgres_database(database_url))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """`uvicorn events_app.app:app` in its own process on a free loopback port, configured by EVENTS_* only."""

    def __init__(self, database_url: str, *, smtp_url: str, workdir: Path) -> None:
        self.database_url = database_url
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "server.log"
        self.env = {
            "EVENTS_DATABASE_URL": database_url,
            "EVENTS_BASE_URL": self.base_url,
            "EVENTS_SECRET_KEY": secrets.token_urlsafe(32),
            "EVENTS_SMTP_URL": smtp_url,
            "EVENTS_MEDIA_DIR": str(workdir / "media"),
            # E-mail (confirmations, manage links) is delivered by the server itself, as under `make run`.
            "EVENTS_RUN_WORKER_IN_PROCESS": "1",
        }
        self.process: subprocess.Popen | None = None

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def start(self, timeout: float = 30.0) -> LiveServer:
        self._log = self.log_path.open("wb")
        self.process = start_server(self.port, self.env, output=self._log)
        try:
            wait_until_up(self.base_url, self.process, timeout)
        except RuntimeError as exc:
            self.stop()
            raise RuntimeError(f"{exc}:\n{self.log()}") from None
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            stop_server(self.process)
        self.process = None
        if getattr(self, "_log", None):
            self._log.close()


def launch_chromium(playwright):
    """Debian's Chromium, headless. Raises when it is missing or cannot start."""
    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"Chromium not found at {CHROMIUM}")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def axe_source() -> str:
    if not AXE_JS.exists():
        raise FileNotFoundError(f"axe-core not found at {AXE_JS}")
    return AXE_JS.read_text()
