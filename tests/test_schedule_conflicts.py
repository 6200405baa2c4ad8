"""Every timetable conflict rule, in the service and through the API and the HTML editor."""

from __future__ import annotations

import pytest

from events_app.core.validation import ValidationFailed
from events_app.schedule.conflicts import event_problems
from events_app.schedule.services import ScheduleConflict, TalkService
from events_app.speakers.models import Invitation
from tests.conftest import make_account
from tests.schedule_support import conference, person, room, schedule_session, sign_in, submit, talk


async def test_room_booked_twice_at_the_same_time_is_refused_naming_both_talks(db, organiser):
    event = await conference(db, organiser)
    hall = await room(db, "Hall A")
    await talk(db, event, "Zeolites at scale", "2030-03-04T10:00", "2030-03-04T10:30", room=hall)
    with pytest.raises(ScheduleConflict) as caught:
        await talk(db, event, "Metal–organic frameworks", "2030-03-04T10:15", "2030-03-04T10:45", room=hall)
    await db.rollback()
    message = caught.value.message
    assert "Hall A" in message and "Zeolites at scale" in message and "Metal–organic frameworks" in message
    assert [p.rule for p in caught.value.problems] == ["room"]


async def test_back_to_back_talks_in_one_room_do_not_clash(db, organiser):
    event = await conference(db, organiser)
    hall = await room(db, "Hall A")
    await talk(db, event, "First", "2030-03-04T10:00", "2030-03-04T10:30", room=hall)
    await talk(db, event, "Second", "2030-03-04T10:30", "2030-03-04T11:00", room=hall)
    assert await event_problems(db, event) == []


async def test_room_clash_is_found_across_two_events_in_the_same_room(db, organiser):
    first = await conference(db, organiser, title="Symposium A")
    second = await conference(db, organiser, title="Workshop B", kind="workshop")
    hall = await room(db, "Hall A")
    await talk(db, first, "Opening of A", "2030-03-05T09:00", "2030-03-05T10:00", room=hall)
    with pytest.raises(ScheduleConflict) as caught:
        await talk(db, second, "Opening of B", "2030-03-05T09:30", "2030-03-05T10:30", room=hall)
    await db.rollback()
    assert "Symposium A" in caught.value.message and "Workshop B" in caught.value.message


async def test_talk_in_another_session_s_room_clashes_but_not_inside_its_own_session(db, organiser):
    event = await conference(db, organiser)
    hall = await room(db, "Hall A")
    plenary = await schedule_session(db, event, "Plenary I", "2030-03-04T09:00", "2030-03-04T12:00", room=hall)
    # inside its own session, in the session's room: fine
    await talk(db, event, "Keynote", "2030-03-04T09:00", "2030-03-04T10:00", session=plenary)
    with pytest.raises(ScheduleConflict) as caught:
        await talk(db, event, "Stray talk", "2030-03-04T11:00", "2030-03-04T11:30", room=hall)
    await db.rollback()
    assert "Plenary I" in caught.value.message and "Stray talk" in caught.value.message


async def test_speaker_in_two_places_at_once_across_events_is_refused(db, organiser):
    first = await conference(db, organiser, title="Symposium A")
    second = await conference(db, organiser, title="Workshop B", kind="workshop")
    wang = await person(db, "王小明", honorific="Prof.")
    await talk(db, first, "Catalysis in China", "2030-03-05T09:00", "2030-03-05T10:00", speakers=[wang],
               room=await room(db, "Hall A"))
    with pytest.raises(ScheduleConflict) as caught:
        await talk(db, second, "Second talk", "2030-03-05T09:30", "2030-03-05T10:00", speakers=[wang],
                   room=await room(db, "Hall B"))
    await db.rollback()
    assert "Prof. 王小明 is in two places at once" in caught.value.message
    assert "Catalysis in China" in caught.value.message and "Second talk" in caught.value.message


async def test_chairperson_cannot_speak_elsewhere_during_their_session_but_may_speak_in_it(db, organiser):
    event = await conference(db, organiser)
    chair = await person(db, "José Álvarez")
    session = await schedule_session(db, event, "Parallel 2B", "2030-03-04T14:00", "2030-03-04T16:00",
                                     room=await room(db, "Hall B"), chairs=[chair])
    await talk(db, event, "Chair's own talk", "2030-03-04T14:00", "2030-03-04T14:30", speakers=[chair], session=session)
    with pytest.raises(ScheduleConflict) as caught:
        await talk(db, event, "Elsewhere", "2030-03-04T15:00", "2030-03-04T15:30", speakers=[chair],
                   room=await room(db, "Hall C"))
    await db.rollback()
    assert "José Álvarez" in caught.value.message and "Parallel 2B" in caught.value.message


