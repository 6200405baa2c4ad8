from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text

from events_app.core.validation import ValidationFailed
from events_app.notify.models import OutboxMessage
from events_app.registration.mail import hash_token
from events_app.registration.models import Registration, RegistrationLink, RegistrationStatus
from events_app.registration.outcomes import AlreadyRegistered, RegistrationUnavailable
from events_app.registration.services import RegistrationService
from tests.conftest import deliver_outbox
from tests.registration_helpers import cancel, make_registration_event, register

QUESTIONS = [
    {"label": "Dietary needs", "kind": "single_choice", "required": True, "options": ["None", "Vegetarian", "Halal"]},
    {"label": "Sessions", "kind": "multiple_choice", "options": ["Morning", "Afternoon"]},
    {"label": "I need an invitation letter for a visa", "kind": "checkbox"},
    {"label": "Anything else?", "kind": "long_text"},
]


async def count(db, model=Registration) -> int:
    return await db.scalar(select(func.count()).select_from(model))


async def statuses(db) -> dict[str, str]:
    rows = await db.execute(select(Registration.name, Registration.status).execution_options(populate_existing=True))
    return {name: status.value for name, status in rows}


async def positions(db, settings, event) -> dict[str, int]:
    rows = await RegistrationService(db, settings).list_for_event(event, status="waitlisted")
    return {r.name: p for r, p in rows}


async def test_seats_go_first_come_first_served_then_the_waitlist_gets_positions(db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=2)
    results = [await register(db, settings, event, name) for name in ("Ana", "Bo", "Chen", "Dara")]
    assert [r.registration.status.value for r in results] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    assert [r.position for r in results] == [None, None, 1, 2]


async def test_cancellation_promotes_first_waitlisted_person_at_once(db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=1)
    ana = await register(db, settings, event, "Ana")
    await register(db, settings, event, "Bo")
    await register(db, settings, event, "Chen")
    await cancel(db, settings, ana.token)
    assert await statuses(db) == {"Ana": "cancelled", "Bo": "confirmed", "Chen": "waitlisted"}
    assert await positions(db, settings, event) == {"Chen": 1}


async def test_positions_close_up_without_gaps_when_someone_leaves_the_waitlist(db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=1)
    await register(db, settings, event, "Ana")
    waiting = [await register(db, settings, event, name) for name in ("Bo", "Chen", "Dara", "Eli")]
    service = RegistrationService(db, settings)
    await service.cancel(await service.by_token(waiting[1].token))  # Chen, position 2
    await db.commit()
    assert await positions(db, settings, event) == {"Bo": 1, "Dara": 2, "Eli": 3}
    dara = await service.by_token(waiting[2].token)
    assert await service.position_of(dara) == 2


async def test_offer_mode_holds_the_seat_until_the_deadline_then_passes_it_on(db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=1, promotion="offer", offer_hours=48)
    ana = await register(db, settings, event, "Ana")
    bo = await register(db, settings, event, "Bo")
    await register(db, settings, event, "Chen")
    service = RegistrationService(db, settings)
    await service.cancel(await service.by_token(ana.token))
    await db.commit()
    assert (await statuses(db))["Bo"] == "offered"
    offered = await service.by_token(bo.token)
    assert offered.offer_expires_at - dt.datetime.now(dt.UTC) > dt.timedelta(hours=47)
    # A newcomer cannot take the offered seat.
    assert (await register(db, settings, event, "Dara")).registration.status == RegistrationStatus.WAITLISTED

    offered.offer_expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    await db.commit()
    assert await service.expire_due_offers() == 1
    await db.commit()
    assert await statuses(db) == {"Ana": "cancelled", "Bo": "cancelled", "Chen": "offered", "Dara": "waitlisted"}
    assert await positions(db, settings, event) == {"Dara": 1}


