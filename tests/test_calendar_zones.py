"""VTIMEZONE blocks (calendar/zones.py) that vobject and ical.js read as zoneinfo does, for regular zones (yearly
RRULEs), zones whose rules changed, and irregular ones (one observance per change)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event

from events_app.calendar import build
from events_app.calendar.zones import build_vtimezone
from tests.calendar_parsers import read_everywhere

UTC = dt.UTC


def calendar_with(zone: str, span: tuple[dt.date, dt.date], years: range) -> tuple[bytes, dict[str, int]]:
    """A calendar with one event on the 3rd, 15th and 27th of every month, at night and at noon; wall times
    that daylight saving skips or repeats are left out (the builder writes those in UTC)."""
    calendar = Calendar()
    calendar.add("prodid", "-//test//")
    calendar.add("version", "2.0")
    calendar.add_component(build_vtimezone(zone, *span))
    expected = {}
    for year in years:
        for month in range(1, 13):
            for day, hour in ((3, 1), (15, 12), (27, 2)):
                local = dt.datetime(year, month, day, hour, 30, tzinfo=ZoneInfo(zone))
                if build.is_ambiguous(local, zone) or local.astimezone(UTC).astimezone(ZoneInfo(zone)).hour != hour:
                    continue
                event = Event()
                uid = f"{year}-{month}-{day}"
                event.add("uid", uid)
                event.add("dtstamp", dt.datetime(2026, 1, 1, tzinfo=UTC))
                event.add("dtstart", local)
                # ical.js takes DTSTART for a missing end; in UTC, since 30 minutes later may be a skipped hour
                event.add("dtend", local.astimezone(UTC) + dt.timedelta(minutes=30))
                calendar.add_component(event)
                expected[uid] = int(local.timestamp())
    return calendar.to_ical(), expected


@pytest.mark.parametrize("zone", [
    "America/New_York",  # rules changed in 2007
    "Europe/Berlin",
    "Australia/Sydney",  # southern hemisphere, several rule changes (2006 Commonwealth Games, 2008)
    "Pacific/Auckland",
    "Asia/Shanghai",  # no daylight saving
    "America/Santiago",  # "first Sunday on or after the 2nd"
    "Africa/Casablanca",  # Ramadan breaks: no yearly rule
    "Asia/Tehran",  # daylight saving abolished in 2022
])
def test_every_instant_from_2000_to_2031_reads_as_zoneinfo_says(zone):
    body, expected = calendar_with(zone, (dt.date(2000, 1, 1), dt.date(2033, 1, 1)), range(2000, 2032))
    read = read_everywhere(body)
    assert {uid: r.start for uid, r in read.items()} == expected


def test_regular_zones_are_yearly_rules_and_no_parser_sees_a_list_of_dates():
    body = build_vtimezone("America/New_York", dt.date(2000, 1, 1), dt.date(2033, 1, 1)).to_ical()
    assert b"RDATE" not in body
    assert b"RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r\n" in body  # since 2007, and still in force: open-ended
    assert b"RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11\r\n" in body
    assert b"DTSTART:20070311T020000\r\n" in body  # the local time before the change (RFC 5545 3.6.5)
    irregular = build_vtimezone("Africa/Casablanca", dt.date(2000, 1, 1), dt.date(2033, 1, 1)).to_ical()
    assert b"RDATE" not in irregular


def test_one_zone_gives_one_block_whichever_feed_it_is_in():
    """vobject keeps the first VTIMEZONE it reads for a TZID for the rest of the process: a block that started
    with one feed's first year misread another feed's earlier events."""
    late = build.timezone_span([dt.datetime(2030, 7, 1, tzinfo=UTC)])
    early = build.timezone_span([dt.datetime(2026, 7, 1, tzinfo=UTC)])
    assert late[0] == early[0] == build.VTIMEZONE_FROM
    body_late, expected_late = calendar_with("Europe/Berlin", late, range(2030, 2031))
    body_early, expected_early = calendar_with("Europe/Berlin", early, range(2026, 2027))
    assert {u: r.start for u, r in read_everywhere(body_late).items()} == expected_late
    assert {u: r.start for u, r in read_everywhere(body_early).items()} == expected_early