async def test_double_booking_chair_of_two_overlapping_sessions_is_refused(db, organiser):
    event = await conference(db, organiser)
    chair = await person(db, "Ana Souza")
    await schedule_session(db, event, "Session A", "2030-03-04T09:00", "2030-03-04T10:00", chairs=[chair])
    with pytest.raises(ScheduleConflict):
        await schedule_session(db, event, "Session B", "2030-03-04T09:30", "2030-03-04T10:30", chairs=[chair])
    await db.rollback()


async def test_organiser_may_override_a_double_booking_and_it_stays_listed(db, organiser):
    event = await conference(db, organiser)
    hall = await room(db, "Hall A")
    await talk(db, event, "Poster flash talks", "2030-03-04T10:00", "2030-03-04T11:00", room=hall)
    await talk(db, event, "Poster session", "2030-03-04T10:00", "2030-03-04T11:00", room=hall, override=True)
    problems = await event_problems(db, event)
    assert [p.rule for p in problems] == ["room"]
    assert "Poster flash talks" in problems[0].message and "Poster session" in problems[0].message


async def test_talk_outside_its_session_is_a_warning(db, organiser):
    event = await conference(db, organiser)
    session = await schedule_session(db, event, "Morning", "2030-03-04T09:00", "2030-03-04T10:00")
    await talk(db, event, "Overrunning", "2030-03-04T09:45", "2030-03-04T10:15", session=session)
    [problem] = await event_problems(db, event)
    assert problem.rule == "outside_session" and not problem.blocking
    assert "Overrunning" in problem.message and "Morning" in problem.message


async def test_talk_outside_the_event_s_days_is_refused(db, organiser):
    event = await conference(db, organiser)
    with pytest.raises(ValidationFailed) as caught:
        await TalkService(session=db).create_talk(
            event, {"title": "Too late", "starts_at": "2030-03-07T10:00", "ends_at": "2030-03-07T11:00"})
    assert "starts_at" in caught.value.errors


async def test_speaker_scheduled_outside_the_dates_they_are_present_is_flagged(db, organiser):
    import datetime as dt

    event = await conference(db, organiser)
    speaker = await person(db, "Leila Haddad", email="leila@example.org")
    db.add(Invitation(event_id=event.id, person_id=speaker.id, kind="talk", status="accepted", token_hash="x" * 64,
                      title="", abstract="", invited_at=dt.datetime.now(dt.UTC), accommodation="",
                      needs_visa_letter=False, arrival_date=dt.date(2030, 3, 5), departure_date=dt.date(2030, 3, 6)))
    await db.commit()
    await talk(db, event, "Too early for Leila", "2030-03-04T10:00", "2030-03-04T10:30", speakers=[speaker])
    await talk(db, event, "Leila on time", "2030-03-05T10:00", "2030-03-05T10:30", speakers=[speaker])
    [problem] = await event_problems(db, event)
    assert problem.rule == "outside_presence"
    assert "Too early for Leila" in problem.message and "2030-03-05" in problem.message


async def test_moving_a_talk_onto_a_busy_room_is_refused_and_leaves_it_in_place(db, organiser):
    event = await conference(db, organiser)
    hall = await room(db, "Hall A")
    await talk(db, event, "Fixed", "2030-03-04T10:00", "2030-03-04T11:00", room=hall)
    mover = await talk(db, event, "Mover", "2030-03-04T12:00", "2030-03-04T13:00", room=hall)
    mover_id = mover.id
    with pytest.raises(ScheduleConflict):
        await TalkService(session=db).update_talk(
            event, mover, {"starts_at": "2030-03-04T10:30", "ends_at": "2030-03-04T11:30"})
    await db.rollback()
    reloaded = await TalkService(session=db).by_id(mover_id)
    assert reloaded.starts_at.hour == 4  # 12:00 in Shanghai is 04:00 UTC


async def test_api_answers_409_naming_both_items_unless_overridden(client, db, organiser, token):
    event = await conference(db, organiser)
    hall = await room(db, "Hall A")
    await talk(db, event, "Existing talk", "2030-03-04T10:00", "2030-03-04T11:00", room=hall)
    headers = {"Authorization": f"Bearer {token}"}
    body = {"title": "New talk", "starts_at": "2030-03-04T10:30:00+08:00", "ends_at": "2030-03-04T11:30:00+08:00",
            "room_id": hall.id}
    refused = await client.post(f"/api/events/{event.slug}/talks", json=body, headers=headers)
    assert refused.status_code == 409, refused.text
    assert "Existing talk" in refused.json()["detail"] and "New talk" in refused.json()["detail"]
    accepted = await client.post(f"/api/events/{event.slug}/talks?override=true", json=body, headers=headers)
    assert accepted.status_code == 201
    assert accepted.json()["room"] == "Hall A"


