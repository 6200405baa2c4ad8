"""Dates people read follow their locale (en-GB "4 Mar 2030", zh "2030年3月4日"), never ISO or US style."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

from events_app.core.i18n import speaking
from events_app.core.timefmt import format_calendar_day
from tests.conftest import login
from tests.registration_helpers import make_registration_event, register
from tests.schedule_support import conference, room, schedule_session


def test_a_plain_date_reads_in_the_readers_locale():
    day = dt.date(2026, 12, 7)
    with speaking("en"):
        assert format_calendar_day(day) == "7 Dec 2026"
    with speaking("zh"):
        assert format_calendar_day(day) == "2026年12月7日"
    assert format_calendar_day(None) == ""
    with speaking("en"):
        assert format_calendar_day("1990-05-04") == "4 May 1990"  # a birth date kept as ISO text


async def test_timetable_session_list_reads_the_date_in_the_readers_locale(client, db, organiser):
    event = await conference(db, organiser)
    await schedule_session(db, event, "Opening plenary", "2030-03-04T09:00", "2030-03-04T10:00",
                           room=await room(db, "Hall A"))
    await login(client, organiser.email)
    url = f"/organiser/events/{event.slug}/timetable"
    en = (await client.get(url)).text
    assert "4 Mar 2030 09:00–10:00 <strong>Opening plenary</strong>" in en and "2030-03-04 09:00" not in en
    zh = (await client.get(url, params={"lang": "zh"})).text
    assert "2030年3月4日 09:00–10:00 <strong>Opening plenary</strong>" in zh


async def test_csv_keeps_its_utc_columns_and_adds_the_time_in_the_events_zone_for_people(
    client, db, organiser, settings
):
    event = await make_registration_event(db, organiser, settings)
    ana = await register(db, settings, event, "Ana")
    await login(client, organiser.email)
    url = f"/organiser/events/{event.slug}/registrations/export.csv"
    for lang, header, readable in (("en", "Registered at (event time)", "%-d %b %Y"),
                                   ("zh", "报名时间（活动时区）", "%Y年%-m月%-d日")):
        rows = list(csv.reader(io.StringIO((await client.get(url, params={"lang": lang})).content
                                           .decode("utf-8-sig"))))
        row = dict(zip(rows[0], rows[1], strict=True))
        created = ana.registration.created_at
        assert row[header] == created.astimezone(ZoneInfo(event.timezone)).strftime(f"{readable} %H:%M"), row
        utc_column = rows[0][6]
        assert row[utc_column] == created.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")  # stable, as before
