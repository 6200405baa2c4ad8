"""Public pages under load: requests/s and p50/p99 for the home page, an event page, the event list API,
each against the framework floor (/healthz) measured in the same run; then a registration rush and a big
conference.

    python bench/pages.py [--duration 10] [--connections 64] [--database-url postgresql+asyncpg://...]
                          [--rush-rate 100] [--no-big] [--only-big] [--no-uncached] [--no-seed]

What it does, all on loopback and bounded in time:
1. Empties the given database (DROP SCHEMA public CASCADE), applies the Alembic migrations and bulk-inserts
   2,000 events (kinds, zones, series, some cancelled and drafts), 500 of them with a programme of 10 talks
   of 3 speakers each and open registration with three questions (so the event page shows the whole form,
   country list included), names in Chinese and Latin scripts; and bench/schedule.py's conference of 2,000
   talks. `--no-seed` reuses what is there.
2. Starts `uvicorn events_app.app:app --workers 2` on a free port, waits for /healthz.
3. Drives each URL with wrk (a separate process: a Python client saturates before the server does),
   after a short warm-up, and prints a table.  wrk must be installed (`apt-get install -y wrk`).
4. The rush: `--rush-rate` registrations/s for the measured event (through the public API, each a new
   address) while wrk reads that event's page, then the home page; at the end the database is checked for
   overbooking (exit status 1 if confirmed seats exceed the capacity or an address is registered twice).
5. The big conference: 10 wrk connections on its feed and 10 on its page at once, while one client asks for
   /healthz and / in turn (20 requests/s) and reports their p50/p99.
6. Stops the server, then measures the home and event pages and GET /api/events on a second server started
   with EVENTS_PAGE_CACHE_SECONDS=0, so every request queries the database and renders the template (the parts
   kept rendered by web/fragments.py excepted), and the home and event pages on a third with EVENTS_FRAGMENT_CACHE_SECONDS=0 too, which
   keeps nothing.

Targets (issue 12), as ratios to the floor: home and event page (cached) 25%, also during the rush; rendered
on every request 10%; GET /api/events 15%; the probe's p99 under 100 ms during the big conference.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib.util
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import events_app.models  # noqa: E402,F401  (every mapper, also when --no-seed reads without seeding)
from events_app.devserver import ensure_database, throwaway_secret_key, wait_until_up  # noqa: E402

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/ev_bench"
EVENTS = 2000
EVENTS_WITH_PROGRAMME = 500
TALKS_PER_EVENT = 10
SPEAKERS_PER_TALK = 3
PEOPLE = 1500
TARGET_RATIO = 0.25
BIG_SLUG = "international-congress-on-catalysis-2030"  # bench/schedule.py's conference
RENDER_TARGET = 0.10  # home and event page rendered on every request (page cache off)
API_TARGET = 0.15
REGISTRATION_CAPACITY = 1000
REGISTRATION_QUESTIONS = [
    {"key": "diet", "label": "Dietary needs", "kind": "short_text", "required": False, "options": []},
    {"key": "session", "label": "Which day will you attend?", "kind": "single_choice", "required": True,
     "options": ["Day 1", "Day 2", "Both days"]},
    {"key": "consent", "label": "I agree to be photographed", "kind": "checkbox", "required": False, "options": []},
]

# wrk's done() hook: one JSON line with the figures we need (latencies in microseconds).
WRK_REPORT = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50": %d, "p90": %d, "p99": %d, "max": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""

SURNAMES_ZH = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN_ZH = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "晓林", "建华"]
GIVEN_LATIN = ["Maria", "Jean-Luc", "Anna", "Kwame", "Sarah", "Fiona", "João", "Ingrid", "Pedro", "Amélie",
               "Lars", "Chiara", "Tomasz", "Aisha", "Diego", "Hannah", "Olivier", "Sven", "Lucía", "Nikolai"]
SURNAMES_LATIN = ["González", "Dupont", "Müller", "Mensah", "O'Connor", "Campbell", "Silva", "Johansson",
                  "Rossi", "Nowak", "Ferreira", "Schmidt", "Moreau", "Kowalski", "Haddad", "Larsen", "Novak"]
AFFILIATIONS = ["National Science Library, CAS", "Peking University Library", "Université Paris-Saclay",
                "TIB Hannover", "University of Ghana", "Universidade de São Paulo", "中国科学院文献情报中心",
                "清华大学图书馆", "University of Edinburgh", "National Institute of Informatics"]
COUNTRIES = ["CN", "CN", "CN", "FR", "DE", "GH", "BR", "GB", "JP", "ES", "US", "IT", "PL"]
ZONES = ["Asia/Shanghai", "Asia/Shanghai", "Europe/Berlin", "America/New_York", "Asia/Tokyo",
         "Africa/Nairobi", "America/Sao_Paulo", "Australia/Sydney"]
KIND_ZH = {"conference": "国际会议", "workshop": "研讨会", "lecture": "讲座"}
TOPICS = ["Open Science", "开放科学", "Research Data", "科研数据管理", "Scholarly Communication", "知识图谱",
          "Bibliometrics", "学术评价", "Digital Preservation", "Persistent Identifiers", "Text Mining",
          "数字图书馆", "Science Policy", "Open Access"]


# ---- data ---------------------------------------------------------------------------------------------------


def reset_schema(database_url: str) -> None:
    from sqlalchemy import text

    from events_app.db import create_engine
    from events_app.settings import Settings

    async def run() -> None:
        await ensure_database(database_url)
        engine = create_engine(Settings(database_url=database_url), pooled=False)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(run())


def migrate(database_url: str) -> None:
    from alembic import command

    from events_app.cli import alembic_config

    config = alembic_config(database_url)
    config.attributes["configure_logging"] = False
    command.upgrade(config, "head")


def person_name(rng: random.Random, i: int) -> str:
    if i % 2 == 0:
        return rng.choice(SURNAMES_ZH) + rng.choice(GIVEN_ZH)
    return f"{rng.choice(GIVEN_LATIN)} {rng.choice(SURNAMES_LATIN)}"


def seed(database_url: str) -> dict[str, str]:
    """Bulk-inserts the data set; returns the URLs to measure."""
    from sqlalchemy import insert

    from events_app.accounts.models import Account
    from events_app.db import create_engine
    from events_app.events.models import Event, Series, event_managers
    from events_app.registration.models import RegistrationSettings
    from events_app.schedule.models import Talk, TalkSpeaker
    from events_app.settings import Settings
    from events_app.speakers.models import Person

    rng = random.Random(2026)
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    series_rows = [
        {"id": i + 1, "slug": f"series-{i + 1}", "title": f"{topic} Series" if topic.isascii() else f"{topic}系列讲座",
         "description": ""}
        for i, topic in enumerate(TOPICS[:12])
    ]
    people_rows = [
        {"id": i + 1, "full_name": person_name(rng, i), "honorific": rng.choice(["", "Dr.", "Prof."]),
         "affiliation": rng.choice(AFFILIATIONS), "country": rng.choice(COUNTRIES), "email": f"p{i}@example.org",
         "bio": "", "homepage": "", "orcid": ""}
        for i in range(PEOPLE)
    ]
    event_rows, talk_rows, link_rows, manager_rows, registration_rows = [], [], [], [], []
    programme_every = EVENTS // EVENTS_WITH_PROGRAMME
    talk_id = 0
    for i in range(EVENTS):
        with_programme = i % programme_every == 0
        kind = ("conference", "workshop")[i % 2] if with_programme else ("conference", "workshop", "lecture")[i % 3]
        # Two years back to three years ahead: most of the list is upcoming, as on the real site.
        starts = now + dt.timedelta(days=rng.randint(-730, 1095), hours=rng.randint(0, 23))
        length = {"conference": dt.timedelta(days=3), "workshop": dt.timedelta(days=1),
                  "lecture": dt.timedelta(minutes=90)}[kind]
        status = "cancelled" if i % 20 == 7 else "draft" if i % 25 == 3 else "published"
        topic = TOPICS[i % len(TOPICS)]
        title = f"{topic}: {kind.title()} {i}" if topic.isascii() else f"{topic}{KIND_ZH[kind]} {i}"
        event_rows.append({
            "id": i + 1, "slug": f"event-{i + 1}", "kind": kind, "title": title,
            "summary": f"{title} — an event of the international programme. 国际交流项目活动。",
            "description": "## About\n\nTalks and discussion on **" + topic + "**.\n\n- Open to all\n- 欢迎参加",
            "starts_at": starts, "ends_at": starts + length, "timezone": ZONES[i % len(ZONES)],
            "venue_name": "Lecture Hall 1" if i % 4 else "报告厅", "venue_address": "33 Beisihuan Xilu, Beijing",
            "online_url": "", "language": "en" if i % 3 else "zh", "organiser": "National Science Library",
            "partners": ["TIB Hannover", "中国科学院"] if i % 5 == 0 else [], "status": status,
            "series_id": (i % 12) + 1 if i % 5 < 2 else None, "revision": 0, "geo_lat": None, "geo_lon": None,
        })
        manager_rows.append({"event_id": i + 1, "account_id": 1})
        if with_programme:
            # Open registration with questions: the event page shows the whole form (country list included).
            registration_rows.append({
                "event_id": i + 1, "mode": "open", "capacity": REGISTRATION_CAPACITY, "waitlist_enabled": True,
                "promotion": "confirm", "offer_hours": 48, "questions": REGISTRATION_QUESTIONS,
            })
            for t in range(TALKS_PER_EVENT):
                talk_id += 1
                talk_start = starts + dt.timedelta(minutes=30 * t)
                talk_rows.append({
                    "id": talk_id, "event_id": i + 1, "title": f"Talk {t + 1}: {rng.choice(TOPICS)}",
                    "abstract": "", "starts_at": talk_start, "ends_at": talk_start + dt.timedelta(minutes=25),
                    "room": f"Room {t % 3 + 1}", "revision": 0,
                })
                for position, person in enumerate(rng.sample(range(1, PEOPLE + 1), SPEAKERS_PER_TALK)):
                    link_rows.append({"talk_id": talk_id, "person_id": person, "position": position})

    async def run() -> None:
        from sqlalchemy import text

        engine = create_engine(Settings(database_url=database_url), pooled=False)
        async with engine.begin() as conn:
            await conn.execute(insert(Account), [{"id": 1, "email": "bench@example.org", "full_name": "Bench",
                                                  "password_hash": "!", "role": "admin", "is_active": True}])
            await conn.execute(insert(Series), series_rows)
            await conn.execute(insert(Person), people_rows)
            for start in range(0, len(event_rows), 500):
                await conn.execute(insert(Event), event_rows[start:start + 500])
            await conn.execute(insert(event_managers), manager_rows)
            await conn.execute(insert(RegistrationSettings), registration_rows)
            for start in range(0, len(talk_rows), 1000):
                await conn.execute(insert(Talk), talk_rows[start:start + 1000])
            for start in range(0, len(link_rows), 2000):
                await conn.execute(insert(TalkSpeaker), link_rows[start:start + 2000])
            # Explicit ids were given, so move the sequences past them for anything the app inserts later.
            for table in ("account", "series", "person", "event", "talk", "talk_speaker", "registration_settings"):
                await conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                ))
            await conn.execute(text("ANALYZE"))
        await engine.dispose()

    asyncio.run(run())
    return {"events": str(len(event_rows)), "talks": str(len(talk_rows)), "speaker_links": str(len(link_rows))}


def pick_event_with_programme(database_url: str) -> str:
    """An upcoming published event with a full programme (so the page shows 10 talks, 30 speaker links)."""
    from sqlalchemy import func, select

    from events_app.db import create_engine
    from events_app.events.models import Event
    from events_app.schedule.models import Talk
    from events_app.settings import Settings

    async def run() -> str:
        engine = create_engine(Settings(database_url=database_url), pooled=False)
        async with engine.connect() as conn:
            slug = await conn.scalar(
                select(Event.slug)
                .join(Talk, Talk.event_id == Event.id)
                .where(Event.status == "published", Event.ends_at > func.now())
                .group_by(Event.id, Event.slug, Event.starts_at)
                .having(func.count(Talk.id) >= TALKS_PER_EVENT)
                .order_by(Event.starts_at)
                .limit(1)
            )
        await engine.dispose()
        if slug is None:
            raise SystemExit("No event with a programme in this database; run without --no-seed.")
        return slug

    return asyncio.run(run())


# ---- server and load ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(database_url: str, port: int, workers: int, page_cache_seconds: int,
                 fragment_cache_seconds: int = 30) -> subprocess.Popen:
    env = {**os.environ, "EVENTS_DATABASE_URL": database_url, "EVENTS_DEBUG": "0",
           "EVENTS_SECRET_KEY": os.environ.get("EVENTS_SECRET_KEY") or throwaway_secret_key(),
           "EVENTS_PAGE_CACHE_SECONDS": str(page_cache_seconds),
           "EVENTS_FRAGMENT_CACHE_SECONDS": str(fragment_cache_seconds),
           "EVENTS_RUN_WORKER_IN_PROCESS": "0", "PYTHONPATH": str(ROOT),
           # The rush sends every registration from one address, which is what this limit stops.
           "EVENTS_REGISTRATION_RATE_LIMIT": "0"}
    command = [sys.executable, "-m", "uvicorn", "events_app.app:app", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    # Its own process group, so stopping it also stops its worker processes and nothing else.
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)


def check_page(url: str, must_contain: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:
        body = response.read().decode()
        if response.status != 200 or must_contain not in body:
            raise SystemExit(f"{url} did not answer as expected ({response.status}).")
        return len(body)


def run_wrk(url: str, *, seconds: int, connections: int, threads: int, script: str) -> dict:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", script, url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    for line in result.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            figures = json.loads(line.removeprefix("WRK_JSON "))
            figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
            figures["errors"] = sum(figures[k] for k in ("connect", "read", "write", "status", "timeout"))
            return figures
    raise SystemExit(f"wrk gave no figures for {url}:\n{result.stdout}\n{result.stderr}")


# ---- the rush: registrations for one event while its page and the home page are read -------------------------


class Rush:
    """Sends `rate` registrations a second for one event from a thread of its own until stopped, each with a new
    address, through the public API (as attendees' browsers would), and keeps the answers.

    Open loop: a request is sent when it is due, whether or not the earlier ones were answered. Written on bare
    asyncio streams (HTTP/1.1 keep-alive, a pool of connections): the httpx client used before spent 0.86 of the
    machine's 2 cores on 100 requests/s once the answers queued behind wrk's, which the servers then lacked."""

    def __init__(self, base: str, slug: str, rate: float) -> None:
        import threading

        self.host, port = base.removeprefix("http://").split(":")
        self.port, self.slug, self.rate = int(port), slug, rate
        self.statuses: dict[int, int] = {}
        self.latencies: list[float] = []
        self.errors = 0
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> Rush:
        self.started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        self.elapsed = time.monotonic() - self.started

    def _request(self, number: int) -> bytes:
        body = json.dumps({"name": f"Rush {number}", "email": f"rush-{number}@example.org", "country": "CN",
                           "answers": {"session": "Day 1"}}).encode()
        head = (f"POST /api/events/{self.slug}/registrations HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
        return head.encode() + body

    async def _one(self, number: int) -> None:
        started = time.monotonic()
        try:
            reader, writer = self._idle.pop() if self._idle else await asyncio.open_connection(self.host, self.port)
            writer.write(self._request(number))
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            self._idle.append((reader, writer))
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.latencies.append(time.monotonic() - started)
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            self.errors += 1

    async def _run(self) -> None:
        tasks, number, started = set(), 0, time.monotonic()
        while not self._stop.is_set():
            due = started + number / self.rate
            if due > time.monotonic():
                await asyncio.sleep(due - time.monotonic())
            task = asyncio.create_task(self._one(number))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            number += 1
        if tasks:
            await asyncio.wait(tasks, timeout=30)
        for _reader, writer in self._idle:
            writer.close()

    @property
    def sent(self) -> int:
        return sum(self.statuses.values()) + self.errors


def seat_counts(database_url: str, slug: str) -> dict[str, int]:
    """The event's registrations by status, its capacity, and addresses registered more than once."""
    from sqlalchemy import text

    from events_app.db import create_engine
    from events_app.settings import Settings

    async def run() -> dict[str, int]:
        engine = create_engine(Settings(database_url=database_url), pooled=False)
        async with engine.connect() as conn:
            event_id, capacity = (await conn.execute(text(
                "SELECT e.id, s.capacity FROM event e JOIN registration_settings s ON s.event_id = e.id "
                "WHERE e.slug = :slug"), {"slug": slug})).one()
            counts = {status: n for status, n in await conn.execute(text(
                "SELECT status, count(*) FROM registration WHERE event_id = :id GROUP BY status"), {"id": event_id})}
            twice = await conn.scalar(text(
                "SELECT count(*) FROM (SELECT email_normalised FROM registration WHERE event_id = :id "
                "GROUP BY email_normalised HAVING count(*) > 1) AS repeated"), {"id": event_id})
        await engine.dispose()
        return {**{str(k).lower(): int(v) for k, v in counts.items()}, "capacity": int(capacity),
                "repeated": int(twice or 0)}

    return asyncio.run(run())



def run_rush(args, base: str, slug: str, script: str, results: list) -> Rush:
    """`--rush-rate` registrations/s for the event while wrk reads its page, then the home page."""
    rush_targets = [("event page during the rush", f"/events/{slug}"), ("home page during the rush", "/")]
    with Rush(base, slug, args.rush_rate) as rush:
        time.sleep(1)  # the rush is under way before measuring
        for label, path in rush_targets:
            figures = run_wrk(base + path, seconds=args.duration, connections=args.connections,
                              threads=args.threads, script=script)
            results.append((label, path, figures, check_page(base + path, "</html>")))
            print(f"  {label}: {figures['rps']:.0f} req/s", file=sys.stderr)
    return rush


def report_rush(args, slug: str, rush: Rush) -> None:
    counts = seat_counts(args.database_url, slug)
    latencies = sorted(rush.latencies) or [0.0]
    taken = counts.get("confirmed", 0) + counts.get("offered", 0)
    print(f"\nRush: {rush.sent} registrations sent in {rush.elapsed:.1f} s ({rush.sent / rush.elapsed:.0f}/s; "
          f"asked {args.rush_rate:.0f}/s), answers {dict(sorted(rush.statuses.items()))}, {rush.errors} failed, "
          f"p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, p99 {latencies[int(len(latencies) * 0.99)] * 1000:.0f} ms")
    print(f"Seats: capacity {counts['capacity']}, {taken} taken (confirmed or offered), "
          f"{counts.get('waitlisted', 0)} waitlisted, {counts['repeated']} addresses twice: "
          + ("no overbooking" if taken <= counts["capacity"] and not counts["repeated"] else "OVERBOOKED"))
    if taken > counts["capacity"] or counts["repeated"]:
        raise SystemExit(1)


# ---- one heavy request must not stall everyone: the 2,000-talk conference ---------------------------------------


def add_big_conference(database_url: str) -> str:
    """bench/schedule.py's conference (2,000 talks in 10 rooms over 5 days, 1,500 people) in this database."""
    spec = importlib.util.spec_from_file_location("bench_schedule", ROOT / "bench" / "schedule.py")
    schedule = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(schedule)
    return asyncio.run(schedule.build(database_url, organiser_email="big-conference@example.org"))["big"]


class Probe:
    """One client asking for each path in turn, `rate` requests a second, keeping each path's latencies."""

    def __init__(self, base: str, paths: list[str], rate: float = 20) -> None:
        import threading

        self.base, self.paths, self.rate = base, paths, rate
        self.latencies: dict[str, list[float]] = {path: [] for path in paths}
        # (latency, seconds since the probe started) of every request, to tell one slow request from many.
        self.timeline: dict[str, list[tuple[float, float]]] = {path: [] for path in paths}
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        import http.client

        host, port = self.base.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        number, first = 0, time.monotonic()
        while not self._stop.is_set():
            path = self.paths[number % len(self.paths)]
            started = time.monotonic()
            try:
                connection.request("GET", path)
                answer = connection.getresponse()
                answer.read()
                if answer.status != 200:
                    self.failures += 1
                self.latencies[path].append(time.monotonic() - started)
                self.timeline[path].append((time.monotonic() - started, started - first))
            except OSError:
                self.failures += 1
                connection.close()
                connection = http.client.HTTPConnection(host, int(port), timeout=30)
            number += 1
            self._stop.wait(max(0.0, 1 / self.rate - (time.monotonic() - started)))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values) or [0.0]
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def run_big_conference(args, base: str, big_slug: str, script: str) -> dict:
    """20 clients on the big conference's feed and page (10 each) while a probe times /healthz and the home page."""
    import concurrent.futures

    feed, page = f"/events/{big_slug}.ics", f"/events/{big_slug}"
    sizes = {feed: check_page(base + feed, "BEGIN:VCALENDAR"), page: check_page(base + page, "</html>")}
    for _ in range(8):  # as in a full run, where both workers kept the home page measured before
        check_page(base + "/", "</html>")
    with Probe(base, ["/healthz", "/"]) as probe, concurrent.futures.ThreadPoolExecutor(2) as pool:
        time.sleep(1)
        runs = {path: pool.submit(run_wrk, base + path, seconds=args.duration, connections=10, threads=1,
                                  script=script) for path in (feed, page)}
        figures = {path: run.result() for path, run in runs.items()}
    return {"feed": feed, "page": page, "sizes": sizes, "figures": figures, "probe": probe}


