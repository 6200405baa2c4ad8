"""Issue 16: what an acceptance makes. An accepted application takes a seat through the registration rules (two
accepted at once for the last seat: one confirmed, one waitlisted); an accepted abstract becomes an unscheduled
talk whose speakers are the existing person records."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from events_app.calls import services
from events_app.calls.models import Call, Submission, SubmissionState
from events_app.db import create_engine
from events_app.events.models import Event
from events_app.registration.models import Registration, RegistrationStatus
from tests.calls_helpers import make_call, submit
from tests.registration_helpers import make_registration_event, register


async def test_two_applications_accepted_at_once_for_the_last_seat_confirm_one_and_waitlist_the_other(
        db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=2)
    await register(db, settings, event, "Early")  # one seat taken, one left
    call = await make_call(db, organiser, kind="applications", event=event, tracks=[])
    first, _ = await submit(db, settings, call, name="Wang Fang", email="wang.fang@example.cn", title="", abstract="")
    second, _ = await submit(db, settings, call, name="Li Na", email="li.na@example.cn", title="", abstract="")
    engine = create_engine(settings)  # a pool: each acceptance on its own connection, as two requests would be
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def accept(submission_id: int) -> int:
        async with sessions() as session:
            loaded_call = await session.get(Call, call.id)
            loaded_event = await session.get(Event, event.id)
            assert loaded_call is not None and loaded_event is not None
            changed = await services.decide(session, settings, loaded_call, loaded_event, [submission_id], "accepted")
            await session.commit()
            return changed

    try:
        assert await asyncio.gather(accept(first.id), accept(second.id)) == [1, 1]
    finally:
        await engine.dispose()
    rows = {r.email: r for r in await db.scalars(select(Registration).where(Registration.event_id == event.id)
                                                 .execution_options(populate_existing=True))}
    applicants = sorted(rows[e].status.value for e in ("wang.fang@example.cn", "li.na@example.cn"))
    assert applicants == ["confirmed", "waitlisted"]
    assert sum(1 for r in rows.values() if r.status == RegistrationStatus.CONFIRMED) == 2  # the capacity
    linked = {s.registration_id for s in await db.scalars(select(Submission).execution_options(populate_existing=True))}
    assert linked == {rows["wang.fang@example.cn"].id, rows["li.na@example.cn"].id}


async def test_accepting_an_application_twice_at_once_makes_one_registration(db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    call = await make_call(db, organiser, kind="applications", event=event, tracks=[])
    applied, _ = await submit(db, settings, call, title="", abstract="")
    assert await services.decide(db, settings, call, event, [applied.id], "accepted") == 1
    assert await services.decide(db, settings, call, event, [applied.id], "accepted") == 0
    await db.commit()
    registrations = (await db.scalars(select(Registration))).all()
    assert [(r.email, r.status) for r in registrations] == [("wang.fang@example.cn", RegistrationStatus.CONFIRMED)]
    assert (await db.get(Submission, applied.id)).state == SubmissionState.ACCEPTED  # type: ignore[union-attr]


async def test_two_acceptance_requests_at_once_for_the_last_seat_through_the_api(client, db, organiser, token,
                                                                                settings):
    event = await make_registration_event(db, organiser, settings, capacity=1)
    call = await make_call(db, organiser, kind="applications", event=event, tracks=[])
    first, _ = await submit(db, settings, call, name="Wang Fang", email="wang.fang@example.cn", title="", abstract="")
    second, _ = await submit(db, settings, call, name="Li Na", email="li.na@example.cn", title="", abstract="")
    responses = await asyncio.gather(*(
        client.post(f"/api/calls/{call.id}/decisions", headers={"Authorization": f"Bearer {token}"},
                    json={"submission_ids": [s.id], "decision": "accepted"}) for s in (first, second)))
    assert [r.json() for r in responses] == [{"changed": 1}, {"changed": 1}]
    statuses = sorted(r.status.value for r in await db.scalars(
        select(Registration).where(Registration.event_id == event.id).execution_options(populate_existing=True)))
    assert statuses == ["confirmed", "waitlisted"]



async def test_two_server_processes_accepting_at_once_for_the_last_seat_confirm_one(db, organiser, token, settings,
                                                                                    is_postgres):
    """The row lock holds across processes (PostgreSQL: two uvicorn processes; SQLite: one, as elsewhere)."""
    import httpx

    from tests.test_registration_concurrency import running_servers

    event = await make_registration_event(db, organiser, settings, capacity=1)
    call = await make_call(db, organiser, kind="applications", event=event, tracks=[])
    applied = [(await submit(db, settings, call, name=f"Applicant {n}", email=f"applicant{n}@example.org",
                             title="", abstract=""))[0] for n in range(2)]
    with running_servers(settings, 2 if is_postgres else 1) as servers:
        async with httpx.AsyncClient(timeout=60) as http:
            responses = await asyncio.gather(*(
                http.post(f"{servers[n % len(servers)]}/api/calls/{call.id}/decisions",
                          headers={"Authorization": f"Bearer {token}"},
                          json={"submission_ids": [s.id], "decision": "accepted"})
                for n, s in enumerate(applied)))
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    statuses = sorted(r.status.value for r in await db.scalars(
        select(Registration).where(Registration.event_id == event.id).execution_options(populate_existing=True)))
    assert statuses == ["confirmed", "waitlisted"]