async def test_accepting_an_offer_confirms_the_seat(db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=1, promotion="offer")
    ana = await register(db, settings, event, "Ana")
    bo = await register(db, settings, event, "Bo")
    service = RegistrationService(db, settings)
    await service.cancel(await service.by_token(ana.token))
    await service.accept_offer(await service.by_token(bo.token))
    await db.commit()
    assert (await statuses(db))["Bo"] == "confirmed"


async def test_full_event_without_waitlist_refuses_and_stores_nothing(db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=1, waitlist_enabled=False)
    await register(db, settings, event, "Ana")
    with pytest.raises(RegistrationUnavailable) as info:
        await register(db, settings, event, "Bo")
    assert info.value.message == "This event is full."
    await db.rollback()
    assert await count(db) == 1


@pytest.mark.parametrize(
    ("event_overrides", "settings_overrides", "message"),
    [
        ({}, {"mode": "closed"}, "Registration is closed."),
        ({}, {"closes_at": "2020-01-01T10:00"}, "Registration has closed."),
        ({}, {"opens_at": "2029-01-01T09:00"}, "Registration opens on"),
        ({"status": "cancelled"}, {}, "This event has been cancelled; registration is closed."),
    ],
)
async def test_closed_registration_gives_a_clear_message_and_stores_nothing(
    db, organiser, settings, event_overrides, settings_overrides, message
):
    event = await make_registration_event(db, organiser, settings, event_overrides=event_overrides,
                                          **settings_overrides)
    with pytest.raises(RegistrationUnavailable) as info:
        await register(db, settings, event, "Ana")
    assert info.value.message.startswith(message)
    await db.rollback()
    assert await count(db) == 0 and await count(db, OutboxMessage) == 0


async def test_draft_event_takes_no_registrations(db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, publish=False)
    with pytest.raises(RegistrationUnavailable):
        await register(db, settings, event, "Ana")


async def test_bad_input_names_each_field_and_stores_nothing(db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, questions=QUESTIONS)
    with pytest.raises(ValidationFailed) as info:
        await register(db, settings, event, "x" * 201, email="not-an-email", affiliation="y" * 201, country="XX",
                       answers={"sessions": ["Evening"], "anything-else": "z" * 5001})
    assert set(info.value.errors) == {
        "name", "email", "affiliation", "country", "answers.dietary-needs", "answers.sessions", "answers.anything-else",
    }
    assert info.value.errors["answers.dietary-needs"] == "Please choose one."
    await db.rollback()
    assert await count(db) == 0


async def test_answers_are_kept_by_question(db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, questions=QUESTIONS)
    result = await register(db, settings, event, "Ana", answers={
        "dietary-needs": "Halal", "sessions": ["Afternoon", "Morning"],
        "i-need-an-invitation-letter-for-a-visa": "on",
    })
    assert result.registration.answers == {
        "dietary-needs": "Halal", "sessions": ["Morning", "Afternoon"], "i-need-an-invitation-letter-for-a-visa": True,
    }


async def test_same_email_twice_resends_the_link_and_creates_no_second_row(db, organiser, settings, smtp_server):
    event = await make_registration_event(db, organiser, settings)
    await register(db, settings, event, "Ana", email="Ana.Lopez@Example.org")
    mails_before = await count(db, OutboxMessage)
    with pytest.raises(AlreadyRegistered):
        await register(db, settings, event, "Ana again", email="ana.lopez@example.ORG")
    await db.rollback()  # what the 409 answer does: the re-sent link survives it
    assert await count(db) == 1
    assert await count(db, OutboxMessage) == mails_before + 1
    # The link sent again is a new one, minted by the worker as it composes (the queue holds no token); the
    # first stays valid. Composing both mails makes two links.
    assert await count(db, RegistrationLink) == 0
    await deliver_outbox(settings)
    assert await count(db, RegistrationLink) == 2


async def test_unique_constraint_refuses_a_second_row_for_the_same_email(db, organiser, settings):
    from sqlalchemy.exc import IntegrityError

    event = await make_registration_event(db, organiser, settings)
    await register(db, settings, event, "Ana")
    db.add(Registration(event_id=event.id, name="Sneaky", email="ana@example.org",
                        email_normalised="ana@example.org", status=RegistrationStatus.CONFIRMED, checkin_code="X"))
    with pytest.raises(IntegrityError):
        await db.flush()
    await db.rollback()


