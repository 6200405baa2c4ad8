"""A new talk starts at the first free slot of the chosen room and day, for the default talk length."""

from __future__ import annotations

import datetime as dt
import re

from events_app.schedule.services import DEFAULT_TALK_MINUTES, TalkService
from tests.schedule_support import conference, room, sign_in, talk


def field_value(page: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', page)
    assert match, name
    return match.group(1)


async def test_first_free_slot_skips_the_rooms_talks_of_that_day(db, organiser):
    event = await conference(db, organiser)
    hall = await room(db, "Hall A")
    await room(db, "Hall B")
    await talk(db, event, "Opening", "2030-03-05T08:00", "2030-03-05T09:00", room=hall)
    await talk(db, event, "Keynote", "2030-03-05T09:00", "2030-03-05T09:45", room=hall)
    await talk(db, event, "Late one", "2030-03-05T11:00", "2030-03-05T12:00", room=hall)
    service = TalkService(session=db)
    starts, ends = await service.first_free_slot(event, room="Hall A", day=dt.date(2030, 3, 5))
    assert starts == dt.datetime(2030, 3, 5, 1, 45, tzinfo=dt.UTC)  # 09:45 in Shanghai
    assert ends - starts == dt.timedelta(minutes=DEFAULT_TALK_MINUTES)
    # Another room, or the first day, is free from the event's daily start.
    starts, _ends = await service.first_free_slot(event, room="Hall B", day=dt.date(2030, 3, 5))
    assert starts == dt.datetime(2030, 3, 5, 0, 0, tzinfo=dt.UTC)
    starts, _ends = await service.first_free_slot(event)
    assert starts == event.starts_at


async def test_the_new_talk_form_is_filled_from_the_chosen_room_and_day(client, db, organiser):
    event = await conference(db, organiser)
    hall = await room(db, "Hall A")
    await talk(db, event, "Opening", "2030-03-06T08:00", "2030-03-06T08:30", room=hall)
    await sign_in(client, organiser.email)
    url = f"/organiser/events/{event.slug}/talks/new"
    page = (await client.get(url, params={"room": "Hall A", "day": "2030-03-06"})).text
    assert field_value(page, "starts_at") == "2030-03-06T08:30"
    assert field_value(page, "ends_at") == "2030-03-06T09:00"
    assert f'<option value="{hall.id}" selected>Hall A</option>' in page  # the room control chose it
    # No choice: the event's start, for one default length (not the whole event span).
    page = (await client.get(url)).text
    assert field_value(page, "starts_at") == "2030-03-04T08:00"
    assert field_value(page, "ends_at") == "2030-03-04T08:30"
    assert (await client.get(url, params={"day": "not-a-day"})).status_code == 200


async def test_the_new_talk_form_uses_the_events_usual_talk_length(client, db, organiser):
    from events_app.events.services import EventService

    event = await conference(db, organiser)
    hall = await room(db, "Hall A")
    await talk(db, event, "Opening", "2030-03-05T08:00", "2030-03-05T08:40", room=hall)
    await EventService(session=db).update_event(event, {"default_talk_minutes": 45})
    await db.commit()
    starts, ends = await TalkService(session=db).first_free_slot(event, room="Hall A", day=dt.date(2030, 3, 5))
    assert ends - starts == dt.timedelta(minutes=45)
    await sign_in(client, organiser.email)
    page = (await client.get(f"/organiser/events/{event.slug}/talks/new",
                             params={"room": "Hall A", "day": "2030-03-05"})).text
    assert field_value(page, "starts_at") == "2030-03-05T08:40"
    assert field_value(page, "ends_at") == "2030-03-05T09:25"
    # The organiser sets it on the event's form.
    from tests.schedule_support import submit

    edit = f"/organiser/events/{event.slug}/edit"
    form = (await client.get(edit)).text
    assert field_value(form, "default_talk_minutes") == "45"
    values = {"title": event.title, "kind": "conference", "starts_at": "2030-03-04T08:00",
              "ends_at": "2030-03-06T18:00", "timezone": "Asia/Shanghai", "venue_name": "Main Building",
              "default_talk_minutes": "1000"}
    refused = await submit(client, edit, values)
    assert refused.status_code == 400 and "Enter a number of minutes from 5 to 480." in refused.text
    assert field_value(refused.text, "default_talk_minutes") == "1000"  # the input is kept
    saved = await submit(client, edit, {**values, "default_talk_minutes": "20"})
    assert saved.status_code in (302, 303), saved.text
    page = (await client.get(f"/organiser/events/{event.slug}/talks/new",
                             params={"room": "Hall A", "day": "2030-03-05"})).text
    assert field_value(page, "ends_at") == "2030-03-05T09:00"
