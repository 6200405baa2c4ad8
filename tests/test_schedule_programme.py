"""The public programme: grid by room and time, time zones, versions and changes, cheap conditional requests."""

from __future__ import annotations

from sqlalchemy import event as sa_event

from events_app.schedule.services import ProgrammeVersionService, TalkService
from tests.conftest import make_event
from tests.schedule_support import conference, person, room, schedule_session, talk


async def test_programme_shows_rooms_side_by_side_with_local_times(client, db, organiser):
    event = await conference(db, organiser)
    hall_a, hall_b = await room(db, "Hall A"), await room(db, "Hall B")
    wang = await person(db, "王小明", honorific="Prof.", email="wang@example.cn")
    plenary = await schedule_session(db, event, "Parallel 1A", "2030-03-04T09:00", "2030-03-04T12:00", room=hall_a,
                                     chairs=[await person(db, "José Álvarez")])
    await talk(db, event, "Zeolites", "2030-03-04T09:00", "2030-03-04T09:30", session=plenary, speakers=[wang])
    await talk(db, event, "Enzymes", "2030-03-04T09:00", "2030-03-04T09:45", room=hall_b)
    await talk(db, event, "Coffee", "2030-03-04T10:00", "2030-03-04T10:30", kind="break")
    page = await client.get(f"/events/{event.slug}/programme")
    assert page.status_code == 200
    html = page.text
    assert "Hall A" in html and "Hall B" in html
    assert "09:00–09:30" in html and "09:00–09:45" in html  # Asia/Shanghai wall times, not UTC
    assert "Prof. 王小明" in html and "wang@example.cn" not in html
    assert "Parallel 1A" in html and "José Álvarez" in html
    assert 'class="slot break' in html
    assert "grid-column: 2 / -1" in html and ">Other<" not in html  # a room-less break spans every room
    assert "grid-column: 2" in html and "grid-column: 3" in html  # two rooms, two columns
    assert '/static/schedule.css' in html
    stylesheet = await client.get("/static/schedule.css")
    assert "@media print" in stylesheet.text and "@media (max-width" in stylesheet.text
    # exports are linked from the page, at stable addresses
    assert f'href="/events/{event.slug}/schedule.xml"' in html and f'href="/events/{event.slug}/schedule.json"' in html
    # the event page links to the programme
    assert f'/events/{event.slug}/programme' in (await client.get(f"/events/{event.slug}")).text


async def test_draft_event_has_no_public_programme(client, db, organiser):
    event = await make_event(db, organiser, publish=False)
    for path in ("programme", "schedule.xml", "schedule.json"):
        assert (await client.get(f"/events/{event.slug}/{path}")).status_code == 404
    assert (await client.get("/events/no-such-event/programme")).status_code == 404


async def test_talk_late_in_the_evening_stays_on_its_local_day_across_a_dst_change(client, db, organiser):
    # Los Angeles moves to summer time on 10 March 2030: the offsets differ between the days.
    event = await conference(db, organiser, timezone="America/Los_Angeles", starts_at="2030-03-09T08:00",
                             ends_at="2030-03-11T23:59")
    await talk(db, event, "Late keynote", "2030-03-09T23:00", "2030-03-09T23:45")  # 07:00 UTC on the 10th
    await talk(db, event, "Sunday morning", "2030-03-10T09:00", "2030-03-10T09:30")
    data = (await client.get(f"/events/{event.slug}/schedule.json")).json()
    days = data["schedule"]["conference"]["days"]
    assert [d["date"] for d in days] == ["2030-03-09", "2030-03-10"]
    [late] = [t for talks in days[0]["rooms"].values() for t in talks]
    assert late["title"] == "Late keynote" and late["date"] == "2030-03-09T23:00:00-08:00" and late["start"] == "23:00"
    [sunday] = [t for talks in days[1]["rooms"].values() for t in talks]
    assert sunday["date"] == "2030-03-10T09:00:00-07:00"
    html = (await client.get(f"/events/{event.slug}/programme")).text
    assert html.index("Late keynote") < html.index('id="day-2"') < html.index("Sunday morning")
    assert "23:00–23:45" in html