async def test_manage_tokens_are_stored_only_as_hashes(db, organiser, settings):
    event = await make_registration_event(db, organiser, settings)
    result = await register(db, settings, event, "Ana")
    assert len(result.token) >= 40
    stored = list(await db.scalars(select(Registration.manage_token_hash)))
    assert stored == [hash_token(result.token)]
    dump = " ".join(str(v) for row in (await db.execute(text("SELECT * FROM registration"))).all() for v in row)
    assert result.token not in dump


async def test_raising_the_capacity_promotes_waiting_people(db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=1)
    for name in ("Ana", "Bo", "Chen", "Dara"):
        await register(db, settings, event, name)
    await RegistrationService(db, settings).update_settings(event, {"capacity": 3})
    await db.commit()
    assert await statuses(db) == {"Ana": "confirmed", "Bo": "confirmed", "Chen": "confirmed", "Dara": "waitlisted"}
    assert await positions(db, settings, event) == {"Dara": 1}


async def test_approval_mode_waits_for_the_organiser(db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, mode="approval", capacity=1)
    ana = await register(db, settings, event, "Ana")
    bo = await register(db, settings, event, "Bo")
    chen = await register(db, settings, event, "Chen")
    assert ana.registration.status == RegistrationStatus.PENDING
    service = RegistrationService(db, settings)
    await service.approve(await service.for_event(event, ana.registration.id))
    await service.approve(await service.for_event(event, bo.registration.id))  # full: to the waitlist
    await service.reject(await service.for_event(event, chen.registration.id))
    await db.commit()
    assert await statuses(db) == {"Ana": "confirmed", "Bo": "waitlisted", "Chen": "rejected"}


async def test_moving_from_the_waitlist_never_exceeds_capacity(db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=1)
    await register(db, settings, event, "Ana")
    bo = await register(db, settings, event, "Bo")
    service = RegistrationService(db, settings)
    with pytest.raises(RegistrationUnavailable):
        await service.move_from_waitlist(await service.for_event(event, bo.registration.id))


async def test_deleting_personal_data_removes_the_row_and_passes_the_seat_on(db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=1)
    ana = await register(db, settings, event, "Ana", answers={})
    await register(db, settings, event, "Bo")
    service = RegistrationService(db, settings)
    await service.delete_personal_data(await service.by_token(ana.token))
    await db.commit()
    assert await statuses(db) == {"Bo": "confirmed"}
    assert await db.scalar(select(func.count()).select_from(RegistrationLink).where(
        RegistrationLink.registration_id == ana.registration.id)) == 0


async def test_check_in_marks_attendance_once(db, organiser, settings):
    event = await make_registration_event(db, organiser, settings)
    ana = await register(db, settings, event, "Ana")
    service = RegistrationService(db, settings)
    ana_row = await service.by_token(ana.token)
    first = await service.check_in(event, ana_row.checkin_code)
    assert first.outcome == "checked_in"
    second = await service.check_in(event, ana_row.checkin_code.lower())
    assert second.outcome == "already" and second.checked_in_at == first.checked_in_at
    assert (await service.check_in(event, "NOPE")).outcome == "unknown"


async def test_csv_export_has_bom_answers_and_neutralised_formulas(db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, questions=QUESTIONS)
    await register(db, settings, event, "王小明", email="wang@example.cn", country="CN", affiliation="=HYPERLINK()",
                   answers={"dietary-needs": "Vegetarian", "sessions": ["Morning", "Afternoon"]})
    exported = await RegistrationService(db, settings).export_csv(event)
    assert exported.startswith("\ufeff")
    header, row = exported.lstrip("\ufeff").splitlines()[:2]
    assert header.endswith("Dietary needs,Sessions,I need an invitation letter for a visa,Anything else?")
    assert row.startswith("王小明,wang@example.cn,'=HYPERLINK(),CN,confirmed,")
    assert row.endswith("Vegetarian,Morning; Afternoon,no,")


