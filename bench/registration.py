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

The clients are wrk processes (one per server, `--seconds` of registrations from a Lua script) when wrk is
installed, else, or with `--client python`, httpx clients (`--requests` registrations). It also prints the CPU
each part used per registration (client, server processes, PostgreSQL's backends for this database): on a
machine where all of them share the cores, that decides how much a second server process can add.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
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


async def settled(database_url: str, slug: str) -> None:
    """Waits until the event's registrations stop changing (half a second apart)."""
    from events_app.events.models import Event
    from events_app.registration.models import Registration

    engine = create_engine(Settings(database_url=database_url), pooled=False)
    previous = -1
    async with engine.connect() as conn:
        while True:
            count = await conn.scalar(select(func.count()).select_from(Registration).join(Event)
                                      .where(Event.slug == slug))
            if count == previous:
                break
            previous = count
            await conn.commit()
            await asyncio.sleep(0.5)
    await engine.dispose()


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


# wrk as the client: a C load generator costs ~0.05 ms of CPU a request where the Python client costs ~1.2 ms,
# which on two shared cores was taken from the servers and PostgreSQL. Each wrk process (one per server, one
# thread) posts new addresses (its own prefix and a counter) for a fixed time (wrk always runs its -d), then
# prints its figures.
WRK_REGISTER = r"""
local counter, prefix, path = 0, "", ""
function init(args)
  prefix, path = args[1], args[2]
end
function request()
  counter = counter + 1
  local body = string.format('{"name": "Attendee %d", "email": "attendee%d.%s@example.org", ' ..
    '"affiliation": "Institute of Physics", "country": "CN"}', counter, counter, prefix)
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_JSON {"requests": %d, "duration_us": %d, "p50": %d, "p99": %d, "max": %d, ' ..
    '"status": %d, "errors": %d}\n', summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), latency.max, e.status, e.connect + e.read + e.write + e.timeout))
end
"""
WRK_FLOOR = r"""
done = function(summary, latency, requests)
  io.write(string.format('WRK_JSON {"requests": %d, "duration_us": %d}\n', summary.requests, summary.duration))
end
"""


def _wrk(script: str, url: str, connections: int, seconds: float, *args: str) -> subprocess.Popen:
    handle = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115 - removed by _wrk_figures
    handle.write(script)
    handle.close()
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--timeout", "30s", "-s", handle.name, url]
    process = subprocess.Popen([*command, "--", *args] if args else command, stdout=subprocess.PIPE, text=True)
    process.script = handle.name  # type: ignore[attr-defined]
    return process


def _wrk_figures(process: subprocess.Popen) -> dict:
    output, _ = process.communicate(timeout=600)
    os.unlink(process.script)  # type: ignore[attr-defined]
    for line in output.splitlines():
        if line.startswith("WRK_JSON "):
            return json.loads(line.removeprefix("WRK_JSON "))
    raise SystemExit(f"wrk gave no figures:\n{output}")


def _split(clients: int, urls: list[str]) -> list[int]:
    return [clients // len(urls) + (n < clients % len(urls)) for n in range(len(urls))]


async def floor_wrk(urls: list[str], clients: int, seconds: float) -> float:
    runs = [_wrk(WRK_FLOOR, f"{url}/healthz?db=1", n, seconds) for url, n in zip(urls, _split(clients, urls), strict=True)]
    figures = [await asyncio.to_thread(_wrk_figures, run) for run in runs]
    return sum(f["requests"] / (f["duration_us"] / 1e6) for f in figures)


async def drive_wrk(urls: list[str], slug: str, seconds: float, clients: int) -> tuple[dict, dict[str, int], float]:
    """Registrations for `seconds` over the servers (`clients` connections in all, split evenly) through wrk."""
    run_id = secrets.token_hex(3)
    path = f"/api/events/{slug}/registrations"
    runs = [_wrk(WRK_REGISTER, url + path, n, seconds, f"{run_id}-{i}", path)
            for i, (url, n) in enumerate(zip(urls, _split(clients, urls), strict=True))]
    figures = [await asyncio.to_thread(_wrk_figures, run) for run in runs]
    elapsed = max(f["duration_us"] for f in figures) / 1e6
    combined = {"requests": sum(f["requests"] for f in figures), "status": sum(f["status"] for f in figures),
                "errors": sum(f["errors"] for f in figures),
                # wrk reports each process's percentiles: the worst of them stands for the run.
                "p50": max(f["p50"] for f in figures) / 1e6, "p99": max(f["p99"] for f in figures) / 1e6,
                "max": max(f["max"] for f in figures) / 1e6}
    return combined, {url: f["requests"] for url, f in zip(urls, figures, strict=True)}, elapsed


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


# ---- where the CPU goes: the client, the server processes and PostgreSQL's backends (Linux /proc) -------------
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (0 if it is gone or /proc is missing)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14 and 15 of stat)


async def sessions_opened(database_url: str) -> int:
    """Connections ever opened to this database (PostgreSQL 14+; 0 before): a pool that keeps closing and
    reopening connections costs a backend start and the driver's set-up each time."""
    engine = create_engine(Settings(database_url=database_url), pooled=False)
    async with engine.connect() as conn:
        opened = await conn.scalar(text(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"))
    await engine.dispose()
    return int(opened or 0)


async def backend_pids(database_url: str) -> list[int]:
    """PostgreSQL's backend processes serving this database (the servers' pools), from pg_stat_activity."""
    engine = create_engine(Settings(database_url=database_url), pooled=False)
    async with engine.connect() as conn:
        pids = list(await conn.scalars(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")))
    await engine.dispose()
    return pids


def cpu_snapshot(server_pids: list[int], postgres_pids: list[int]) -> dict[str, float]:
    return {"client": time.process_time(),
            "servers": sum(_cpu_seconds(pid) for pid in server_pids),
            "postgres": sum(_cpu_seconds(pid) for pid in postgres_pids),
            **{f"pid:{pid}": _cpu_seconds(pid) for pid in postgres_pids}}


def _cpu_before_of(pid: int, before: dict[str, float]) -> float:
    return before.get(f"pid:{pid}", 0.0)


def _children_cpu() -> float:
    """CPU of finished child processes (the wrk clients), as the kernel accounts it once they are waited for."""
    times = os.times()
    return times.children_user + times.children_system


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("EVENTS_BENCH_DATABASE_URL", DEFAULT_DATABASE))
    parser.add_argument("--url", action="append", help="a running server process on --database-url; repeat for "
                        "several (else --servers are started)")
    parser.add_argument("--servers", type=int, default=2, help="server processes to start (one uvicorn each)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--requests", type=int, default=3000, help="registrations sent (Python client)")
    parser.add_argument("--seconds", type=float, default=6, help="seconds of registrations (wrk client)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--capacity", type=int, default=1000)
    parser.add_argument("--no-mail", action="store_true", help="skip draining the outbox afterwards")
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk" if shutil.which("wrk") else "python",
                        help="wrk (one process per server; default when installed) or the Python (httpx) clients")
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
        floor_rate = await (floor_wrk if args.client == "wrk" else floor)(urls, args.clients, seconds=3)
        server_pids = [server.pid for server in servers]
        postgres_before = await backend_pids(database_url)
        opened_before = await sessions_opened(database_url)
        cpu_before = cpu_snapshot(server_pids, postgres_before)
        client_before = _children_cpu()
        if args.client == "wrk":
            figures, per_server, elapsed = await drive_wrk(urls, slug, args.seconds, args.clients)
            codes = {202: figures["requests"] - figures["status"], 0: figures["status"]}
            latency = (figures["p50"], figures["p99"], figures["max"])
        else:
            latencies, codes, per_server, elapsed = await drive(urls, slug, args.requests, args.clients)
            latency = (percentile(latencies, 50), percentile(latencies, 99), max(latencies))
        if args.client == "wrk":
            await settled(database_url, slug)  # requests in flight when wrk stopped are still being answered
        # Backends opened during the run count whole; those that closed before the end are lost (reported).
        opened = await sessions_opened(database_url) - opened_before - 2  # less this check's and the pid query's
        postgres_after = await backend_pids(database_url)
        cpu_after = cpu_snapshot(server_pids, postgres_after)
        cpu_after["postgres"] -= sum(_cpu_before_of(pid, cpu_before) for pid in postgres_after)
        cpu_used = {"client": cpu_after["client"] - cpu_before["client"] + _children_cpu() - client_before,
                    "servers": cpu_after["servers"] - cpu_before["servers"], "postgres": cpu_after["postgres"]}
        lost_backends = len(set(postgres_before) - set(postgres_after))
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
    cpu_used = {name: value for name, value in cpu_used.items() if not name.startswith("pid:")}
    print(f"servers: {len(urls)} processes on PostgreSQL; requests answered by each: "
          f"{', '.join(str(n) for n in per_server.values())}")
    sent = f"for {args.seconds:.0f} s" if args.client == "wrk" else str(args.requests)
    print(f"requests: {sent} from {args.clients} concurrent clients ({args.client}); "
          f"capacity {args.capacity}")
    print(f"answers: {dict(sorted(codes.items()))}")
    print(f"baseline: GET /healthz?db=1 {floor_rate:.0f} requests/s (same servers and clients)")
    print(f"throughput: {ok / elapsed:.0f} registrations/s ({elapsed:.2f} s) = "
          f"{ok / elapsed / floor_rate:.0%} of the baseline")
    print(f"latency: p50 {latency[0] * 1000:.1f} ms, p99 {latency[1] * 1000:.1f} ms, max {latency[2] * 1000:.1f} ms"
          + (" (wrk: the worse of the servers' percentiles)" if args.client == "wrk" else ""))
    answered = sum(codes.values())
    print(f"CPU per registration: client {cpu_used['client'] / answered * 1000:.2f} ms, "
          f"servers {cpu_used['servers'] / answered * 1000:.2f} ms"
          f"{'' if server_pids else ' (not started here: not measured)'}, "
          f"PostgreSQL backends {cpu_used['postgres'] / answered * 1000:.2f} ms "
          f"({len(postgres_after)} backends, {lost_backends} closed during the run and not counted; WAL writer "
          f"and checkpointer not counted; {opened} connections opened during the run); "
          f"busy cores during the run: " + ", ".join(f"{name} {value / elapsed:.2f}" for name, value in cpu_used.items())
          + f" of {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}")
    if mail:
        print(f"mail: the outbox worker composed and sent {mail[0]} messages in {mail[1]:.1f} s "
              f"({mail[0] / mail[1]:.0f}/s, one process, loopback SMTP)")
    counts = check["counts"]
    print(f"final counts: {counts}; rows {check['rows']}, distinct e-mails {check['distinct_emails']}")
    # wrk stops with up to one request per connection in flight: the server may still register those.
    spare = args.clients if args.client == "wrk" else 0
    expected_confirmed = min(args.capacity, check["rows"])
    good = (not check["overbooked"] and counts.get("confirmed", 0) == expected_confirmed
            and ok <= check["rows"] <= ok + spare and check["rows"] == check["distinct_emails"]
            and check["waitlist_sequence_unique"])
    print(f"count check: {'OK' if good else 'FAILED'} (confirmed {counts.get('confirmed', 0)} <= capacity "
          f"{args.capacity}, waitlist order unique)")
    if not good:
        raise SystemExit(1)


if __name__ == "__main__":
    asyncio.run(main())