async def test_conditional_request_is_answered_304_until_the_programme_changes(client, db, organiser):
    event = await conference(db, organiser)
    moving = await talk(db, event, "Moving talk", "2030-03-04T10:00", "2030-03-04T10:30")
    for path in ("programme", "schedule.xml", "schedule.json"):
        url = f"/events/{event.slug}/{path}"
        first = await client.get(url)
        etag = first.headers["etag"]
        again = await client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    before = {p: (await client.get(f"/events/{event.slug}/{p}")).headers["etag"] for p in ("programme", "schedule.xml")}
    await TalkService(session=db).update_talk(event, moving, {"starts_at": "2030-03-04T11:00", "ends_at": "2030-03-04T11:30"})
    await db.commit()
    for path, etag in before.items():
        changed = await client.get(f"/events/{event.slug}/{path}", headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag
        assert "11:00" in changed.text


async def test_renaming_a_speaker_changes_the_programme_etag(client, db, organiser):
    from events_app.speakers.services import PersonService

    event = await conference(db, organiser)
    li = await person(db, "Li Wei")
    await talk(db, event, "Talk", "2030-03-04T10:00", "2030-03-04T10:30", speakers=[li])
    etag = (await client.get(f"/events/{event.slug}/schedule.xml")).headers["etag"]
    await PersonService(session=db).update_person(li, {"full_name": "李伟"})
    await db.commit()
    fresh = await client.get(f"/events/{event.slug}/schedule.xml", headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and "李伟" in fresh.text


async def test_published_version_tells_attendees_what_moved_was_added_or_cancelled(client, db, organiser):
    event = await conference(db, organiser)
    hall_a, hall_b = await room(db, "Hall A"), await room(db, "Hall B")
    stays = await talk(db, event, "Unchanged talk", "2030-03-04T09:00", "2030-03-04T09:30", room=hall_a)
    moves = await talk(db, event, "Moved talk", "2030-03-04T10:00", "2030-03-04T10:30", room=hall_a)
    goes = await talk(db, event, "Cancelled talk", "2030-03-04T11:00", "2030-03-04T11:30", room=hall_a)
    versions, talks = ProgrammeVersionService(session=db), TalkService(session=db)
    await versions.publish(event, note="First programme")
    await db.commit()
    page = (await client.get(f"/events/{event.slug}/programme")).text
    assert "Version 1" in page and "Changed since" not in page

    await talks.update_talk(event, moves, {"starts_at": "2030-03-04T14:00", "ends_at": "2030-03-04T14:30",
                                           "room_id": hall_b.id})
    await talks.delete_talk(goes)
    await talk(db, event, "New talk", "2030-03-05T09:00", "2030-03-05T09:30", room=hall_b)
    await versions.publish(event, note="Room change after lunch")
    await db.commit()
    page = (await client.get(f"/events/{event.slug}/programme")).text
    assert "Changed since version 1" in page and "Room change after lunch" in page
    changes = page[page.index('id="changes-title"'):page.index("</section>", page.index('id="changes-title"'))]
    # Dates in the reader's locale (en-GB; zh below), not ISO.
    assert "Moved talk" in changes and "was 4 Mar 2030 10:00, Hall A" in changes
    assert "New talk" in changes and "Cancelled talk" in changes
    assert "cancelled (4 Mar 2030 11:00, Hall A)" in changes and "2030-03-04" not in changes
    zh = (await client.get(f"/events/{event.slug}/programme", params={"lang": "zh"})).text
    assert "2030年3月4日 10:00, Hall A" in zh and "2030年3月4日 11:00" in zh and "2030-03-04 1" not in zh
    assert "Unchanged talk" not in changes
    assert stays.id  # still listed in the grid
    assert "Unchanged talk" in page


async def test_query_count_for_programme_and_exports_does_not_grow_with_talks(client, app, db, organiser):
    engine = app.state.db_config.get_engine()
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa_event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        small = await conference(db, organiser, title="Small meeting")
        big = await conference(db, organiser, title="Big meeting")
        hall_rooms = [await room(db, f"Room {i}") for i in range(5)]
        speakers = [await person(db, f"Speaker {i}") for i in range(10)]
        session = await schedule_session(db, big, "Session", "2030-03-04T08:00", "2030-03-04T23:00", room=hall_rooms[0],
                                         chairs=[speakers[0]])
        for i in range(5):
            await talk(db, small, f"Small {i}", f"2030-03-04T{9 + i:02d}:00", f"2030-03-04T{9 + i:02d}:30",
                       room=hall_rooms[1], speakers=[speakers[1]])
        for i in range(50):
            day, slot = divmod(i, 25)
            hour, half = divmod(slot, 2)
            await talk(db, big, f"Big {i}", f"2030-03-0{4 + day}T{8 + hour:02d}:{30 * half:02d}",
                       f"2030-03-0{4 + day}T{8 + hour:02d}:{30 * half + 25:02d}",
                       room=hall_rooms[2] if i % 2 else hall_rooms[3], speakers=[speakers[2 + i % 8]],
                       session=session if i < 2 else None, override=True)
        for path in ("programme", "schedule.xml", "schedule.json"):
            counts = []
            for event in (small, big):
                statements.clear()
                response = await client.get(f"/events/{event.slug}/{path}")
                assert response.status_code == 200
                counts.append(len(statements))
            assert counts[0] == counts[1], (path, counts)
            assert counts[1] <= 10, (path, counts)
            statements.clear()
            etag = response.headers["etag"]
            assert (await client.get(f"/events/{big.slug}/{path}", headers={"If-None-Match": etag})).status_code == 304
            assert len(statements) == 1  # the conditional request reads one row
    finally:
        sa_event.remove(engine.sync_engine, "before_cursor_execute", count)
