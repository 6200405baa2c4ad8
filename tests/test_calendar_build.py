"""The pure builders: text safety, invitations for registration, and the cache giving icalendar's own bytes."""

from __future__ import annotations

import datetime as dt

import icalendar
import vobject

from events_app.calendar import build
from events_app.calendar.services import FeedScope
from events_app.calendar.serving import VEventCache, render_events_feed
from events_app.events.models import Event, EventKind, EventStatus
from events_app.events.services import EventFilters
from tests.conftest import make_event

UTC = dt.UTC


def unsaved_event(**overrides) -> Event:
    values = dict(
        id=7, slug="quantum-lecture", kind=EventKind.LECTURE, title="Quantum lecture", summary="", description="",
        starts_at=dt.datetime(2030, 3, 5, 6, 0, tzinfo=UTC), ends_at=dt.datetime(2030, 3, 5, 7, 30, tzinfo=UTC),
        timezone="Asia/Shanghai", venue_name="Hall 1", venue_address="", online_url="", geo_lat=None, geo_lon=None,
        organiser="Institute of Physics", status=EventStatus.PUBLISHED, revision=3, series=None,
        created_at=dt.datetime(2026, 1, 1, tzinfo=UTC), updated_at=dt.datetime(2026, 2, 1, tzinfo=UTC),
    )
    values.update(overrides)
    return Event(**values)


def test_cr_lf_in_a_title_stays_inside_summary(settings):
    event = unsaved_event(title="Lecture\r\nATTENDEE:mailto:evil@example.org\r\nEND:VEVENT")
    body = build.event_to_vevent(event, speakers=[], settings=settings, online_url="").to_ical()
    lines = body.split(b"\r\n")
    assert not any(line.startswith((b"ATTENDEE", b"END:VEVENT")) for line in lines[:-2])
    parsed = icalendar.Event.from_ical(body)
    assert str(parsed["SUMMARY"]) == "Lecture\nATTENDEE:mailto:evil@example.org\nEND:VEVENT"
    assert "ATTENDEE" not in parsed


def test_folding_at_75_octets_never_splits_a_multibyte_character(settings):
    title = "国际量子信息科学与技术研讨会" * 8 + " – ünïcödé"
    body = build.event_to_vevent(unsaved_event(title=title), speakers=[], settings=settings, online_url="").to_ical()
    for line in body.split(b"\r\n"):
        assert len(line) <= 75
        line.decode("utf-8")  # each physical line is valid UTF-8 on its own: no character was cut
    assert str(icalendar.Event.from_ical(body)["SUMMARY"]) == title
    assert vobject.readOne(body.decode()).summary.value == title


def invitation(event, method, settings) -> bytes:
    component = build.event_to_vevent(event, speakers=[], settings=settings, online_url="")
    return build.invitation_calendar(
        component, attendee_email="li.lei@example.cn", attendee_name="李雷", method=method,
        span=build.event_span([event]),
    )


def test_invitation_request_carries_attendee_organizer_and_the_feed_uid(settings):
    event = unsaved_event()
    body = invitation(event, "REQUEST", settings)
    calendar = icalendar.Calendar.from_ical(body)
    assert str(calendar["METHOD"]) == "REQUEST"
    vevent = calendar.events[0]
    assert str(vevent["UID"]) == build.event_uid(event.id, settings) == "event-7@testserver.local"
    assert vevent["SEQUENCE"] == 3
    assert str(vevent["ATTENDEE"]) == "mailto:li.lei@example.cn" and vevent["ATTENDEE"].params["CN"] == "李雷"
    assert str(vevent["ORGANIZER"]).startswith("mailto:")
    assert vevent["ORGANIZER"].params["CN"] == "Institute of Physics"
    assert str(vevent["STATUS"]) == "CONFIRMED"
    assert [tz.tz_name for tz in calendar.timezones] == ["Asia/Shanghai"]
    parsed = vobject.readOne(body.decode())
    assert parsed.vevent.dtstart.value == dt.datetime(2030, 3, 5, 6, 0, tzinfo=UTC)


def test_invitation_cancel_has_status_cancelled_and_same_uid_and_sequence(settings):
    body = invitation(unsaved_event(), "CANCEL", settings)
    calendar = icalendar.Calendar.from_ical(body)
    assert str(calendar["METHOD"]) == "CANCEL"
    vevent = calendar.events[0]
    assert str(vevent["UID"]) == "event-7@testserver.local"
    assert str(vevent["STATUS"]) == "CANCELLED" and vevent["SEQUENCE"] == 3


async def test_personal_feed_uses_the_public_uids(client, db, organiser, settings):
    from events_app.calendar.serving import render_personal_feed

    first = await make_event(db, organiser, title="First")
    second = await make_event(db, organiser, title="Second", timezone="Europe/Berlin")
    body = await render_personal_feed(db, [(first.id, False), (second.id, True)], settings=settings,
                                      now=dt.datetime.now(UTC), cache=None)
    calendar = icalendar.Calendar.from_ical(body)
    public = icalendar.Calendar.from_ical((await client.get("/calendar.ics")).content)
    assert {str(e["UID"]) for e in calendar.events} == {str(e["UID"]) for e in public.events} == {
        f"event-{first.id}@testserver.local", f"event-{second.id}@testserver.local"
    }
    assert sorted(tz.tz_name for tz in calendar.timezones) == ["Asia/Shanghai", "Europe/Berlin"]
    assert len(vobject.readOne(body.decode()).vevent_list) == 2


async def test_cached_feed_is_byte_for_byte_what_icalendar_writes(db, organiser, settings):
    from events_app.events.services import EventService

    for zone, day in (("Asia/Shanghai", 5), ("America/New_York", 6), ("Europe/Berlin", 30)):
        await make_event(db, organiser, title=f"Event in {zone}, ok; 中文", timezone=zone,
                         starts_at=f"2030-03-{day:02d}T10:00", ends_at=f"2030-03-{day:02d}T12:00")
    now = dt.datetime.now(UTC)
    cache = VEventCache()
    common = dict(name="Programme", description="All, of it; really", settings=settings, now=now)

    async def both() -> tuple[bytes, bytes]:
        cached = await render_events_feed(db, FeedScope(), cache=cache, **common)
        plain = await render_events_feed(db, FeedScope(), cache=None, **common)
        return cached, plain

    cold, plain = await both()
    assert cold == plain and len(cache) == 3
    warm, plain = await both()
    assert warm == plain
    service = EventService(session=db)
    events, _total = await service.search(EventFilters(limit=100))
    await service.update_event(await service.load(events[0].id), {"venue_name": "Another hall"})
    await db.commit()
    changed, plain = await both()
    assert changed == plain and b"Another hall" in changed and changed != warm
    assert len(cache) == 4  # only the changed event was serialised again
