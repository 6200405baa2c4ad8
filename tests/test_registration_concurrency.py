"""Many people register at once, on several server processes: seats are never given twice."""

from __future__ import annotations

import asyncio
from contextlib import contextmanager

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from events_app.db import create_engine
from events_app.devserver import start_server, stop_server, wait_until_up
from events_app.notify.models import OutboxMessage
from events_app.registration.models import Registration, RegistrationStatus
from events_app.registration.services import RegistrationService
from tests.conftest import free_port
from tests.registration_helpers import make_registration_event, register


@contextmanager
def running_servers(settings, count: int):
    """`count` separate `uvicorn events_app.app:app` processes on free loopback ports, sharing one database."""
    env = {
        "EVENTS_DATABASE_URL": settings.database_url,
        "EVENTS_SECRET_KEY": settings.secret_key,
        "EVENTS_BASE_URL": settings.base_url,
        "EVENTS_SMTP_URL": settings.smtp_url,
        "EVENTS_RUN_WORKER_IN_PROCESS": "0",
    }
    ports = [free_port() for _ in range(count)]
    processes = [start_server(port, env) for port in ports]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url, process in zip(urls, processes, strict=True):
            wait_until_up(url, process)
        yield urls
    finally:
        for process in processes:
            stop_server(process)


async def waitlist_ranks(db, settings, event) -> list[int]:
    rows = await RegistrationService(db, settings).list_for_event(event, status="waitlisted")
    return sorted(position for _, position in rows)


async def test_simultaneous_registrations_on_several_processes_fill_exactly_the_seats(db, organiser, settings,
                                                                                        is_postgres):
    event = await make_registration_event(db, organiser, settings, capacity=10)
    process_count = 2 if is_postgres else 1  # SQLite: one process, as the issue asks
    emails = [f"person{n}@example.org" for n in range(110)]
    emails += [e.upper() for e in emails[:10]]  # ten people press the button twice, differently typed
    with running_servers(settings, process_count) as servers:
        limits = httpx.Limits(max_connections=len(emails), max_keepalive_connections=len(emails))
        async with httpx.AsyncClient(timeout=120, limits=limits) as http:
            responses = await asyncio.gather(*(
                http.post(f"{servers[n % len(servers)]}/api/events/{event.slug}/registrations",
                          json={"name": f"Person {n}", "email": email})
                for n, email in enumerate(emails)
            ))
    # Everyone gets the same answer, the ten who pressed twice included (#10: it was 409 for them); the
    # outcome goes by mail.
    codes = [r.status_code for r in responses]
    assert set(codes) == {202}, [r.text for r in responses if r.status_code != 202]

    rows = list(await db.scalars(select(Registration)))
    assert len(rows) == 110
    assert len({r.email_normalised for r in rows}) == 110
    assert sum(1 for r in rows if r.status == RegistrationStatus.CONFIRMED) == 10
    # Waitlist numbers were given once each, none skipped, and the positions shown are 1..100.
    assert sorted(r.waitlist_seq for r in rows if r.status == RegistrationStatus.WAITLISTED) == list(range(1, 101))
    assert await waitlist_ranks(db, settings, event) == list(range(1, 101))
    # Each of the ten who pressed twice was sent their link again, once.
    resent = await db.scalars(select(OutboxMessage.payload))
    assert sum(1 for payload in resent if payload["template"] == "registration_link") == 10


async def test_a_flood_of_repeats_of_a_known_address_on_several_processes_mails_its_link_once(
    db, organiser, settings, is_postgres
):
    # #10: each repeat used to answer 409 and mail the victim a fresh link.
    event = await make_registration_event(db, organiser, settings, capacity=10)
    await register(db, settings, event, "Ana")
    process_count = 2 if is_postgres else 1
    with running_servers(settings, process_count) as servers:
        async with httpx.AsyncClient(timeout=120) as http:
            responses = await asyncio.gather(*(
                http.post(f"{servers[n % len(servers)]}/api/events/{event.slug}/registrations",
                          json={"name": "Ana", "email": "ana@example.org"})
                for n in range(30)
            ))
    assert {r.status_code for r in responses} == {202}
    payloads = list(await db.scalars(select(OutboxMessage.payload)))
    assert [p["template"] for p in payloads] == ["registration_confirmed", "registration_link"]


async def test_concurrent_cancellations_and_registrations_leave_no_seat_empty_while_people_wait(
    db, organiser, settings
):
    event = await make_registration_event(db, organiser, settings, capacity=10)
    confirmed = [await register(db, settings, event, f"Seated{n}") for n in range(10)]
    waiting = [await register(db, settings, event, f"Waiting{n}") for n in range(10)]
    engine = create_engine(settings)
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def cancel(token: str) -> None:
        async with sessions() as session:
            service = RegistrationService(session, settings)
            await service.cancel(await service.by_token(token))
            await session.commit()

    async def newcomer(n: int) -> None:
        async with sessions() as session:
            await RegistrationService(session, settings).register_and_commit(
                event, {"name": f"New{n}", "email": f"new{n}@example.org"})

    try:
        await asyncio.gather(
            *(cancel(r.token) for r in confirmed[:6]),
            *(cancel(r.token) for r in waiting[::3]),  # 4 leave the waitlist
            *(newcomer(n) for n in range(12)),
        )
    finally:
        await engine.dispose()

    counts = await RegistrationService(db, settings).status_counts(event)
    assert counts["confirmed"] == 10  # 6 seats freed, all refilled, never more
    assert counts["cancelled"] == 10
    assert counts["waitlisted"] == 10 + 12 - 4 - 6
    assert await waitlist_ranks(db, settings, event) == list(range(1, counts["waitlisted"] + 1))
    # Those waiting longest got the seats: every promoted person joined before everyone still waiting.
    promoted = list(await db.scalars(select(Registration.id).where(
        Registration.status == RegistrationStatus.CONFIRMED, Registration.name.like("Waiting%"))))
    still_waiting = list(await db.scalars(select(Registration.id).where(
        Registration.status == RegistrationStatus.WAITLISTED)))
    assert len(promoted) == 6 and max(promoted) < min(still_waiting)
    assert await db.scalar(select(func.count()).select_from(Registration).where(
        Registration.status == RegistrationStatus.CONFIRMED, Registration.name.like("New%"))) == 0


async def test_two_doors_scanning_the_same_code_at_once_check_in_once(db, organiser, settings):
    event = await make_registration_event(db, organiser, settings)
    ana = await register(db, settings, event, "Ana")
    engine = create_engine(settings)
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def scan() -> str:
        async with sessions() as session:
            result = await RegistrationService(session, settings).check_in(event, ana.registration.checkin_code)
            await session.commit()
            return result.outcome

    try:
        outcomes = await asyncio.gather(*(scan() for _ in range(4)))
    finally:
        await engine.dispose()
    assert sorted(outcomes) == ["already", "already", "already", "checked_in"]
