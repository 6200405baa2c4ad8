"""Every feed and every invitation, read by icalendar, vobject and ical.js (Thunderbird's parser): all three
agree on each event's instants, text, UID, SEQUENCE and STATUS, for hostile titles, four zones (one in the
southern hemisphere), daylight-saving switches and events up to five years ahead (issue #11)."""

from __future__ import annotations

import datetime as dt
import string
from zoneinfo import ZoneInfo

from sqlalchemy import update

from events_app.events.models import Event
from tests.calendar_parsers import read_everywhere
from tests.conftest import deliver_outbox, make_event
from tests.registration_helpers import make_registration_event, register
from tests.test_calendar_feeds import add_speaker_talk
from tests.test_registration_calendar import create_feed, invitation_of

ZONES = ("Asia/Shanghai", "America/New_York", "Europe/Berlin", "Australia/Sydney")
# Today is in 2026; 2031 is five years ahead.
YEARS = (2026, 2028, 2030, 2031)
TITLES = (
    "量子计算讲座, part 1; with Q&A",
    "C:\\New folder\\Nabla \\n \\, \\; and a trailing backslash\\",
    'Quotes "x" and <b>markup</b> & 🎉',
    "国际量子信息科学与技术研讨会" * 6,
)


def instant(local: str, zone: str) -> int:
    return int(dt.datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).timestamp())


async def corpus(db, organiser) -> dict[str, tuple[int, int, str]]:
    """Events in every zone, in winter and summer of every year; returns uid -> (start, end, title)."""
    expected = {}
    n = 0
    for zone in ZONES:
        for year in YEARS:
            for month, hour in ((1, 10), (7, 16)):
                title = f"{TITLES[n % len(TITLES)]} {n}"
                n += 1
                starts, ends = f"{year}-{month:02d}-15T{hour:02d}:00", f"{year}-{month:02d}-15T{hour + 1:02d}:30"
                event = await make_event(db, organiser, title=title, timezone=zone, starts_at=starts, ends_at=ends)
                expected[f"event-{event.id}@testserver.local"] = (instant(starts, zone), instant(ends, zone), title)
    return expected


async def test_the_programme_feed_reads_the_same_in_three_parsers_in_every_zone_and_year(client, db, organiser):
    expected = await corpus(db, organiser)
    # The example of the issue: a New York lecture on 2027-03-15 at 16:00 EDT is 20:00Z (21:00Z was read).
    lecture = await make_event(db, organiser, title="NY lecture", timezone="America/New_York",
                               starts_at="2027-03-15T16:00", ends_at="2027-03-15T17:00")
    read = read_everywhere((await client.get("/calendar.ics")).content)
    assert read[f"event-{lecture.id}@testserver.local"].start_utc == dt.datetime(2027, 3, 15, 20, 0, tzinfo=dt.UTC)
    for uid, (start, end, title) in expected.items():
        assert (read[uid].start, read[uid].end, read[uid].summary) == (start, end, title), uid
        assert read[uid].status == "CONFIRMED" and read[uid].sequence == 0


async def test_event_series_and_speaker_feeds_read_the_same_across_a_daylight_saving_switch(client, db, organiser):
    from events_app.events.services import SeriesService

    series = await SeriesService(session=db).create_series({"title": "Quantum, series; \\N one"}, creator=organiser)
    await db.commit()
    # Berlin switches to summer time on 2030-03-31, Sydney back to winter time on 2030-04-07.
    berlin = await make_event(db, organiser, title="Berlin workshop", kind="workshop", timezone="Europe/Berlin",
                              starts_at="2030-03-30T10:00", ends_at="2030-04-01T17:00", series=series.slug)
    speaker, before = await add_speaker_talk(db, berlin, title="Before the switch", starts="2030-03-30T11:00",
                                             ends="2030-03-30T12:00")
    _other, after = await add_speaker_talk(db, berlin, title="After the switch", starts="2030-03-31T11:00",
                                           ends="2030-03-31T12:00")
    sydney = await make_event(db, organiser, title="Sydney symposium", timezone="Australia/Sydney",
                              starts_at="2030-04-06T09:00", ends_at="2030-04-08T17:00", series=series.slug)
    expected = {
        f"event-{berlin.id}@testserver.local": instant("2030-03-30T10:00", "Europe/Berlin"),
        f"talk-{before.id}@testserver.local": instant("2030-03-30T11:00", "Europe/Berlin"),
        f"talk-{after.id}@testserver.local": instant("2030-03-31T11:00", "Europe/Berlin"),
        f"event-{sydney.id}@testserver.local": instant("2030-04-06T09:00", "Australia/Sydney"),
    }
    for url in (f"/events/{berlin.slug}.ics", f"/series/{series.slug}.ics", f"/speakers/{speaker.id}.ics",
                f"/calendar.ics?series={series.slug}", f"/events/{sydney.slug}.ics"):
        read = read_everywhere((await client.get(url)).content)
        assert read, url
        for uid, reading in read.items():
            assert reading.start == expected[uid], (url, uid)
    read = read_everywhere((await client.get(f"/events/{sydney.slug}.ics")).content)
    assert read[f"event-{sydney.id}@testserver.local"].end == instant("2030-04-08T17:00", "Australia/Sydney")


