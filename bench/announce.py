"""An announcement to 5,000 registrants: the request that queues it, and one worker delivering it.

    python bench/announce.py                                  # PostgreSQL: creates and drops <name>_announce
    python bench/announce.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test_comm --people 5000

Seeds an event with N confirmed registrations (bulk insert), then

1. times ``POST /api/events/{slug}/announcements`` through the app (in process, over ASGI, with an API token),
   against a floor measured in the same run: selecting the N recipients and bulk-inserting N bare outbox rows
   with SQLAlchemy Core, which is the least any design that writes one row per person must do;
2. runs one worker (``deliver_due`` passes, as ``events-app worker`` does) until every message has been composed
   and sent to an aiosmtpd sink in a separate process, against a floor measured in the same run: the same number
   of ready-made messages pushed over one SMTP connection with aiosmtplib.

Targets (issue #14): the request < 5 s, the worker >= 150 messages/s. Throttling is off for the run
(EVENTS_ANNOUNCEMENT_PER_MINUTE=0): it spreads messages over time on purpose.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from events_app.db import create_engine  # noqa: E402
from events_app.models import metadata  # noqa: E402
from events_app.settings import Settings  # noqa: E402
from events_app.wiring import wire  # noqa: E402

wire()  # every mapper, and the mail composers the worker needs

DEFAULT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SECRET = "bench-announce-secret-key-0123456789-abcdefghijkl"


async def recreate_database(url: str, suffix: str, *, drop_only: bool = False) -> str:
    admin = create_engine(Settings(database_url=url), pooled=False).execution_options(isolation_level="AUTOCOMMIT")
    name = f"{make_url(url).database}_{suffix}"
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if not drop_only:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def seed(settings: Settings, people: int) -> tuple[str, str]:
    """An organiser with an API token, a published lecture and ``people`` confirmed registrations (a tenth in
    Chinese); returns (slug, token)."""
    from events_app.accounts.models import Role
    from events_app.accounts.services import AccountService
    from events_app.events.services import EventService
    from events_app.registration.models import Registration, RegistrationStatus
    from events_app.registration.services import RegistrationService

    engine = create_engine(settings, pooled=False)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        account = await AccountService(session=session).create_account(
            "bench@example.org", secrets.token_urlsafe(16), full_name="Bench Organiser", role=Role.ORGANISER)
        token = await AccountService(session=session).create_token(account, "bench")
        event = await EventService(session=session).create_event({
            "title": "Invited lecture: 开放科学", "kind": "lecture", "starts_at": "2031-03-05T14:00",
            "ends_at": "2031-03-05T16:00", "timezone": "Asia/Shanghai", "venue_name": "Main Auditorium",
            "status": "published", "online_url": "https://meet.example.org/lecture",
        }, creator=account)
        await RegistrationService(session, settings).update_settings(event, {"mode": "open"})
        now = dt.datetime.now(dt.UTC)
        rows = [{
            "event_id": event.id, "name": f"Attendee {n} 参会者", "email": f"person{n}@example.org",
            "email_normalised": f"person{n}@example.org", "affiliation": "", "country": "", "answers": {},
            "locale": "zh" if n % 10 == 0 else "en", "status": RegistrationStatus.CONFIRMED,
            "checkin_code": f"C{n:07d}", "manage_token_hash": hashlib.sha256(f"bench{n}".encode()).hexdigest(),
            "created_at": now, "updated_at": now,
        } for n in range(people)]
        await session.execute(insert(Registration), rows)
        await session.commit()
        slug = event.slug
    await engine.dispose()
    return slug, token


async def queue_floor(settings: Settings, slug: str) -> float:
    """Select the recipients and bulk-insert one bare outbox row each, in one transaction, rolled back."""
    from events_app.events.models import Event
    from events_app.notify.models import OutboxMessage, OutboxStatus
    from events_app.registration.models import Registration, RegistrationStatus

    engine = create_engine(settings, pooled=False)
    async with async_sessionmaker(engine)() as session:
        started = time.perf_counter()
        event_id = await session.scalar(select(Event.id).where(Event.slug == slug))
        people = (await session.execute(select(Registration.id, Registration.email).where(
            Registration.event_id == event_id, Registration.status == RegistrationStatus.CONFIRMED))).all()
        now = dt.datetime.now(dt.UTC)
        await session.execute(insert(OutboxMessage), [{
            "to_address": email, "subject": "", "composer": "announcement", "payload": {"registration_id": rid},
            "status": OutboxStatus.PENDING, "attempts": 0, "next_attempt_at": now, "last_error": "",
            "created_at": now, "updated_at": now} for rid, email in people])
        await session.flush()
        elapsed = time.perf_counter() - started
        await session.rollback()
    await engine.dispose()
    return elapsed


async def queue_request(settings: Settings, slug: str, token: str) -> tuple[float, int]:
    from litestar.testing import AsyncTestClient

    from events_app.app import create_app

    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1") as client:
        payload = {"audience": "confirmed", "subject_en": "Room change for {event}",
                   "body_en": "Dear {name},\nthe lecture moves to Hall B. Your registration: {manage_link}",
                   "subject_zh": "{event}：教室变更", "body_zh": "{name}，您好：\n讲座改在 B 厅。您的报名：{manage_link}"}
        headers = {"Authorization": f"Bearer {token}"}
        started = time.perf_counter()
        answer = await client.post(f"/api/events/{slug}/announcements", json=payload, headers=headers)
        elapsed = time.perf_counter() - started
        assert answer.status_code == 201, answer.text
        return elapsed, answer.json()["recipients"]


def start_sink(port: int) -> subprocess.Popen:
    sink = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
                             "-l", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    return sink


async def smtp_floor(port: int, count: int) -> float:
    """Ready-made messages of the same shape over one connection: what the SMTP exchange itself costs."""
    import aiosmtplib

    from events_app.notify.services import build_message

    settings = Settings(secret_key=SECRET)
    messages = [build_message(settings, to=f"person{n}@example.org", subject="Room change",
                              text_body="Dear Attendee,\nthe lecture moves to Hall B.\n" * 3,
                              html_body="<p>Dear Attendee,<br>the lecture moves to Hall B.</p>").as_bytes()
                for n in range(count)]
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
    await smtp.connect()
    started = time.perf_counter()
    for n, raw in enumerate(messages):
        await smtp.sendmail("events@localhost", [f"person{n}@example.org"], raw)
    elapsed = time.perf_counter() - started
    await smtp.quit()
    return elapsed


async def drain(settings: Settings, batch_size: int) -> tuple[int, float]:
    from events_app.notify.worker import deliver_due

    engine = create_engine(settings)
    sent, started = 0, time.perf_counter()
    try:
        while (batch := await deliver_due(engine, settings, batch_size=batch_size)) > 0:
            sent += batch
    finally:
        elapsed = time.perf_counter() - started
        await engine.dispose()
    return sent, elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("EVENTS_BENCH_DATABASE_URL", DEFAULT_DATABASE),
                        help="PostgreSQL; the run uses (and afterwards drops) <name>_announce next to it")
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=20, help="the worker's pass size (its default is 20)")
    parser.add_argument("--smtp-port", type=int, default=8725)
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        raise SystemExit("the benchmark needs PostgreSQL (--database-url postgresql+asyncpg://...)")
    database_url = await recreate_database(args.database_url, "announce")
    settings = Settings(database_url=database_url, secret_key=SECRET, smtp_url=f"smtp://127.0.0.1:{args.smtp_port}",
                        announcement_per_minute=0, page_cache_seconds=0, registration_rate_limit=0)
    sink = start_sink(args.smtp_port)
    try:
        slug, token = await seed(settings, args.people)
        floor = await queue_floor(settings, slug)
        request, recipients = await queue_request(settings, slug, token)
        print(f"queue: {recipients} recipients in {request * 1000:.0f} ms in the request "
              f"(floor: select + bulk insert of bare rows {floor * 1000:.0f} ms, ratio {request / floor:.2f}x); "
              f"target < 5000 ms: {'met' if request < 5 else 'NOT met'}")
        smtp = await smtp_floor(args.smtp_port, min(recipients, 2000))
        smtp_rate = min(recipients, 2000) / smtp
        sent, elapsed = await drain(settings, args.batch_size)
        rate = sent / elapsed
        print(f"worker: {sent} composed and sent in {elapsed:.1f} s = {rate:.0f} messages/s, batch {args.batch_size} "
              f"(floor: ready-made messages over one SMTP connection {smtp_rate:.0f}/s, ratio {rate / smtp_rate:.2f}); "
              f"target >= 150/s: {'met' if rate >= 150 else 'NOT met'}")
        assert sent == recipients, (sent, recipients)
    finally:
        sink.terminate()
        sink.wait()
        await recreate_database(args.database_url, "announce", drop_only=True)


if __name__ == "__main__":
    asyncio.run(main())
