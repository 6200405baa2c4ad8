"""Unscheduled talks: a talk with no time yet is the organisers' to place; the public never sees it, calendars
have no VEVENT for it (and announce a talk that loses its time as cancelled), and every reader copes with it."""

from __future__ import annotations

import datetime as dt
import json

import icalendar
import pytest

from events_app.core.validation import ValidationFailed
from events_app.events.services import EventService
from events_app.schedule.conflicts import event_problems
from events_app.schedule.services import ProgrammeVersionService, TalkService
from tests.conftest import make_token
from tests.schedule_support import conference, person, room, sign_in, submit, talk

UTC = dt.UTC


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def vevents(body: bytes) -> dict[str, icalendar.Event]:
    return {str(c["UID"]): c for c in icalendar.Calendar.from_ical(body).walk("VEVENT")}


async def unscheduled(db, event, title: str = "Single-atom catalysts", *, speakers=(), abstract: str = "On sites."):
    created = await TalkService(session=db).create_unscheduled(event.id, title, abstract, [p.id for p in speakers])
    await db.commit()
    return created


async def test_create_unscheduled_makes_a_talk_with_no_time_and_its_speakers(db, organiser):
    event = await conference(db, organiser)
    speaker = await person(db, "李娜", affiliation="Tsinghua University")
    created = await unscheduled(db, event, speakers=[speaker])
    assert created.starts_at is None and created.ends_at is None and not created.is_scheduled
    assert [link.person_id for link in created.speaker_links] == [speaker.id]
    assert created.abstract == "On sites."
    assert [t.id for t in await TalkService(session=db).unscheduled_talks(event)] == [created.id]
    with pytest.raises(ValidationFailed) as failed:
        await TalkService(session=db).create_unscheduled(event.id, "", "", [])
    assert "title" in failed.value.errors


async def test_a_talk_has_both_times_or_neither(db, organiser):
    event = await conference(db, organiser)
    talks = TalkService(session=db)
    with pytest.raises(ValidationFailed) as failed:
        await talks.create_talk(event, {"title": "Half", "starts_at": "2030-03-04T09:00", "ends_at": ""})
    assert set(failed.value.errors) == {"ends_at"}
    placed = await talk(db, event, "Placed", "2030-03-04T09:00", "2030-03-04T09:30")
    with pytest.raises(ValidationFailed) as failed:
        await talks.update_talk(event, placed, {"starts_at": None})
    assert set(failed.value.errors) == {"starts_at"}


async def test_unscheduled_talks_stay_off_the_public_programme_exports_and_event_page(client, db, organiser):
    event = await conference(db, organiser)
    speaker = await person(db, "Amélie Dupont")
    await talk(db, event, "Opening address", "2030-03-04T09:00", "2030-03-04T09:30")
    await unscheduled(db, event, "Hidden proposal", speakers=[speaker])
    for url in (f"/events/{event.slug}", f"/events/{event.slug}/programme", f"/events/{event.slug}/schedule.xml",
                f"/events/{event.slug}/schedule.json"):
        response = await client.get(url)
        assert response.status_code == 200, url
        assert "Opening address" in response.text, url
        assert "Hidden proposal" not in response.text, url
    frab = json.loads((await client.get(f"/events/{event.slug}/schedule.json")).content)
    rooms = frab["schedule"]["conference"]["days"][0]["rooms"]
    assert [t["title"] for talks in rooms.values() for t in talks] == ["Opening address"]
    # Their speaker is not announced on the event page either.
    assert "Amélie Dupont" not in (await client.get(f"/events/{event.slug}")).text