def report_big_conference(big: dict) -> None:
    print("\nBig conference (2,000 talks): wrk -t1 -c10 on the feed and -t1 -c10 on the page at once, while one "
          "client asks for /healthz and / in turn (20 requests/s):")
    for path in (big["feed"], big["page"]):
        f = big["figures"][path]
        print(f"  {path:<60} {f['rps']:>8.1f} req/s  p50 {f['p50'] / 1000:>8.1f} ms  p99 {f['p99'] / 1000:>8.1f} ms  "
              f"errors {f['errors']}  {big['sizes'][path]} bytes")
    probe = big["probe"]
    for path, values in probe.latencies.items():
        p99 = percentile(values, 0.99) * 1000
        print(f"  probe {path:<10} {len(values):>5} requests  p50 {percentile(values, 0.5) * 1000:>7.1f} ms  "
              f"p99 {p99:>7.1f} ms  max {max(values or [0]) * 1000:>7.1f} ms  "
              f"{'met' if p99 < 100 else 'NOT met'} (p99 < 100 ms)")
        slowest = sorted(probe.timeline[path], reverse=True)[:3]
        print("        slowest: " + ", ".join(f"{latency * 1000:.0f} ms at {at:.1f} s" for latency, at in slowest))
    if probe.failures:
        print(f"  probe failures: {probe.failures}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL),
                        help="PostgreSQL database to EMPTY and fill (default: %(default)s)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per URL (default: 10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of unmeasured load per URL first (default: 2)")
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections (default: 64)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default: 2)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (default: 2)")
    parser.add_argument("--no-seed", action="store_true", help="reuse the data already in the database")
    parser.add_argument("--no-uncached", dest="with_uncached", action="store_false",
                        help="skip the second server that runs without the rendered-page cache")
    parser.add_argument("--no-big", dest="with_big", action="store_false",
                        help="skip the big-conference scenario (and adding its 2,000 talks when seeding)")
    parser.add_argument("--only-big", action="store_true",
                        help="run the big-conference scenario alone (with the floor, measured in the same run)")
    parser.add_argument("--rush-rate", type=float, default=100,
                        help="registrations/s for one event in the rush scenario (0 skips it; default: 100)")
    args = parser.parse_args()

    if not args.database_url.startswith("postgresql"):
        raise SystemExit("This benchmark runs on PostgreSQL (give --database-url postgresql+asyncpg://...).")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    if not args.no_seed:
        started = time.monotonic()
        reset_schema(args.database_url)
        migrate(args.database_url)
        counts = seed(args.database_url)
        print(f"Seeded {counts['events']} events, {counts['talks']} talks, {counts['speaker_links']} speaker links "
              f"in {time.monotonic() - started:.1f}s.")
        if args.with_big:
            started = time.monotonic()
            add_big_conference(args.database_url)
            print(f"Added the 2,000-talk conference in {time.monotonic() - started:.1f}s.")
    slug = pick_event_with_programme(args.database_url)
    # Other work on the machine shows in every row; the ratios to the floor, measured in the same run, less so.
    load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())

    targets = [
        ("/healthz (floor)", "/healthz", '"ok"'),
        ("/healthz?db=1", "/healthz?db=1", '"database"'),
        ("home page", "/", "Upcoming events"),
        ("event page (10 talks, open form)", f"/events/{slug}", 'name="country"'),
        ("GET /api/events", "/api/events", '"items"'),
    ]
    # The same pages again from a server without the rendered-page cache: every request queries and renders.
    uncached = [
        ("home page, cache off", "/", "Upcoming events"),
        ("event page, cache off", f"/events/{slug}", 'name="country"'),
        ("GET /api/events, cache off", "/api/events", '"items"'),
    ]
    # And from a server that keeps nothing at all (no pages, no fragments: web/fragments.py).
    nothing_kept = [
        ("home page, nothing kept", "/", "Upcoming events"),
        ("event page, nothing kept", f"/events/{slug}", 'name="country"'),
    ]
    if args.only_big:
        targets, args.with_uncached, args.rush_rate, args.with_big = targets[:1], False, 0, True
    results: list[tuple[str, str, dict, int]] = []
    rush = big = None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(WRK_REPORT)
        script = handle.name
    try:
        servers = ((30, 30, targets), (0, 30, uncached if args.with_uncached else []),
                   (0, 0, nothing_kept if args.with_uncached else []))
        for page_cache_seconds, fragment_cache_seconds, group in servers:
            if not group:
                continue
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            server = start_server(args.database_url, port, args.workers, page_cache_seconds, fragment_cache_seconds)
            try:
                wait_until_up(base, server)
                for label, path, marker in group:
                    size = check_page(base + path, marker)
                    if args.warmup:
                        run_wrk(base + path, seconds=args.warmup, connections=args.connections,
                                threads=args.threads, script=script)
                    figures = run_wrk(base + path, seconds=args.duration, connections=args.connections,
                                      threads=args.threads, script=script)
                    results.append((label, path, figures, size))
                    print(f"  {label}: {figures['rps']:.0f} req/s", file=sys.stderr)
                if page_cache_seconds and args.rush_rate:
                    rush = run_rush(args, base, slug, script, results)
                if page_cache_seconds and args.with_big:
                    big = run_big_conference(args, base, BIG_SLUG, script)
            finally:
                stop_server(server)
    finally:
        os.unlink(script)

    floor = results[0][2]["rps"]
    extras = ", ".join(f"{name} {'yes' if importlib.util.find_spec(name) else 'no'}" for name in ("uvloop", "httptools"))
    print()
    print(f"{args.workers} uvicorn workers ({extras}), wrk -t{args.threads} -c{args.connections} -d{args.duration}s, "
          f"{os.cpu_count()} CPUs, load average before the run {load_before}, "
          f"database {args.database_url.rsplit('@', 1)[-1]}")
    header = f"{'URL':<38} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'bytes':>7} {'vs floor':>9}  target"
    print(header)
    print("-" * len(header))
    for label, _path, figures, size in results:
        ratio = figures["rps"] / floor
        goal = (None if label.startswith("/healthz") else API_TARGET if "api" in label
                else RENDER_TARGET if "cache off" in label or "nothing kept" in label else TARGET_RATIO)
        target = "" if goal is None else f"{'met' if ratio >= goal else 'NOT met'} (>= {goal:.0%})"
        print(f"{label:<38} {figures['rps']:>8.0f} {figures['p50'] / 1000:>8.2f} {figures['p99'] / 1000:>8.2f} "
              f"{figures['errors']:>7} {size:>7} {ratio:>8.0%}  {target}")
    print(f"\nTarget: home page and event page at {TARGET_RATIO:.0%} of the floor or better, also during the rush; "
          f"rendered every time: {RENDER_TARGET:.0%}; GET /api/events: {API_TARGET:.0%}. Event: /events/{slug}")
    if rush is not None:
        report_rush(args, slug, rush)
    if big is not None:
        report_big_conference(big)



if __name__ == "__main__":
    main()
