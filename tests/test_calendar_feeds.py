"""The public iCalendar feeds, read back with icalendar and with vobject (an independent parser)."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime

import icalendar
import vobject

from tests.conftest import make_event

UTC = dt.UTC


def parse_both(body: bytes) -> tuple[icalendar.Calendar, object]:
    return icalendar.Calendar.from_ical(body), vobject.readOne(body.decode("utf-8"))


def vevents_by_uid(calendar: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(component["UID"]): component for component in calendar.walk("VEVENT")}


def vobject_events(parsed) -> dict[str, object]:
    return {component.uid.value: component for component in parsed.vevent_list}


def in_days(days: int, hour: int = 10) -> str:
    day = dt.date.today() + dt.timedelta(days=days)
    return f"{day.isoformat()}T{hour:02d}:00"


async def add_speaker_talk(db, event, *, title="Talk one", starts="2030-03-05T10:00", ends="2030-03-05T10:30", **person):
    from events_app.schedule.services import TalkService
    from events_app.speakers.services import PersonService

    speaker = await PersonService(session=db).create_person(
        {"full_name": "王小明", "affiliation": "Peking University", **person}
    )
    talk = await TalkService(session=db).create_talk(
        event, {"title": title, "starts_at": starts, "ends_at": ends, "room": "Room 204", "speaker_ids": [speaker.id]}
    )
    await db.commit()
    return speaker, talk


async def test_feed_is_served_as_calendar_with_filename_and_caching_headers(client, db, organiser):
    await make_event(db, organiser)
    response = await client.get("/calendar.ics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="calendar.ics"'
    assert response.headers["etag"].startswith('"')
    assert response.headers["last-modified"].endswith("GMT")
    assert response.headers["cache-control"] == "public, max-age=3600"
    assert "set-cookie" not in response.headers  # publicly cacheable


async def test_calendar_properties_tell_clients_the_name_zone_and_refresh_interval(client, db, organiser):
    await make_event(db, organiser)
    body = (await client.get("/calendar.ics")).content
    calendar, parsed = parse_both(body)
    assert str(calendar["VERSION"]) == "2.0" and "PRODID" in calendar
    assert calendar.calendar_name == "International Programme"
    assert str(calendar["X-WR-CALNAME"]) == "International Programme"
    assert "X-WR-CALDESC" in calendar and "DESCRIPTION" in calendar
    assert str(calendar["X-WR-TIMEZONE"]) == "Asia/Shanghai"
    assert calendar.refresh_interval == dt.timedelta(hours=1)
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in body
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in body
    assert parsed.name == "VCALENDAR"


async def test_events_come_out_at_the_right_instants_in_their_own_zones(client, db, organiser):
    shanghai = await make_event(db, organiser, title="Beijing lecture", starts_at="2030-03-05T14:00",
                                ends_at="2030-03-05T15:30", timezone="Asia/Shanghai")
    new_york = await make_event(db, organiser, title="NY lecture", starts_at="2030-07-01T10:00",
                                ends_at="2030-07-01T11:30", timezone="America/New_York")
    # Europe switches to summer time on 2030-03-31: start in CET (UTC+1), end in CEST (UTC+2).
    berlin = await make_event(db, organiser, title="Berlin workshop", kind="workshop", starts_at="2030-03-30T10:00",
                              ends_at="2030-04-01T17:00", timezone="Europe/Berlin")
    body = (await client.get("/calendar.ics")).content
    calendar, parsed = parse_both(body)
    expected = {
        f"event-{shanghai.id}@testserver.local": ("Asia/Shanghai", dt.datetime(2030, 3, 5, 6, 0, tzinfo=UTC),
                                                  dt.datetime(2030, 3, 5, 7, 30, tzinfo=UTC)),
        f"event-{new_york.id}@testserver.local": ("America/New_York", dt.datetime(2030, 7, 1, 14, 0, tzinfo=UTC),
                                                  dt.datetime(2030, 7, 1, 15, 30, tzinfo=UTC)),
        f"event-{berlin.id}@testserver.local": ("Europe/Berlin", dt.datetime(2030, 3, 30, 9, 0, tzinfo=UTC),
                                                dt.datetime(2030, 4, 1, 15, 0, tzinfo=UTC)),
    }
    ours, theirs = vevents_by_uid(calendar), vobject_events(parsed)
    assert set(ours) == set(theirs) == set(expected)
    for uid, (zone, start, end) in expected.items():
        assert ours[uid]["DTSTART"].params["TZID"] == zone
        assert ours[uid].start == start and ours[uid].end == end
        assert theirs[uid].dtstart.value == start and theirs[uid].dtend.value == end
    # every TZID used has its VTIMEZONE, and nothing else
    assert sorted(tz.tz_name for tz in calendar.timezones) == ["America/New_York", "Asia/Shanghai", "Europe/Berlin"]
    assert calendar.get_missing_tzids() == set()
    assert ours[f"event-{berlin.id}@testserver.local"]["DTEND"].to_ical() == b"20300401T170000"


async def test_stored_text_with_commas_semicolons_newlines_and_chinese_survives_both_parsers(client, db, organiser):
    event = await make_event(
        db, organiser,
        title="量子计算讲座, part 1; with Q&A",
        summary="第一行, with comma; and semicolon\nsecond line\\backslash",
        venue_name="Hall A, Building 3; East",
        venue_address="颐和园路5号\nBeijing, China",
        online_url="https://meet.example.org/room?id=1;x=2",
        geo_lat="39.99", geo_lon="116.31", starts_at="2030-03-05T09:00", ends_at="2030-03-05T18:00",
    )
    speaker, _talk = await add_speaker_talk(db, event, affiliation="北京大学, Physics; Dept.")
    calendar, parsed = parse_both((await client.get("/calendar.ics")).content)
    uid = f"event-{event.id}@testserver.local"
    ours, theirs = vevents_by_uid(calendar)[uid], vobject_events(parsed)[uid]
    assert str(ours["SUMMARY"]) == theirs.summary.value == "量子计算讲座, part 1; with Q&A"
    location = "Hall A, Building 3; East, 颐和园路5号\nBeijing, China"
    assert str(ours["LOCATION"]) == theirs.location.value == location
    description = str(ours["DESCRIPTION"])
    assert description == theirs.description.value
    assert description.startswith("第一行, with comma; and semicolon\nsecond line\\backslash\n\n")
    assert "王小明 (北京大学, Physics; Dept.)" in description
    assert "https://meet.example.org/room?id=1;x=2" in description
    # An online event's URL is its meeting link (issue #11: where clients put a "join" button); the event
    # page is still in DESCRIPTION.
    assert str(ours["URL"]) == "https://meet.example.org/room?id=1;x=2"
    assert description.endswith(f"http://testserver.local/events/{event.slug}")
    assert ours["GEO"].latitude == 39.99 and ours["GEO"].longitude == 116.31
    assert [str(c) for c in ours["CATEGORIES"].cats] == ["Lecture"]
    assert str(ours["STATUS"]) == "CONFIRMED"
    assert "mailto:" in str(ours["ORGANIZER"])
    for name in ("DTSTAMP", "CREATED", "LAST-MODIFIED"):
        assert ours[name].dt.tzinfo is not None
    assert ours["CREATED"].dt == event.created_at.replace(microsecond=0)
    # LAST-MODIFIED (= DTSTAMP in a feed) is the last change of anything shown: here the speaker's talk,
    # added after the event (issue #11 item 8: it was the event's own updated_at only).
    assert ours["LAST-MODIFIED"].dt == ours["DTSTAMP"].dt == _talk.updated_at.replace(microsecond=0)
    assert ours["LAST-MODIFIED"].dt >= event.updated_at.replace(microsecond=0)


async def test_line_breaks_in_text_stay_inside_their_property(client, db, organiser):
    event = await make_event(
        db, organiser, title="Lecture\r\nATTENDEE:mailto:evil@example.org",
        summary="Intro\r\nATTENDEE:mailto:evil@example.org\r\nEND:VEVENT",
    )
    body = (await client.get(f"/events/{event.slug}.ics")).content
    assert b"\r\nATTENDEE" not in body and b"\r\nEND:VEVENT\r\nEND:VEVENT" not in body
    calendar, parsed = parse_both(body)
    vevent = calendar.events[0]
    assert "ATTENDEE" not in vevent
    assert str(vevent["DESCRIPTION"]).startswith("Intro\nATTENDEE:mailto:evil@example.org\nEND:VEVENT")
    assert "ATTENDEE" in str(vevent["SUMMARY"])  # the service made it one line; it is still just text
    assert not hasattr(parsed.vevent, "attendee")


async def test_editing_the_time_bumps_sequence_and_keeps_the_uid(client, db, organiser):
    from events_app.events.services import EventService

    event = await make_event(db, organiser)
    first = vevents_by_uid(icalendar.Calendar.from_ical((await client.get("/calendar.ics")).content))
    uid = f"event-{event.id}@testserver.local"
    assert first[uid]["SEQUENCE"] == 0
    service = EventService(session=db)
    await service.update_event(await service.load(event.id), {"starts_at": "2030-03-05T15:00", "ends_at": "2030-03-05T16:30"})
    await db.commit()
    second = vevents_by_uid(icalendar.Calendar.from_ical((await client.get("/calendar.ics")).content))
    assert list(second) == [uid]
    assert second[uid]["SEQUENCE"] == 1
    assert second[uid].start == dt.datetime(2030, 3, 5, 7, 0, tzinfo=UTC)
    assert second[uid]["LAST-MODIFIED"].dt >= first[uid]["LAST-MODIFIED"].dt


async def test_cancelled_event_is_published_as_cancelled_until_thirty_days_after_it(client, db, organiser):
    from events_app.events.models import EventStatus
    from events_app.events.services import EventService

    recent = await make_event(db, organiser, title="Recent", starts_at=in_days(-20), ends_at=in_days(-20, 12))
    old = await make_event(db, organiser, title="Old", starts_at=in_days(-40), ends_at=in_days(-40, 12))
    service = EventService(session=db)
    for event in (recent, old):
        await service.set_status(await service.load(event.id), EventStatus.CANCELLED)
    await db.commit()
    calendar, parsed = parse_both((await client.get("/calendar.ics")).content)
    events = vevents_by_uid(calendar)
    uid = f"event-{recent.id}@testserver.local"
    assert list(events) == [uid]
    assert str(events[uid]["STATUS"]) == "CANCELLED" and events[uid]["SEQUENCE"] == 1
    assert vobject_events(parsed)[uid].status.value == "CANCELLED"
    # the event's own download still works for the old one
    old_feed = icalendar.Calendar.from_ical((await client.get(f"/events/{old.slug}.ics")).content)
    assert str(old_feed.events[0]["STATUS"]) == "CANCELLED"


async def test_event_feed_has_event_and_talks_and_talks_0_gives_the_event_alone(client, db, organiser):
    event = await make_event(db, organiser, starts_at="2030-03-05T09:00", ends_at="2030-03-05T18:00")
    speaker, talk = await add_speaker_talk(db, event)
    calendar, parsed = parse_both((await client.get(f"/events/{event.slug}.ics")).content)
    events = vevents_by_uid(calendar)
    talk_uid = f"talk-{talk.id}@testserver.local"
    assert set(events) == {f"event-{event.id}@testserver.local", talk_uid} == set(vobject_events(parsed))
    assert str(events[talk_uid]["LOCATION"]) == "Room 204, Lecture Hall 1"
    assert events[talk_uid].start == dt.datetime(2030, 3, 5, 2, 0, tzinfo=UTC)
    assert "王小明 (Peking University)" in str(events[talk_uid]["DESCRIPTION"])
    alone = icalendar.Calendar.from_ical((await client.get(f"/events/{event.slug}.ics?talks=0")).content)
    assert [str(e["UID"]) for e in alone.events] == [f"event-{event.id}@testserver.local"]


async def test_series_and_kind_filters_and_series_feed(client, db, organiser):
    from events_app.events.services import SeriesService

    series = await SeriesService(session=db).create_series({"title": "Distinguished Lectures"}, creator=organiser)
    await db.commit()
    in_series = await make_event(db, organiser, title="In series", series=series.slug)
    workshop = await make_event(db, organiser, title="A workshop", kind="workshop")
    uids = lambda body: {str(e["UID"]) for e in icalendar.Calendar.from_ical(body).events}  # noqa: E731
    assert uids((await client.get("/calendar.ics", params={"kind": "workshop"})).content) == {
        f"event-{workshop.id}@testserver.local"
    }
    assert uids((await client.get("/calendar.ics", params={"series": series.slug})).content) == {
        f"event-{in_series.id}@testserver.local"
    }
    feed = await client.get(f"/series/{series.slug}.ics")
    assert feed.status_code == 200
    calendar = icalendar.Calendar.from_ical(feed.content)
    assert calendar.calendar_name == "Distinguished Lectures"
    assert [str(c) for c in calendar.events[0]["CATEGORIES"].cats] == ["Lecture", "Distinguished Lectures"]


async def test_speaker_feed_lists_their_talks(client, db, organiser):
    event = await make_event(db, organiser, starts_at="2030-03-05T09:00", ends_at="2030-03-05T18:00")
    speaker, talk = await add_speaker_talk(db, event)
    calendar, parsed = parse_both((await client.get(f"/speakers/{speaker.id}.ics")).content)
    assert [str(e["UID"]) for e in calendar.events] == [f"talk-{talk.id}@testserver.local"]
    assert calendar.calendar_name == "王小明"


async def test_deleted_talk_is_published_as_cancelled_in_event_and_speaker_feeds(client, db, organiser):
    from events_app.schedule.services import TalkService

    event = await make_event(db, organiser, starts_at="2030-03-05T09:00", ends_at="2030-03-05T18:00")
    speaker, talk = await add_speaker_talk(db, event)
    talks = TalkService(session=db)
    await talks.delete_talk(await talks.by_id(talk.id))
    await db.commit()
    talk_uid = f"talk-{talk.id}@testserver.local"
    for url in (f"/events/{event.slug}.ics", f"/speakers/{speaker.id}.ics"):
        calendar, parsed = parse_both((await client.get(url)).content)
        tombstone = vevents_by_uid(calendar)[talk_uid]
        assert str(tombstone["STATUS"]) == "CANCELLED"
        assert tombstone["SEQUENCE"] == 1  # one more than the last published version
        assert tombstone.start == dt.datetime(2030, 3, 5, 2, 0, tzinfo=UTC)
        assert vobject_events(parsed)[talk_uid].status.value == "CANCELLED"


async def test_drafts_never_appear_in_public_feeds(client, db, organiser):
    draft = await make_event(db, organiser, title="Secret draft", publish=False, starts_at="2030-03-05T09:00",
                             ends_at="2030-03-05T18:00")
    speaker, _talk = await add_speaker_talk(db, draft)
    response = await client.get("/calendar.ics")
    assert response.status_code == 200
    assert b"Secret draft" not in response.content and b"VEVENT" not in response.content
    # Someone on a draft's programme only is not public: no feed at all, as for no such speaker.
    assert (await client.get(f"/speakers/{speaker.id}.ics")).status_code == 404
    assert (await client.get(f"/events/{draft.slug}.ics")).status_code == 404


async def test_unknown_feeds_are_404(client, db, organiser):
    for url in ("/events/no-such-event.ics", "/series/no-such-series.ics", "/speakers/999999.ics",
                "/speakers/abc.ics", "/speakers/99999999999999999999999.ics",
                "/calendar.ics?series=nope", "/calendar.ics?kind=party"):
        assert (await client.get(url)).status_code == 404, url


async def test_conditional_requests_get_304_until_something_changes(client, db, organiser):
    from events_app.events.services import EventService

    event = await make_event(db, organiser)
    first = await client.get("/calendar.ics")
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    not_modified = await client.get("/calendar.ics", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert (await client.get("/calendar.ics", headers={"If-Modified-Since": last_modified})).status_code == 304
    assert (await client.get("/calendar.ics", headers={"If-None-Match": '"other"'})).status_code == 200

    service = EventService(session=db)
    await service.update_event(await service.load(event.id), {"title": "A new title"})
    await db.commit()
    changed = await client.get("/calendar.ics", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and b"A new title" in changed.content
    assert changed.headers["etag"] != etag
    earlier = format_datetime(dt.datetime(2020, 1, 1, tzinfo=UTC), usegmt=True)
    assert (await client.get("/calendar.ics", headers={"If-Modified-Since": earlier})).status_code == 200


async def test_a_speaker_rename_changes_the_etag_of_the_feeds_showing_them(client, db, organiser):
    from events_app.speakers.services import PersonService

    event = await make_event(db, organiser, starts_at="2030-03-05T09:00", ends_at="2030-03-05T18:00")
    speaker, _talk = await add_speaker_talk(db, event)
    etag = (await client.get("/calendar.ics")).headers["etag"]
    await PersonService(session=db).update_person(speaker, {"affiliation": "Tsinghua University"})
    await db.commit()
    response = await client.get("/calendar.ics", headers={"If-None-Match": etag})
    assert response.status_code == 200 and "Tsinghua University" in response.text


async def test_head_gives_headers_without_body(client, db, organiser):
    event = await make_event(db, organiser)
    for url in ("/calendar.ics", f"/events/{event.slug}.ics"):
        full = await client.get(url, headers={"Accept-Encoding": "identity"})
        head = await client.head(url, headers={"Accept-Encoding": "identity"})
        assert head.status_code == 200 and head.content == b""
        assert head.headers["etag"] == full.headers["etag"]
        assert head.headers["content-length"] == str(len(full.content))
        assert head.headers["content-type"] == "text/calendar; charset=utf-8"
    assert (await client.head("/events/nope.ics")).status_code == 404


async def test_event_page_itself_is_unaffected_by_the_feed_urls(client, db, organiser):
    event = await make_event(db, organiser)
    page = await client.get(f"/events/{event.slug}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


async def test_deleting_a_talk_twice_under_a_reused_id_keeps_one_tombstone(client, db, organiser):
    from events_app.schedule.services import TalkService

    event = await make_event(db, organiser, starts_at="2030-03-05T09:00", ends_at="2030-03-05T18:00")
    talks = TalkService(session=db)
    _speaker, talk = await add_speaker_talk(db, event)
    await talks.delete_talk(await talks.by_id(talk.id))
    await db.commit()
    again = await talks.create_talk(event, {"title": "Replacement", "starts_at": "2030-03-05T11:00",
                                            "ends_at": "2030-03-05T11:30"})
    await db.commit()
    calendar = icalendar.Calendar.from_ical((await client.get(f"/events/{event.slug}.ics")).content)
    uids = [str(e["UID"]) for e in calendar.events]
    assert len(uids) == len(set(uids))  # one VEVENT per UID, whatever ids the database hands out
    await talks.delete_talk(await talks.by_id(again.id))
    await db.commit()
    calendar = icalendar.Calendar.from_ical((await client.get(f"/events/{event.slug}.ics")).content)
    cancelled = [e for e in calendar.events if str(e["STATUS"]) == "CANCELLED"]
    assert {str(e["UID"]) for e in cancelled} == {f"talk-{talk.id}@testserver.local", f"talk-{again.id}@testserver.local"}


async def test_an_event_is_the_same_vevent_in_every_feed(client, db, organiser):
    from events_app.events.services import SeriesService

    series = await SeriesService(session=db).create_series({"title": "Distinguished Lectures"}, creator=organiser)
    await db.commit()
    event = await make_event(db, organiser, series=series.slug, geo_lat="39.9", geo_lon="116.4",
                             online_url="https://meet.example.org/x", starts_at="2030-03-05T09:00",
                             ends_at="2030-03-05T18:00")
    await add_speaker_talk(db, event)

    def vevent_bytes(body: bytes) -> bytes:
        start = body.index(b"BEGIN:VEVENT\r\nSUMMARY:" + event.title.encode())
        return body[start: body.index(b"END:VEVENT\r\n", start)]

    bodies = [(await client.get(url)).content for url in
              ("/calendar.ics", f"/series/{series.slug}.ics", f"/events/{event.slug}.ics?talks=0")]
    assert vevent_bytes(bodies[0]) == vevent_bytes(bodies[1]) == vevent_bytes(bodies[2])