async def test_organisers_see_what_is_to_be_scheduled(client, db, organiser):
    event = await conference(db, organiser)
    await unscheduled(db, event, "Hidden proposal")
    await sign_in(client, organiser.email)
    timetable = (await client.get(f"/organiser/events/{event.slug}/timetable")).text
    section = timetable.split('id="unscheduled-heading"', 1)[1].split("</section>", 1)[0]
    assert "To be scheduled" in timetable and "Hidden proposal" in section
    manage = (await client.get(f"/organiser/events/{event.slug}")).text
    assert "Hidden proposal" in manage and "To be scheduled" in manage
    # Its edit form has empty times (saving it so keeps it unscheduled).
    created = (await TalkService(session=db).unscheduled_talks(event))[0]
    form = (await client.get(f"/organiser/events/{event.slug}/talks/{created.id}/edit")).text
    assert 'name="starts_at" type="datetime-local" value=""' in form


async def test_scheduling_from_the_timetable_uses_the_events_talk_length(client, db, organiser):
    event = await conference(db, organiser)
    await EventService(session=db).update_event(event, {"default_talk_minutes": 45})
    await db.commit()
    hall = await room(db, "Hall A")
    created = await unscheduled(db, event, "Hidden proposal")
    await sign_in(client, organiser.email)
    timetable = f"/organiser/events/{event.slug}/timetable"
    action = f"/organiser/events/{event.slug}/talks/{created.id}/schedule"
    response = await submit(client, timetable, {"day": "2030-03-05", "start": "10:15", "room_id": str(hall.id)},
                            action=action)
    assert response.status_code in (302, 303), response.text
    placed = await TalkService(session=db).by_id(created.id)
    assert placed.starts_at == dt.datetime(2030, 3, 5, 2, 15, tzinfo=UTC)  # 10:15 in Shanghai
    assert placed.ends_at - placed.starts_at == dt.timedelta(minutes=45)
    assert placed.room_id == hall.id
    assert "Hidden proposal" in (await client.get(f"/events/{event.slug}/programme")).text


async def test_scheduling_a_slip_or_a_clash_shows_the_talk_form_with_the_reason(client, db, organiser):
    event = await conference(db, organiser)
    hall = await room(db, "Hall A")
    await talk(db, event, "Keynote", "2030-03-05T10:00", "2030-03-05T11:00", room=hall)
    created = await unscheduled(db, event, "Hidden proposal")
    await sign_in(client, organiser.email)
    timetable = f"/organiser/events/{event.slug}/timetable"
    action = f"/organiser/events/{event.slug}/talks/{created.id}/schedule"
    bad = await submit(client, timetable, {"day": "2030-03-05", "start": "25:99"}, action=action)
    assert bad.status_code == 400 and "Enter a time" in bad.text and "Hidden proposal" in bad.text
    other_day = await submit(client, timetable, {"day": "2031-01-01", "start": "10:00"}, action=action)
    assert other_day.status_code == 400 and "Choose one of the event" in other_day.text
    clash = await submit(client, timetable, {"day": "2030-03-05", "start": "10:15", "room_id": str(hall.id)},
                         action=action)
    assert clash.status_code == 409 and "Keynote" in clash.text
    assert 'value="2030-03-05T10:15"' in clash.text  # the time asked for is kept on the form
    assert (await TalkService(session=db).by_id(created.id)).starts_at is None


async def test_calendars_have_no_vevent_for_an_unscheduled_talk(client, db, organiser):
    event = await conference(db, organiser)
    speaker = await person(db, "王小明", affiliation="Peking University")
    created = await unscheduled(db, event, speakers=[speaker])
    uid = f"talk-{created.id}@testserver.local"
    for url in (f"/events/{event.slug}.ics", f"/speakers/{speaker.id}.ics", "/calendar.ics"):
        response = await client.get(url)
        assert response.status_code == 200, url
        assert uid not in vevents(response.content), url
    event_vevent = vevents((await client.get(f"/events/{event.slug}.ics")).content)[f"event-{event.id}@testserver.local"]
    assert "王小明" not in str(event_vevent.get("DESCRIPTION", ""))


