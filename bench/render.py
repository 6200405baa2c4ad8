"""The render path in one process: CPU milliseconds per request for pages rendered on every request.

    EVENTS_SECRET_KEY=... python bench/render.py [--database-url postgresql+asyncpg://.../perf_bench]
        [--paths /healthz,/,/api/events,/events/event-1973] [--requests 100] [--rounds 3] [--fragment-cache-seconds 0]
        [--seed]

Runs against a database seeded by bench/pages.py (it changes nothing), with the page cache off (the parts kept
by web/fragments.py are kept, unless --fragment-cache-seconds 0), through
httpx's ASGI transport (no network, one request at a time), and prints for each path the wall time and the
best and the median of `--rounds` CPU times (`time.process_time()`, the client's share included; compare with
/healthz in the same run, and the ratio to it). CPU time is disturbed much less than wall time by other jobs on
the machine, but not undisturbed: on a loaded machine take many rounds and read the best.
`--no-client` calls the ASGI app directly (no httpx, no cookies kept: every request makes a CSRF token, as wrk's
do), so the figures are the server's share alone, the nearest to what a worker spends under wrk.
`--seed` first empties the database and fills it as bench/pages.py does (its data, without the big conference).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collections.abc import Awaitable, Callable  # noqa: E402

from httpx import ASGITransport, AsyncClient, Response  # noqa: E402

from events_app.app import create_app  # noqa: E402
from events_app.settings import Settings  # noqa: E402


def direct_caller(app: object, path: str) -> Callable[[], Awaitable[int]]:
    """One GET sent straight to the ASGI app; answers the status."""
    route, _, query = path.partition("?")

    async def call() -> int:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
                 "path": route, "raw_path": route.encode(), "query_string": query.encode(), "root_path": "",
                 "headers": [(b"host", b"bench"), (b"accept", b"*/*")], "client": ("127.0.0.1", 1),
                 "server": ("127.0.0.1", 80)}
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        await app(scope, receive, send)  # type: ignore[operator]
        return sent[0]["status"]

    return call


async def measure(database_url: str, paths: list[str], requests: int, fragment_cache_seconds: int,
                  rounds: int, client_side: bool) -> None:
    settings = dataclasses.replace(Settings.from_env(), database_url=database_url, page_cache_seconds=0, debug=False,
                                   fragment_cache_seconds=fragment_cache_seconds)
    app = create_app(settings)
    async with app.lifespan(), AsyncClient(transport=ASGITransport(app=app), base_url="http://bench") as client:
        floor = 0.0
        for path in paths:
            get = (lambda path=path: _status(client.get(path))) if client_side else direct_caller(app, path)
            for _ in range(20):  # warm-up: templates compiled, statements cached
                if (status := await get()) != 200:
                    raise SystemExit(f"{path} answered {status}")
            cpu_times, wall = [], 0.0
            for _ in range(rounds):
                started, cpu = time.perf_counter(), time.process_time()
                for _ in range(requests):
                    await get()
                wall = (time.perf_counter() - started) / requests * 1000
                cpu_times.append((time.process_time() - cpu) / requests * 1000)
            best = min(cpu_times)
            floor = floor or best
            print(f"{path:<40} CPU {best:6.2f} ms/request (best of {rounds}; median {statistics.median(cpu_times):6.2f})"
                  f"  {best / floor:5.1f}x the first path   wall {wall:6.2f} ms")


async def _status(answer: Awaitable[Response]) -> int:
    return (await answer).status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/ev_bench")
    parser.add_argument("--paths", default="/healthz,/,/api/events,/events/event-1973")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --requests per path (default: 3)")
    parser.add_argument("--no-client", dest="client_side", action="store_false",
                        help="call the ASGI app directly: the server's CPU alone")
    parser.add_argument("--seed", action="store_true",
                        help="EMPTY the database and fill it with bench/pages.py's data first")
    parser.add_argument("--fragment-cache-seconds", type=int, default=30, help="0: render every part every time")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    if args.seed:
        import pages  # bench/pages.py, beside this file

        pages.reset_schema(args.database_url)
        pages.migrate(args.database_url)
        pages.seed(args.database_url)
        print(f"Seeded; an event with a programme: /events/{pages.pick_event_with_programme(args.database_url)}")
    asyncio.run(measure(args.database_url, args.paths.split(","), args.requests, args.fragment_cache_seconds,
                        args.rounds, args.client_side))


if __name__ == "__main__":
    main()
