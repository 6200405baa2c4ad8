"""Group commit: registrations for one event arriving together in a process are decided in one transaction."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from events_app.core.i18n import current_locale
from events_app.db import create_engine
from events_app.notify.models import OutboxMessage
from events_app.registration import seats as registration_seats
from events_app.registration.models import Registration, RegistrationStatus
from events_app.registration.outcomes import AlreadyRegistered, Registered
from events_app.registration.services import RegistrationService
from tests.conftest import deliver_outbox
from tests.registration_helpers import make_registration_event


@pytest.fixture
async def sessions(settings):
    engine = create_engine(settings)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


@pytest.fixture
def settled_groups(monkeypatch) -> list[int]:
    """The size of every group decided, in order."""
    sizes: list[int] = []
    original = RegistrationService._decide_locked

    async def recording(self, event, applicants, locked):
        sizes.append(len(applicants))
        return await original(self, event, applicants, locked)

    monkeypatch.setattr(RegistrationService, "_decide_locked", recording)
    return sizes


async def register_together(sessions, settings, event, people: list[tuple[str, str, str]]):
    """Each (name, email, locale) as its own request with its own session, all at once; outcomes in order.

    The settings are read once beforehand, so the requests enter the waiting room in the order given."""
    async with sessions() as session:
        row = await RegistrationService(session, settings).settings_for(event)

    async def one(name: str, email: str, locale: str):
        current_locale.set(locale)  # each task has its own context, as each request has
        async with sessions() as session:
            try:
                return await RegistrationService(session, settings).register_and_commit(
                    event, {"name": name, "email": email}, row=row)
            except Exception as exc:  # noqa: BLE001 - the outcome is what the test looks at
                return exc

    return await asyncio.gather(*(one(*person) for person in people))


async def test_people_arriving_together_are_decided_in_few_transactions_in_arrival_order(
    db, organiser, settings, sessions, settled_groups
):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    people = [(f"P{n}", f"p{n}@example.org", "en") for n in range(20)]
    outcomes = await register_together(sessions, settings, event, people)

    assert all(isinstance(o, Registered) for o in outcomes)
    assert sum(settled_groups) == 20 and len(settled_groups) < 20 and max(settled_groups) > 1
    # First come, first served: the first five arrivals have the seats, the rest wait in arrival order.
    assert [o.registration.status for o in outcomes] == [RegistrationStatus.CONFIRMED] * 5 + \
        [RegistrationStatus.WAITLISTED] * 15
    assert [o.position for o in outcomes[5:]] == list(range(1, 16))
    rows = {r.email: r for r in await db.scalars(select(Registration).execution_options(populate_existing=True))}
    assert len(rows) == 20 and [rows[f"p{n}@example.org"].waitlist_seq for n in range(5, 20)] == list(range(1, 16))
    assert await db.scalar(select(OutboxMessage.id).where(OutboxMessage.to_address == "p19@example.org"))


async def test_the_same_address_twice_in_one_group_makes_one_registration_and_resends_the_link(
    db, organiser, settings, sessions, settled_groups, smtp_server
):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    outcomes = await register_together(sessions, settings, event, [
        ("Ana", "ana@example.org", "en"), ("Ana again", "ANA@example.org", "en"), ("Bo", "bo@example.org", "en"),
    ])
    assert max(settled_groups) > 1  # they really were in one group
    assert isinstance(outcomes[0], Registered) and isinstance(outcomes[2], Registered)
    assert isinstance(outcomes[1], AlreadyRegistered)
    assert len(list(await db.scalars(select(Registration)))) == 2
    await deliver_outbox(settings)
    assert [m["Subject"].split(":")[0] for m in smtp_server.to("ana@example.org")] == [
        "Registration confirmed", "Your registration link"]


async def test_each_person_in_a_group_is_answered_and_written_to_in_their_own_language(
    db, organiser, settings, sessions, settled_groups, smtp_server
):
    event = await make_registration_event(db, organiser, settings, capacity=1, waitlist_enabled=False)
    outcomes = await register_together(sessions, settings, event, [
        ("Ana", "ana@example.org", "en"), ("李华", "li@example.cn", "zh"), ("Bo", "bo@example.org", "en"),
    ])
    assert max(settled_groups) > 1
    assert isinstance(outcomes[0], Registered)
    assert outcomes[1].message == "本活动名额已满。" and outcomes[2].message == "This event is full."
    await deliver_outbox(settings)
    [mail] = smtp_server.to("ana@example.org")
    assert mail["Subject"].startswith("Registration confirmed")


async def test_a_failing_group_is_decided_again_one_by_one(db, organiser, settings, sessions, monkeypatch):
    event = await make_registration_event(db, organiser, settings, capacity=2)
    original = RegistrationService._decide_locked
    failed: list[int] = []

    async def fails_for_groups(self, event, applicants, locked):
        if len(applicants) > 1:
            failed.append(len(applicants))
            raise RuntimeError("lost the connection")
        return await original(self, event, applicants, locked)

    monkeypatch.setattr(RegistrationService, "_decide_locked", fails_for_groups)

    async def one(n: int):
        async with sessions() as session:  # as a request does: the event read in its own session
            service = RegistrationService(session, settings)
            event_here, row = await service.event_for_registration(event.slug)
            return await service.register_and_commit(event_here, {"name": f"P{n}", "email": f"p{n}@example.org"},
                                                     row=row)

    outcomes = await asyncio.gather(*(one(n) for n in range(6)))
    assert failed  # a group was formed, failed, and its people were decided one by one
    statuses = sorted(o.registration.status.value for o in outcomes)
    assert statuses == ["confirmed"] * 2 + ["waitlisted"] * 4
    assert len(list(await db.scalars(select(Registration)))) == 6


async def test_when_the_request_deciding_a_group_is_cancelled_the_others_still_register(
    db, organiser, settings, sessions, monkeypatch
):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    original_lock = RegistrationService._lock
    holding = asyncio.Event()
    first_call = True

    async def slow_first_lock(self, event_id):
        nonlocal first_call
        if first_call:
            first_call = False
            holding.set()
            await asyncio.sleep(30)  # the leader hangs here until it is cancelled
        return await original_lock(self, event_id)

    monkeypatch.setattr(RegistrationService, "_lock", slow_first_lock)

    async def one(n: int):
        async with sessions() as session:
            return await RegistrationService(session, settings).register_and_commit(
                event, {"name": f"P{n}", "email": f"p{n}@example.org"})

    leader = asyncio.create_task(one(0))
    await holding.wait()
    others = [asyncio.create_task(one(n)) for n in range(1, 4)]
    await asyncio.sleep(0.05)  # the others are waiting in the room behind the leader
    leader.cancel()
    outcomes = await asyncio.wait_for(asyncio.gather(*others), timeout=20)
    assert [o.registration.status for o in outcomes] == [RegistrationStatus.CONFIRMED] * 3
    assert leader.cancelled()
    names = set(await db.scalars(select(Registration.name)))
    assert names == {"P1", "P2", "P3"}
    assert registration_seats._waiting_room(event.id) == []
