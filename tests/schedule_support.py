"""Builders shared by the schedule and speaker tests: everything goes through the services."""

from __future__ import annotations

from events_app.schedule.services import RoomService, ScheduleSessionService, TalkService
from events_app.speakers.services import PersonService
from tests.conftest import make_event


async def conference(db, organiser, **overrides):
    data = {"title": "Symposium on Catalysis", "kind": "conference", "starts_at": "2030-03-04T08:00",
            "ends_at": "2030-03-06T18:00", "timezone": "Asia/Shanghai", "venue_name": "Main Building"}
    data.update(overrides)
    return await make_event(db, organiser, **data)


async def room(db, name: str, venue: str = "Main Building", capacity: int | None = 100):
    created = await RoomService(session=db).create_room({"venue": venue, "name": name, "capacity": capacity})
    await db.commit()
    return created


async def person(db, name: str, *, creator=None, **fields):
    created = await PersonService(session=db).create_person({"full_name": name, **fields}, creator=creator)
    await db.commit()
    return created


async def talk(db, event, title: str, starts: str, ends: str, *, room=None, speakers=(), session=None,
               override: bool = False, kind: str = "talk"):
    data = {"title": title, "starts_at": starts, "ends_at": ends, "kind": kind,
            "speaker_ids": [p.id for p in speakers]}
    if room is not None:
        data["room_id"] = room.id
    if session is not None:
        data["session_id"] = session.id
    created = await TalkService(session=db).create_talk(event, data, override=override)
    await db.commit()
    return created


async def schedule_session(db, event, title: str, starts: str, ends: str, *, room=None, chairs=(), override=False):
    data = {"title": title, "starts_at": starts, "ends_at": ends, "room_id": room.id if room else "",
            "chair_ids": [p.id for p in chairs], "track": ""}
    created = await ScheduleSessionService(session=db).create_session(event, data, override=override)
    await db.commit()
    return created


async def sign_in(client, email: str) -> None:
    """Like conftest.login, but without following the redirect (Litestar's test client follows by default)."""
    from tests.conftest import TEST_PASSWORD, post_form

    response = await post_form(client, "/login", {"email": email, "password": TEST_PASSWORD, "next": "/organiser"},
                               follow_redirects=False)
    assert response.status_code in (302, 303), response.text


async def submit(client, page_url: str, data: dict, *, action: str | None = None, files=None):
    """Posts a form without following the redirect, so tests see the 303 or the re-rendered form."""
    from tests.conftest import post_form

    return await post_form(client, page_url, data, action=action, files=files, follow_redirects=False)
