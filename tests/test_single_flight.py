"""Identical concurrent computations run once (core/single_flight.py)."""

from __future__ import annotations

import asyncio

import pytest

from events_app.core.single_flight import SingleFlight


async def test_n_concurrent_identical_calls_compute_once_and_all_get_the_result():
    flights = SingleFlight()
    calls = 0

    async def build() -> bytes:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return b"feed"

    results = await asyncio.gather(*(flights.run("feed:1", build) for _ in range(20)))
    assert results == [b"feed"] * 20
    assert calls == 1 == flights.computations
    assert len(flights) == 0  # nothing kept once done


async def test_different_keys_and_later_calls_compute_again():
    flights = SingleFlight()
    calls: list[str] = []

    async def build(key: str) -> str:
        calls.append(key)
        await asyncio.sleep(0.01)
        return key

    assert await asyncio.gather(flights.run("a", lambda: build("a")), flights.run("b", lambda: build("b"))) == ["a", "b"]
    assert await flights.run("a", lambda: build("a")) == "a"
    assert sorted(calls) == ["a", "a", "b"]


async def test_a_failure_reaches_every_waiter_and_is_not_kept():
    flights = SingleFlight()

    async def fail() -> None:
        await asyncio.sleep(0.02)
        raise LookupError("no such event")

    results = await asyncio.gather(*(flights.run("x", fail) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, LookupError) for r in results)
    assert flights.computations == 1

    async def succeed() -> str:
        return "ok"

    assert await flights.run("x", succeed) == "ok"


async def test_when_the_leading_request_goes_away_a_waiter_computes_instead():
    flights = SingleFlight()
    started = asyncio.Event()

    async def slow() -> str:
        started.set()
        await asyncio.sleep(0.05)
        return "built"

    leader = asyncio.create_task(flights.run("k", slow))
    await started.wait()
    follower = asyncio.create_task(flights.run("k", slow))
    await asyncio.sleep(0.01)
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert await follower == "built"
    assert flights.computations == 2


async def test_a_cancelled_waiter_leaves_the_computation_to_the_others():
    flights = SingleFlight()

    async def slow() -> str:
        await asyncio.sleep(0.05)
        return "built"

    leader = asyncio.create_task(flights.run("k", slow))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(flights.run("k", slow))
    await asyncio.sleep(0.01)
    waiter.cancel()
    assert await leader == "built"
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert flights.computations == 1
