"""Registration under load: concurrent clients against server processes on PostgreSQL.

    python bench/registration.py                        # starts 2 server processes on a fresh database
    python bench/registration.py --url http://127.0.0.1:8000 --url http://127.0.0.1:8001 \
        --database-url postgresql+asyncpg://...

Prints registrations per second, p50/p99 latency, how many requests each server process answered, and the
final count check (confirmed never above capacity, waitlist positions 1..N without gaps, one row per e-mail).
Without --url it creates (and afterwards drops) the database ``<name>_bench`` next to the one given, migrates
it, and starts --servers uvicorn processes on consecutive ports. Clients are spread over them round-robin, as
a load balancer would: with one port shared by ``uvicorn --workers``, the kernel may hand every keep-alive
connection to the same process, and the run would measure one process while claiming two.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from events_app.db import create_engine  # noqa: E402
from events_app.devserver import start_server, stop_server, wait_until_up  # noqa: E402
from events_app.settings import Settings  # noqa: E402
from events_app.wiring import wire  # noqa: E402

wire()  # every domain's models and receivers, as in the app

DEFAULT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def recreate_database(url: str) -> None:
    admin = create_engine(Settings(database_url=url), pooled=False).execution_options(isolation_level="AUTOCOMMIT")
    name = make_url(url).database + "_bench"
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()


async def drop_database(url: str) -> None:
    admin = create_engine(Settings(database_url=url), pooled=False).execution_options(isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}_bench" WITH (FORCE)'))
    await admin.dispose()


async def prepare_event(database_url: str, capacity: int) -> str:
    """An organiser and a published lecture with open registration; returns the event's slug."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from events_app.accounts.models import Role
    from events_app.accounts.services import AccountService
    from events_app.events.services import EventService
    from events_app.registration.services import RegistrationService

    settings = Settings(database_url=database_url)
    engine = create_engine(settings, pooled=False)
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        email = f"bench-{secrets.token_hex(4)}@example.org"
        account = await AccountService(session=session).create_account(
            email, secrets.token_urlsafe(16), full_name="Bench", role=Role.ORGANISER
        )
        event = await EventService(session=session).create_event({
            "title": f"Popular invited lecture {secrets.token_hex(3)}", "kind": "lecture",
            "starts_at": "2031-03-05T14:00", "ends_at": "2031-03-05T16:00", "timezone": "Asia/Shanghai",
            "venue_name": "Main Auditorium", "status": "published",
        }, creator=account)
        await RegistrationService(session, settings).update_settings(
            event, {"mode": "open", "capacity": capacity, "waitlist_enabled": True}
        )
        await session.commit()
    await engine.dispose()
    return event.slug


async def check_counts(database_url: str, slug: str, capacity: int) -> dict[str, object]:
    from events_app.events.models import Event
    from events_app.registration.models import Registration, RegistrationStatus

    engine = create_engine(Settings(database_url=database_url), pooled=False)
    async with engine.connect() as conn:
        event_id = await conn.scalar(select(Event.id).where(Event.slug == slug))
        rows = (await conn.execute(
            select(Registration.status, func.count()).where(Registration.event_id == event_id)
            .group_by(Registration.status)
        )).all()
        emails = await conn.scalar(select(func.count(func.distinct(Registration.email_normalised)))
                                   .where(Registration.event_id == event_id))
        seqs = list(await conn.scalars(
            select(Registration.waitlist_seq).where(Registration.event_id == event_id,
                                                    Registration.status == RegistrationStatus.WAITLISTED)
            .order_by(Registration.waitlist_seq)
        ))
    await engine.dispose()
    counts = {(s.value if hasattr(s, "value") else s): n for s, n in rows}
    return {
        "counts": counts, "distinct_emails": emails, "rows": sum(counts.values()),
        "waitlist_sequence_unique": len(seqs) == len(set(seqs)),
        "overbooked": counts.get("confirmed", 0) > capacity,
    }


async def drive(urls: list[str], slug: str, total: int, clients: int
                ) -> tuple[list[float], dict[int, int], dict[str, int], float]:
    latencies: list[float] = []
    codes: dict[int, int] = {}
    per_server = dict.fromkeys(urls, 0)
    counter = iter(range(total))
    run_id = secrets.token_hex(3)

    async def client_loop(http: httpx.AsyncClient, url: str) -> None:
        for n in counter:
            body = {"name": f"Attendee {n}", "email": f"attendee{n}.{run_id}@example.org",
                    "affiliation": "Institute of Physics", "country": "CN"}
            started = time.perf_counter()
            response = await http.post(f"{url}/api/events/{slug}/registrations", json=body)
            latencies.append(time.perf_counter() - started)
            codes[response.status_code] = codes.get(response.status_code, 0) + 1
            per_server[url] += 1

    async with connections(urls, clients) as pairs:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(http, url) for http, url in pairs))
        elapsed = time.perf_counter() - started
    return latencies, codes, per_server, elapsed


@asynccontextmanager
async def connections(urls: list[str], clients: int) -> AsyncIterator[list[tuple[httpx.AsyncClient, str]]]:
    """One keep-alive connection per client, spread over the servers round-robin, opened before timing.

    Each client has its own httpx client: one shared pool of many connections costs the benchmark itself
    more CPU per request as clients are added (at 64 it was the busiest process on the machine)."""
    async with AsyncExitStack() as stack:
        pairs = []
        for n in range(clients):
            http = await stack.enter_async_context(httpx.AsyncClient(
                timeout=60, limits=httpx.Limits(max_connections=1, max_keepalive_connections=1)))
            pairs.append((http, urls[n % len(urls)]))
        await asyncio.gather(*(http.get(f"{url}/healthz") for http, url in pairs))
        yield pairs