async def test_the_repeated_hour_is_written_as_one_instant(client, db, organiser):
    # New York's clocks go back on 2026-11-01 at 02:00 EDT: 01:30 happens at 05:30Z and again at 06:30Z.
    from events_app.events.services import EventService

    first = await make_event(db, organiser, title="First 01:30", timezone="America/New_York",
                             starts_at="2026-11-01T05:30:00Z", ends_at="2026-11-01T07:30:00Z")
    second = await make_event(db, organiser, title="Second 01:30", timezone="America/New_York",
                              starts_at="2026-11-01T06:30:00Z", ends_at="2026-11-01T08:00:00Z")
    body = (await client.get("/calendar.ics")).content
    read = read_everywhere(body)
    assert read[f"event-{first.id}@testserver.local"].start_utc == dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC)
    assert read[f"event-{second.id}@testserver.local"].start_utc == dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC)
    assert b"DTSTART:20261101T063000Z" in body and b"DTSTART:20261101T053000Z" in body
    # DTEND 03:00 EST is not ambiguous: it keeps its zone.
    assert b"DTEND;TZID=America/New_York:20261101T030000" in body
    assert (await EventService(session=db).load(second.id)).starts_at == dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC)


async def test_a_backslash_before_every_letter_stays_a_backslash(client, db, organiser):
    # icalendar 7.3 turns a literal \N into a line break when writing; the builder escapes TEXT itself.
    letters = "".join(f"\\{c}" for c in string.ascii_letters)
    event = await make_event(db, organiser, title=f"C:\\New folder {letters}", summary=f"\\Nabla\n{letters}\\",
                             venue_name="Room \\N1, \\Hall")
    for url in ("/calendar.ics", f"/events/{event.slug}.ics"):
        body = (await client.get(url)).content
        reading = read_everywhere(body)[f"event-{event.id}@testserver.local"]
        assert reading.summary == f"C:\\New folder {letters}"
        assert reading.description.startswith(f"\\Nabla\n{letters}\\\n\n")
        assert reading.location.startswith("Room \\N1, \\Hall")


async def test_control_characters_already_stored_never_reach_a_feed(client, db, organiser, is_postgres):
    event = await make_event(db, organiser, title="Clean", starts_at="2030-03-05T09:00", ends_at="2030-03-05T18:00")
    # Stored before text was cleaned on entry (or by a script): the builder must still write valid TEXT.
    # (PostgreSQL refuses NUL in text; SQLite keeps it.)
    dirty = f"Bell\x07 null{'' if is_postgres else chr(0)} esc\x1b del\x7f nel\x85 tab\tkept\nline kept"
    await db.execute(update(Event).where(Event.id == event.id).values(summary=dirty, title="Ti\x01tle",
                                                                       organiser="Org\x02aniser"))
    await db.commit()
    await add_speaker_talk(db, event, full_name="Wang\x03 Xiaoming")
    body = (await client.get(f"/events/{event.slug}.ics")).content
    for control in [*range(0, 9), 11, 12, *range(14, 32), 0x7F]:
        assert bytes([control]) not in body, control
    assert "\x85".encode() not in body
    reading = read_everywhere(body)[f"event-{event.id}@testserver.local"]
    assert reading.summary == "Title"
    assert reading.description.startswith("Bell null esc del nel tab\tkept\nline kept\n\n")
    assert "Wang Xiaoming" in reading.description
    assert b'CN="Organiser"' in body or b"CN=Organiser" in body


async def test_the_personal_feed_and_the_invitation_read_the_same_in_three_parsers(client, db, organiser, settings,
                                                                                 smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5, event_overrides={
        "title": TITLES[1], "timezone": "Australia/Sydney", "starts_at": "2031-01-15T18:00",
        "ends_at": "2031-01-15T20:00",
    })
    ana = await register(db, settings, event, "Ana")
    await deliver_outbox(settings)
    [message] = smtp_server.to("ana@example.org")
    invitation_of(message)  # laid out as Outlook and Gmail expect
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    uid = f"event-{event.id}@testserver.local"
    invitation = read_everywhere(part.get_content().encode())[uid]
    path, _page = await create_feed(client, ana.token)
    personal = read_everywhere((await client.get(path)).content)[uid]
    public = read_everywhere((await client.get(f"/events/{event.slug}.ics")).content)[uid]
    start = instant("2031-01-15T18:00", "Australia/Sydney")
    assert invitation.start == personal.start == public.start == start
    assert invitation.summary == personal.summary == public.summary == TITLES[1]
    assert invitation.sequence == personal.sequence == public.sequence
    assert invitation.status == personal.status == public.status == "CONFIRMED"
