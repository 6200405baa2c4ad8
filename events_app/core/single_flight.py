"""Single flight: identical concurrent computations run once; the other callers await that one's result.

When twenty clients ask for the same 2,000-talk feed at the same moment, building it twenty times only makes
each of them wait twenty times longer (and everyone else behind them). Keys must name everything the result
depends on (for a feed: its ETag, which includes the language). Results are not kept: the next call after the
computation finished computes again (the caller's own caches decide what is cheap).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


def _consume(future: asyncio.Future) -> None:
    # Nobody may be waiting: read the exception so asyncio does not report it as never retrieved.
    if not future.cancelled():
        future.exception()


class SingleFlight:
    """Per process and event loop; one instance per kind of result (e.g. app.state)."""

    def __init__(self) -> None:
        self._flights: dict[Hashable, asyncio.Future[Any]] = {}
        self.computations = 0  # how many times `compute` was actually called (for tests and benchmarks)

    def __len__(self) -> int:
        return len(self._flights)

    async def run(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        while True:
            flight = self._flights.get(key)
            if flight is None:
                return await self._lead(key, compute)
            try:
                return await asyncio.shield(flight)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if flight.cancelled() and not (task is not None and task.cancelling()):
                    continue  # the leader's request went away: someone else computes (perhaps this caller)
                raise

    async def _lead(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        flight: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        flight.add_done_callback(_consume)
        self._flights[key] = flight
        self.computations += 1
        try:
            result = await compute()
        except asyncio.CancelledError:
            flight.cancel()
            raise
        except BaseException as exc:
            flight.set_exception(exc)
            raise
        else:
            flight.set_result(result)
            return result
        finally:
            if self._flights.get(key) is flight:
                del self._flights[key]