async def floor(urls: list[str], clients: int, seconds: float) -> float:
    """The baseline, measured on the same servers with the same clients just before: ``GET /healthz?db=1``
    (the framework, a pooled connection and one query): the most any request touching the database can do."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def client_loop(http: httpx.AsyncClient, url: str) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            (await http.get(f"{url}/healthz?db=1")).raise_for_status()
            done += 1

    async with connections(urls, clients) as pairs:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(http, url) for http, url in pairs))
        return done / (time.perf_counter() - started)


async def drain_mail(database_url: str) -> tuple[int, float]:
    """The outbox worker composing and sending everything the run queued, to a loopback SMTP server that
    accepts and discards: (messages, seconds). Composing moved out of the request; this shows it keeps up."""
    from aiosmtpd.controller import Controller

    from events_app.notify.worker import deliver_due
    from events_app.routes import build_route_table
    from events_app.web.urls import use_routes

    class Discard:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
            return "250 OK"

    port = 8025
    controller = Controller(Discard(), hostname="127.0.0.1", port=port)
    controller.start()
    settings = Settings(database_url=database_url, smtp_url=f"smtp://127.0.0.1:{port}")
    use_routes(build_route_table(settings))  # the messages link by route name, as the CLI's worker does
    engine = create_engine(settings)
    sent, started = 0, time.perf_counter()
    try:
        while (batch := await deliver_due(engine, settings, batch_size=100)) > 0:
            sent += batch
    finally:
        elapsed = time.perf_counter() - started
        await engine.dispose()
        controller.stop()
    return sent, elapsed


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("EVENTS_BENCH_DATABASE_URL", DEFAULT_DATABASE))
    parser.add_argument("--url", action="append", help="a running server process on --database-url; repeat for "
                        "several (else --servers are started)")
    parser.add_argument("--servers", type=int, default=2, help="server processes to start (one uvicorn each)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--capacity", type=int, default=1000)
    parser.add_argument("--no-mail", action="store_true", help="skip draining the outbox afterwards")
    args = parser.parse_args()

    servers: list[subprocess.Popen] = []
    database_url = args.database_url
    if not args.url:
        if not database_url.startswith("postgresql"):
            raise SystemExit("the benchmark needs PostgreSQL (--database-url postgresql+asyncpg://...)")
        await recreate_database(database_url)
        database_url = make_url(database_url).set(database=make_url(database_url).database + "_bench") \
            .render_as_string(hide_password=False)
        await asyncio.to_thread(
            subprocess.run, [sys.executable, "-c", "from events_app.cli import main; main()", "db", "upgrade"],
            cwd=ROOT, check=True, env={**os.environ, "EVENTS_DATABASE_URL": database_url},
        )
    slug = await prepare_event(database_url, args.capacity)
    try:
        urls = args.url or [f"http://127.0.0.1:{args.port + n}" for n in range(args.servers)]
        if not args.url:
            # Every client here shares one address, which the per-address registration limit is meant to stop.
            env = {"EVENTS_DATABASE_URL": database_url, "EVENTS_RUN_WORKER_IN_PROCESS": "0",
                   "EVENTS_REGISTRATION_RATE_LIMIT": "0"}
            servers = [start_server(args.port + n, env) for n in range(args.servers)]
            for url, server in zip(urls, servers, strict=True):
                await asyncio.to_thread(wait_until_up, url, server)
        floor_rate = await floor(urls, args.clients, seconds=3)
        latencies, codes, per_server, elapsed = await drive(urls, slug, args.requests, args.clients)
        check = await check_counts(database_url, slug, args.capacity)
        for server in servers:  # the mail is drained with the servers stopped, as a separate figure
            stop_server(server)
        mail = None if args.no_mail else await drain_mail(database_url)
    finally:
        for server in servers:
            stop_server(server)
        if not args.url:
            await drop_database(args.database_url)

    ok = codes.get(202, 0)  # the API answers 202: the outcome is e-mailed
    print(f"servers: {len(urls)} processes on PostgreSQL; requests answered by each: "
          f"{', '.join(str(n) for n in per_server.values())}")
    print(f"requests: {args.requests} from {args.clients} concurrent clients; capacity {args.capacity}")
    print(f"answers: {dict(sorted(codes.items()))}")
    print(f"baseline: GET /healthz?db=1 {floor_rate:.0f} requests/s (same servers and clients)")
    print(f"throughput: {ok / elapsed:.0f} registrations/s ({elapsed:.2f} s) = "
          f"{ok / elapsed / floor_rate:.0%} of the baseline")
    print(f"latency: p50 {percentile(latencies, 50) * 1000:.1f} ms, p99 {percentile(latencies, 99) * 1000:.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms")
    if mail:
        print(f"mail: the outbox worker composed and sent {mail[0]} messages in {mail[1]:.1f} s "
              f"({mail[0] / mail[1]:.0f}/s, one process, loopback SMTP)")
    counts = check["counts"]
    print(f"final counts: {counts}; rows {check['rows']}, distinct e-mails {check['distinct_emails']}")
    expected_confirmed = min(args.capacity, ok)
    good = (not check["overbooked"] and counts.get("confirmed", 0) == expected_confirmed
            and check["rows"] == ok == check["distinct_emails"] and check["waitlist_sequence_unique"])
    print(f"count check: {'OK' if good else 'FAILED'} (confirmed {counts.get('confirmed', 0)} <= capacity "
          f"{args.capacity}, waitlist order unique)")
    if not good:
        raise SystemExit(1)


if __name__ == "__main__":
    asyncio.run(main())
