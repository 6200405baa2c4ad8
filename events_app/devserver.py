"""The app in child processes on loopback ports, for tests and benchmarks (the app itself never uses this)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from typing import IO

from events_app.settings import PROJECT_ROOT


def throwaway_secret_key() -> str:
    """A random EVENTS_SECRET_KEY for a server that lives only as long as a test or benchmark run."""
    return secrets.token_urlsafe(32)


def start_server(port: int, env: Mapping[str, str], *, output: IO[bytes] | None = None) -> subprocess.Popen:
    """`uvicorn events_app.app:app` on 127.0.0.1:port, configured by the EVENTS_* variables in ``env``
    (a throwaway secret key unless ``env`` or the environment gives one: the app refuses to start without)."""
    environment = {**os.environ, **env}
    if not environment.get("EVENTS_SECRET_KEY"):
        environment["EVENTS_SECRET_KEY"] = throwaway_secret_key()
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "events_app.app:app", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", "--log-level", "warning"],
        cwd=PROJECT_ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT if output else None,
    )


def wait_until_up(base_url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    """Returns once ``/healthz?db=1`` answers 200 (app started, database reachable); RuntimeError otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server for {base_url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz?db=1", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not answer on {base_url} within {timeout} s")


def stop_server(process: subprocess.Popen, timeout: float = 10) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def ensure_database(database_url: str) -> None:
    """Creates the PostgreSQL database the URL names if it does not exist yet (benchmarks on a fresh machine)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        return
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            if not await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}):
                await conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    finally:
        await admin.dispose()
