"""Periodic jobs: domains register what must happen every so often; the worker runs them without knowing who
they belong to. Each job gets its own session and transaction, so one failing job does not undo another."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from events_app.settings import Settings

# (session, settings) -> a count of what was done, for logs and tests.
JobFunction = Callable[[AsyncSession, Settings], Awaitable[Any]]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    run: JobFunction


_jobs: dict[str, PeriodicJob] = {}


def register_job(name: str, run: JobFunction) -> None:
    """Idempotent by name: wiring twice in one process keeps one job."""
    _jobs[name] = PeriodicJob(name, run)


def registered_jobs() -> list[PeriodicJob]:
    return list(_jobs.values())