async def test_a_talk_that_loses_its_time_is_cancelled_in_calendars_and_comes_back_when_rescheduled(client, db, organiser):
    event = await conference(db, organiser)
    speaker = await person(db, "王小明")
    placed = await talk(db, event, "Moving target", "2030-03-05T10:00", "2030-03-05T10:30", speakers=[speaker])
    uid = f"talk-{placed.id}@testserver.local"
    live = vevents((await client.get(f"/events/{event.slug}.ics")).content)[uid]
    talks = TalkService(session=db)
    await talks.update_talk(event, await talks.by_id(placed.id), {"starts_at": None, "ends_at": None})
    await db.commit()
    for url in (f"/events/{event.slug}.ics", f"/speakers/{speaker.id}.ics"):
        gone = vevents((await client.get(url)).content)[uid]
        assert str(gone["STATUS"]) == "CANCELLED", url
        assert gone["SEQUENCE"] > live["SEQUENCE"]
        assert gone.start == dt.datetime(2030, 3, 5, 2, 0, tzinfo=UTC)  # the time calendars knew
    await talks.update_talk(event, await talks.by_id(placed.id),
                            {"starts_at": "2030-03-06T09:00", "ends_at": "2030-03-06T09:30"})
    await db.commit()
    body = (await client.get(f"/events/{event.slug}.ics")).content
    back = [c for c in icalendar.Calendar.from_ical(body).walk("VEVENT") if str(c["UID"]) == uid]
    assert len(back) == 1  # never two VEVENTs with one UID
    assert str(back[0].get("STATUS", "CONFIRMED")) != "CANCELLED"
    assert back[0]["SEQUENCE"] > gone["SEQUENCE"]
    # Deleting an unscheduled talk needs no further cancellation, and does not fail.
    again = await unscheduled(db, event, "Never placed")
    await talks.delete_talk(await talks.by_id(again.id))
    await db.commit()
    assert f"talk-{again.id}@testserver.local" not in vevents((await client.get(f"/events/{event.slug}.ics")).content)


async def test_the_api_shows_unscheduled_talks_to_managers_only_and_patch_schedules_them(client, db, organiser):
    event = await conference(db, organiser)
    token = await make_token(db, organiser)
    base = f"/api/events/{event.slug}/talks"
    created = await client.post(base, json={"title": "Proposal"}, headers=auth(token))
    assert created.status_code == 201, created.text
    assert created.json()["starts_at"] is None and created.json()["ends_at"] is None
    talk_id = created.json()["id"]
    assert [t["title"] for t in (await client.get(base)).json()] == []
    assert (await client.get(f"/api/events/{event.slug}")).json()["talks"] == []
    managed = (await client.get(base, headers=auth(token))).json()
    assert [(t["title"], t["starts_at"]) for t in managed] == [("Proposal", None)]
    half = await client.patch(f"{base}/{talk_id}", json={"starts_at": "2030-03-05T10:00:00"}, headers=auth(token))
    assert half.status_code == 422 and {e["field"] for e in half.json()["errors"]} == {"ends_at"}
    placed = await client.patch(f"{base}/{talk_id}", json={"starts_at": "2030-03-05T10:00:00", "ends_at": "2030-03-05T10:30:00"},
                                headers=auth(token))
    assert placed.status_code == 200 and placed.json()["starts_at"] == "2030-03-05T10:00:00+08:00"
    assert [t["title"] for t in (await client.get(base)).json()] == ["Proposal"]
    back = await client.patch(f"{base}/{talk_id}", json={"starts_at": None, "ends_at": None}, headers=auth(token))
    assert back.status_code == 200 and back.json()["starts_at"] is None
    assert (await client.get(base)).json() == []