async def test_dashboard_counts_and_breaks_down_by_country_and_affiliation(db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=3)
    for name, country, affiliation in [("Ana", "ES", "CSIC"), ("Bo", "CN", "CAS"), ("Chen", "CN", "CAS"),
                                       ("Dara", "IR", "")]:
        await register(db, settings, event, name, country=country, affiliation=affiliation)
    board = await RegistrationService(db, settings).dashboard(event)
    assert board.counts == {"confirmed": 3, "waitlisted": 1}
    assert board.by_country == [("CN", 2), ("ES", 1)]
    assert board.by_affiliation == [("CAS", 2), ("CSIC", 1)]


async def test_personal_calendar_token_rotates_and_lists_the_persons_events(db, organiser, settings):
    first = await make_registration_event(db, organiser, settings, event_overrides={"title": "First"})
    second = await make_registration_event(db, organiser, settings, event_overrides={"title": "Second"})
    a = await register(db, settings, first, "Ana")
    b = await register(db, settings, second, "Ana")
    service = RegistrationService(db, settings)
    await service.by_token(b.token)  # Ana opens the link mailed for Second too: her address is proven for it (#10)
    registration = await service.by_token(a.token)
    old = await service.rotate_calendar_token(registration)
    new = await service.rotate_calendar_token(registration)
    await db.commit()
    assert await service.by_calendar_token(old) is None
    assert (await service.by_calendar_token(new)).id == registration.id
    titles = [r.event.title for r in await service.active_registrations_of_person(registration)]
    assert titles == ["First", "Second"]


async def test_someone_who_cancelled_can_register_again(db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=1)
    ana = await register(db, settings, event, "Ana")
    await cancel(db, settings, ana.token)
    again = await register(db, settings, event, "Ana")
    assert again.registration.status == RegistrationStatus.CONFIRMED
    assert await count(db) == 1


async def arrange_overdue_offer(db, organiser, settings):
    """One seat, offered mode: Ana cancelled, Bo's offer is overdue, Chen waits next."""
    event = await make_registration_event(db, organiser, settings, capacity=1, promotion="offer")
    ana = await register(db, settings, event, "Ana")
    bo = await register(db, settings, event, "Bo")
    await register(db, settings, event, "Chen")
    service = RegistrationService(db, settings)
    await service.cancel(await service.by_token(ana.token))
    (await service.by_token(bo.token)).offer_expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    await db.commit()
    return event


async def test_expire_offers_command_passes_overdue_seats_on(db, organiser, settings, monkeypatch):
    import asyncio

    from click.testing import CliRunner

    from events_app.cli import main

    await arrange_overdue_offer(db, organiser, settings)
    monkeypatch.setenv("EVENTS_DATABASE_URL", settings.database_url)
    result = await asyncio.to_thread(CliRunner().invoke, main, ["expire-offers"])
    assert result.exit_code == 0, result.output
    assert "Expired offers in 1 event(s)." in result.output
    assert await statuses(db) == {"Ana": "cancelled", "Bo": "cancelled", "Chen": "offered"}


async def test_the_worker_passes_overdue_offers_on_without_anyone_running_a_command(db, organiser, settings,
                                                                                     smtp_server):
    import asyncio

    from events_app.notify.worker import run_worker

    event = await arrange_overdue_offer(db, organiser, settings)

    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, poll_seconds=0.05, stop=stop))
    try:
        for _ in range(100):
            if any("offered to you" in str(m["Subject"]) for m in smtp_server.to("chen@example.org")):
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await worker
    assert await statuses(db) == {"Ana": "cancelled", "Bo": "cancelled", "Chen": "offered"}
    assert [m["Subject"] for m in smtp_server.to("chen@example.org")][-1] == f"A seat is offered to you: {event.title}"