async def test_html_editor_shows_the_clash_and_asks_before_saving(client, db, organiser):
    event = await conference(db, organiser)
    hall = await room(db, "Hall A")
    await talk(db, event, "Existing talk", "2030-03-04T10:00", "2030-03-04T11:00", room=hall)
    await sign_in(client, organiser.email)
    form = {"title": "New talk", "kind": "talk", "starts_at": "2030-03-04T10:30", "ends_at": "2030-03-04T11:30",
            "room_id": str(hall.id), "new_room": "", "session_id": "", "back": "timetable"}
    url = f"/organiser/events/{event.slug}/talks/new"
    asked = await submit(client, url, form)
    assert asked.status_code == 409
    assert "Existing talk" in asked.text and 'name="override"' in asked.text
    saved = await submit(client, url, {**form, "override": "1"})
    assert saved.status_code in (302, 303) and saved.headers["location"].endswith("/timetable")
    timetable = await client.get(f"/organiser/events/{event.slug}/timetable")
    assert "Room Hall A is booked twice" in timetable.text


async def test_only_managers_edit_the_timetable(client, db, organiser):
    event = await conference(db, organiser)
    other = await make_account(db, "other@example.org")
    await sign_in(client, other.email)
    assert (await client.get(f"/organiser/events/{event.slug}/timetable")).status_code == 403


async def test_two_organisers_booking_one_room_at_once_cannot_both_succeed(db, organiser, settings, is_postgres):
    import asyncio

    from sqlalchemy.ext.asyncio import async_sessionmaker

    from events_app.db import create_engine

    if not is_postgres:
        pytest.skip("SQLite has a single writer; the advisory lock is PostgreSQL's")
    event = await conference(db, organiser)
    hall = await room(db, "Hall A")
    engine = create_engine(settings, pooled=False)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    try:
        async with maker() as first, maker() as second:
            event_first = await first.merge(event, load=True)
            event_second = await second.merge(event, load=True)
            data = {"starts_at": "2030-03-04T10:00", "ends_at": "2030-03-04T11:00", "room_id": hall.id}
            await TalkService(session=first).create_talk(event_first, {"title": "First", **data})
            racing = asyncio.create_task(TalkService(session=second).create_talk(event_second, {"title": "Second", **data}))
            await asyncio.sleep(0.3)
            assert not racing.done()  # waits for the first organiser's transaction
            await first.commit()
            with pytest.raises(ScheduleConflict) as caught:
                await racing
            assert "First" in caught.value.message
            await second.rollback()
    finally:
        await engine.dispose()


async def test_api_refuses_a_chairperson_in_two_sessions_at_once(client, db, organiser, token):
    event = await conference(db, organiser)
    chair = await person(db, "Ana Souza")
    headers = {"Authorization": f"Bearer {token}"}
    made = await client.post("/api/rooms", json={"venue": "Main Building", "name": "Hall A", "capacity": 80},
                             headers=headers)
    assert made.status_code == 201 and made.json()["venue"] == "Main Building"
    first = {"title": "Session A", "starts_at": "2030-03-04T09:00:00+08:00", "ends_at": "2030-03-04T10:00:00+08:00",
             "room_id": made.json()["id"], "chair_ids": [chair.id]}
    created = await client.post(f"/api/events/{event.slug}/sessions", json=first, headers=headers)
    assert created.status_code == 201 and created.json()["room"] == "Hall A"
    assert created.json()["chairs"][0]["full_name"] == "Ana Souza"
    second = {**first, "title": "Session B", "room_id": None, "starts_at": "2030-03-04T09:30:00+08:00",
              "ends_at": "2030-03-04T10:30:00+08:00"}
    refused = await client.post(f"/api/events/{event.slug}/sessions", json=second, headers=headers)
    assert refused.status_code == 409
    assert "Ana Souza" in refused.json()["detail"] and "Session A" in refused.json()["detail"]
    listed = await client.get(f"/api/events/{event.slug}/sessions")
    assert [s["title"] for s in listed.json()] == ["Session A"]
    assert "email" not in listed.json()[0]["chairs"][0]


async def test_a_room_typed_by_name_is_the_venue_s_room_so_clashes_are_found(db, organiser):
    from sqlalchemy import func, select

    from events_app.schedule.models import Room

    event = await conference(db, organiser)
    talks = TalkService(session=db)
    first = await talks.create_talk(event, {"title": "One", "starts_at": "2030-03-04T10:00",
                                            "ends_at": "2030-03-04T11:00", "room": "Room 201"})
    await db.commit()
    assert first.room_name == "Room 201" and first.room_id is not None
    with pytest.raises(ScheduleConflict):
        await talks.create_talk(event, {"title": "Two", "starts_at": "2030-03-04T10:30",
                                        "ends_at": "2030-03-04T11:30", "room": "Room 201"})
    await db.rollback()
    assert await db.scalar(select(func.count()).select_from(Room)) == 1