async def test_published_versions_leave_out_unscheduled_talks_and_list_an_unscheduled_one_as_cancelled(client, db, organiser):
    event = await conference(db, organiser)
    placed = await talk(db, event, "Moving target", "2030-03-05T10:00", "2030-03-05T10:30")
    hidden = await unscheduled(db, event, "Hidden proposal")
    versions = ProgrammeVersionService(session=db)
    first = await versions.publish(event)
    await db.commit()
    assert set(first.snapshot) == {str(placed.id)}
    talks = TalkService(session=db)
    await talks.update_talk(event, await talks.by_id(placed.id), {"starts_at": "", "ends_at": ""})
    await versions.publish(event)
    await db.commit()
    page = (await client.get(f"/events/{event.slug}/programme")).text
    assert "<del>Moving target</del>" in page
    assert hidden.title not in page


async def test_speaker_pages_conflicts_and_event_dates_ignore_unscheduled_talks(client, db, organiser):
    event = await conference(db, organiser)
    speaker = await person(db, "Amélie Dupont")
    await unscheduled(db, event, "First proposal", speakers=[speaker])
    await unscheduled(db, event, "Second proposal", speakers=[speaker])
    assert await event_problems(db, event) == []  # one person in two talks, but neither at any time
    page = await client.get(f"/speakers/{speaker.id}")
    assert page.status_code == 200 and "First proposal" not in page.text
    # Moving the event's dates is not blocked by talks that have none.
    await EventService(session=db).update_event(event, {"starts_at": "2030-04-01T08:00", "ends_at": "2030-04-02T18:00"})
    await db.commit()
    board = await sign_in(client, organiser.email) or await client.get(f"/organiser/events/{event.slug}/speakers")
    assert board.status_code == 200 and "To be scheduled — First proposal" in board.text


async def test_the_events_talk_length_is_bounded_on_the_form_and_in_the_api(client, db, organiser):
    event = await conference(db, organiser)
    token = await make_token(db, organiser)
    for bad in (4, 481, "thirty"):
        response = await client.patch(f"/api/events/{event.slug}", json={"default_talk_minutes": bad},
                                      headers=auth(token))
        assert response.status_code in (400, 422), bad
        if response.status_code == 422:
            assert {e["field"] for e in response.json()["errors"]} == {"default_talk_minutes"}
    ok = await client.patch(f"/api/events/{event.slug}", json={"default_talk_minutes": 45}, headers=auth(token))
    assert ok.status_code == 200 and ok.json()["default_talk_minutes"] == 45
    await sign_in(client, organiser.email)
    form = (await client.get(f"/organiser/events/{event.slug}/edit")).text
    assert 'name="default_talk_minutes" type="number" value="45"' in form


async def test_only_the_events_managers_may_schedule_its_talks(client, db, organiser):
    from tests.conftest import make_account

    event = await conference(db, organiser)
    created = await unscheduled(db, event, "Hidden proposal")
    stranger = await make_account(db, "stranger@example.org")
    await db.commit()
    await sign_in(client, stranger.email)
    response = await submit(client, "/organiser", {"day": "2030-03-05", "start": "10:00"},
                            action=f"/organiser/events/{event.slug}/talks/{created.id}/schedule")
    assert response.status_code in (403, 404)
    assert (await TalkService(session=db).by_id(created.id)).starts_at is None


async def test_managers_lists_put_scheduled_talks_by_time_then_unscheduled_ones_on_every_database(client, db, organiser):
    # SQLite sorts NULL times first and PostgreSQL last: the lists spell the order out, so both agree.
    event = await conference(db, organiser)
    await unscheduled(db, event, "Still to be placed")
    await talk(db, event, "Afternoon", "2030-03-04T14:00", "2030-03-04T14:30")
    await talk(db, event, "Morning", "2030-03-04T09:00", "2030-03-04T09:30")
    token = await make_token(db, organiser)
    listed = (await client.get(f"/api/events/{event.slug}/talks", headers=auth(token))).json()
    assert [t["title"] for t in listed] == ["Morning", "Afternoon", "Still to be placed"]
    detail = (await client.get(f"/api/events/{event.slug}", headers=auth(token))).json()
    assert [t["title"] for t in detail["talks"]] == ["Morning", "Afternoon", "Still to be placed"]
