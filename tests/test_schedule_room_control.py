"""One room control for the talk and session forms: the venue's rooms, or "New room…" with a name, which adds
the room to the event's venue on save (without JavaScript too); both forms store room_id."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from events_app.schedule.models import Room, ScheduleSession, Talk
from tests.schedule_support import conference, room, sign_in, submit

TALK = {"title": "New talk", "kind": "talk", "starts_at": "2030-03-04T10:00", "ends_at": "2030-03-04T10:30",
        "session_id": "", "back": "timetable"}
SESSION = {"title": "Plenary I", "track": "", "starts_at": "2030-03-04T09:00", "ends_at": "2030-03-04T12:00"}


def room_options(page: str) -> list[str]:
    select_html = page.split('<select id="f-room_id"', 1)[1].split("</select>", 1)[0]
    return [re.sub(r"\s+", " ", text).strip() for text in re.findall(r"<option[^>]*>([^<]*)</option>", select_html)]


async def test_both_forms_offer_the_venues_rooms_and_a_new_room(client, db, organiser):
    event = await conference(db, organiser)
    await room(db, "Hall A")
    await room(db, "Elsewhere", venue="Another Building")
    await sign_in(client, organiser.email)
    for url, blank in ((f"/organiser/events/{event.slug}/talks/new", "None of its own (the session's room)"),
                       (f"/organiser/events/{event.slug}/sessions/new", "No room")):
        page = (await client.get(url)).text
        assert room_options(page) == [blank, "Hall A", "New room…"], url
        assert 'name="new_room"' in page and "data-room-picker" in page and "room-picker.js" in page, url
        assert 'id="f-room"' not in page  # no free-text room any more


async def test_a_new_room_typed_on_the_talk_form_is_added_to_the_venue(client, db, organiser):
    event = await conference(db, organiser)
    await sign_in(client, organiser.email)
    url = f"/organiser/events/{event.slug}/talks/new"
    saved = await submit(client, url, {**TALK, "room_id": "new", "new_room": "Salle Ørsted 会议室"})
    assert saved.status_code in (302, 303), saved.text
    created = await db.scalar(select(Room).where(Room.name == "Salle Ørsted 会议室"))
    assert created is not None and created.venue.name == "Main Building"
    placed = await db.scalar(select(Talk).execution_options(populate_existing=True))
    assert placed.room_id == created.id and placed.room == "Salle Ørsted 会议室"
    # The same name again (here without choosing "New room…", as a browser without JavaScript may send it)
    # is that room, not a second one.
    again = await submit(client, url, {**TALK, "title": "Second", "starts_at": "2030-03-04T11:00",
                                       "ends_at": "2030-03-04T11:30", "room_id": "", "new_room": "Salle Ørsted 会议室"})
    assert again.status_code in (302, 303), again.text
    assert await db.scalar(select(func.count()).select_from(Room)) == 1
    # Its edit form has the room chosen in the list.
    page = (await client.get(f"/organiser/events/{event.slug}/talks/{placed.id}/edit")).text
    assert f'<option value="{created.id}" selected>Salle Ørsted 会议室</option>' in page


async def test_a_new_room_typed_on_the_session_form_is_stored_as_its_room(client, db, organiser):
    event = await conference(db, organiser)
    hall = await room(db, "Hall A")
    await sign_in(client, organiser.email)
    url = f"/organiser/events/{event.slug}/sessions/new"
    saved = await submit(client, url, {**SESSION, "room_id": "new", "new_room": "Room 204"})
    assert saved.status_code in (302, 303), saved.text
    session = await db.scalar(select(ScheduleSession))
    created = await db.scalar(select(Room).where(Room.name == "Room 204"))
    assert session.room_id == created.id and created.venue_id == hall.venue_id
    edit = f"/organiser/events/{event.slug}/sessions/{session.id}/edit"
    moved = await submit(client, edit, {**SESSION, "room_id": str(hall.id), "new_room": ""})
    assert moved.status_code in (302, 303), moved.text
    assert (await db.scalar(select(ScheduleSession).execution_options(populate_existing=True))).room_id == hall.id


async def test_a_new_room_needs_a_name_and_a_bad_choice_is_named(client, db, organiser):
    event = await conference(db, organiser)
    await sign_in(client, organiser.email)
    for url, data in ((f"/organiser/events/{event.slug}/talks/new", TALK),
                      (f"/organiser/events/{event.slug}/sessions/new", SESSION)):
        nameless = await submit(client, url, {**data, "room_id": "new", "new_room": "  "})
        assert nameless.status_code == 400 and "Type the name of the new room." in nameless.text, url
        assert 'id="e-new_room"' in nameless.text
        assert '<option value="new" selected>' in nameless.text  # the choice is kept
        for bad in ("abc", "999999", "-1"):
            refused = await submit(client, url, {**data, "room_id": bad, "new_room": ""})
            assert refused.status_code == 400 and 'id="e-room_id"' in refused.text, (url, bad)
        too_long = await submit(client, url, {**data, "room_id": "new", "new_room": "R" * 201})
        assert too_long.status_code == 400 and 'id="e-new_room"' in too_long.text
        escaped = await submit(client, url, {**data, "room_id": "new", "new_room": "<b>Hall</b>", "title": ""})
        assert escaped.status_code == 400 and "<b>Hall</b>" not in escaped.text and "&lt;b&gt;Hall" in escaped.text
    assert await db.scalar(select(func.count()).select_from(Room)) == 0


async def test_a_new_rooms_name_is_one_clean_line(client, db, organiser):
    event = await conference(db, organiser)
    await sign_in(client, organiser.email)
    saved = await submit(client, f"/organiser/events/{event.slug}/sessions/new",
                         {**SESSION, "room_id": "new", "new_room": " Hall\x07B\nAnnex "})
    assert saved.status_code in (302, 303), saved.text
    assert [r.name for r in await db.scalars(select(Room))] == ["HallB Annex"]
