"""Issue 13, "Text people can read": dates in the reader's locale, codes shown in words."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from events_app.core.i18n import speaking
from events_app.core.timefmt import format_day, format_when
from events_app.core.validation import country_with_code, language_names
from tests.conftest import login, make_event, post_form
from tests.test_registration_api import open_registration

INSTANT = dt.datetime(2026, 12, 7, 6, 30, tzinfo=dt.UTC)  # 14:30 in Shanghai


@pytest.mark.parametrize(("locale", "expected"), [("en", "7 Dec 2026 14:30"), ("zh", "2026年12月7日 14:30")])
def test_short_dates_name_the_month_in_the_readers_locale(locale, expected):
    with speaking(locale):
        assert format_when(INSTANT, "Asia/Shanghai", "short") == expected
        assert format_when(INSTANT, "Asia/Shanghai") == expected
        assert "12/7" not in format_day(INSTANT, "Asia/Shanghai", "short")


def test_codes_in_words():
    assert language_names("en, zh", "en") == "English, Chinese"
    assert language_names("en, zh", "zh") == "英语、中文"
    assert language_names("xx-unknown", "en") == "xx-unknown"
    assert country_with_code("CN", "en") == "China (CN)"
    assert country_with_code("CN", "zh") == "中国 (CN)"
    assert country_with_code("", "en") == ""


async def test_organiser_dashboard_dates_follow_the_locale(client, db, organiser):
    await make_event(db, organiser, starts_at="2026-12-07T14:30", ends_at="2026-12-07T16:00")
    await login(client, organiser.email)
    english = (await client.get("/organiser?lang=en")).text
    assert "7 Dec 2026 14:30" in english and "12/7/26" not in english
    chinese = (await client.get("/organiser?lang=zh")).text
    assert "2026年12月7日 14:30" in chinese and "2026/12/7" not in chinese


async def test_event_page_names_its_language(client, db, organiser):
    event = await make_event(db, organiser, language="en, zh")
    english = (await client.get(f"/events/{event.slug}?lang=en")).text
    assert "English, Chinese" in english
    chinese = (await client.get(f"/events/{event.slug}?lang=zh")).text
    assert "英语、中文" in chinese and "<dd>en, zh</dd>" not in chinese


@pytest.mark.parametrize(("lang", "country", "status"), [("en", "China", "Confirmed"), ("zh", "中国", "已确认")])
async def test_registration_csv_keeps_codes_and_adds_words(client, db, organiser, token, lang, country, status):
    event = await make_event(db, organiser)
    await open_registration(client, token, event.slug, capacity=10)
    response = await client.post(f"/api/events/{event.slug}/registrations", json={
        "name": "Li Wei", "email": "li@example.org", "country": "CN"})
    assert response.status_code == 202, response.text
    await login(client, organiser.email)
    await client.get(f"/?lang={lang}")
    export = await client.get(f"/organiser/events/{event.slug}/registrations/export.csv")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    header, row = rows[0], rows[1]
    record = dict(zip(header, row, strict=True))
    assert row[3] == "CN" and row[8] == country
    assert row[4] in ("confirmed", "pending") and row[9] != row[4]
    if row[4] == "confirmed":
        assert row[9] == status
    listing = (await client.get(f"/organiser/events/{event.slug}/registrations")).text
    assert f"{country} (CN)" in listing
    assert record  # header and row have the same width


async def test_the_error_summary_names_the_field(client, db, organiser, token):
    event = await make_event(db, organiser)
    await open_registration(client, token, event.slug, capacity=10, questions=[
        {"label": "Sessions <b>", "kind": "multiple_choice", "options": ["Morning", "Afternoon"], "required": True}])
    page = await post_form(client, f"/events/{event.slug}", {"name": "Ann", "email": "ann@example.org"},
                           action=f"/events/{event.slug}/register")
    summary = page.text.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert "Sessions &lt;b&gt;: Please choose at least one." in summary, summary


async def test_programme_cells_keep_words_apart(client, db, organiser):
    from events_app.schedule.services import ProgrammeVersionService, TalkService
    from tests.schedule_support import conference, room, talk

    event = await conference(db, organiser)
    hall = await room(db, "Hall A")
    plenary = await talk(db, event, "Plenary", "2030-03-04T10:00", "2030-03-04T10:30", room=hall)
    await talk(db, event, "Closing", "2030-03-05T10:00", "2030-03-05T10:30", room=hall)
    await ProgrammeVersionService(session=db).publish(event, note="First")
    await TalkService(session=db).update_talk(event, plenary, {"starts_at": "2030-03-04T14:00",
                                                               "ends_at": "2030-03-04T14:30"})
    await ProgrammeVersionService(session=db).publish(event, note="Second")
    await db.commit()
    page = (await client.get(f"/events/{event.slug}/programme?lang=en")).text
    cell = page[page.index(f'id="talk-{plenary.id}"'):]
    cell = cell[cell.index(">") + 1:cell.index("</div>")]
    text = re.sub(r"<[^>]+>", "", cell)
    assert "Plenary moved" in text and "Plenarymoved" not in text, text
    assert "Hall A Plenary" in text, text
    assert "#day-2\">5 Mar 2030</a>" in page  # day links name the day in the reader's locale, not 2030-03-05


def test_the_chinese_country_list_is_in_pinyin_order():
    from events_app.core.validation import country_names

    names = list(country_names("zh").values())
    assert names.index("阿尔巴尼亚") < 10, names[:10]
    china = names.index("中国")
    assert china > len(names) * 0.9, china  # Zhongguo, among the Z's, not by its code point
    assert names.index("赞比亚") < names.index("智利") < china  # Zanbiya, Zhili, Zhongguo
    english = list(country_names("en").values())
    assert english.index("Åland Islands") < english.index("Albania")


async def test_speaker_csv_adds_country_and_status_words_after_the_stable_columns(client, db, organiser):
    from sqlalchemy import update

    from events_app.speakers.models import Person
    from events_app.speakers.services import SPEAKER_CSV_COLUMNS
    from tests.test_schedule_exports import build_programme, sign_in

    event = await build_programme(db, organiser)
    await db.execute(update(Person).where(Person.full_name == "王小明").values(country="CN"))
    await db.commit()
    await sign_in(client, organiser.email)
    await client.get("/?lang=zh")
    response = await client.get(f"/organiser/events/{event.slug}/speakers.csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["name", "honorific", "affiliation", "country"]
    assert rows[0][-2:] == ["country_name", "status_in_words"] and len(rows[0]) == len(SPEAKER_CSV_COLUMNS)
    wang = next(row for row in rows if row[0] == "王小明")
    assert wang[3] == "CN" and wang[-2] == "中国" and wang[5] == "speaker" and wang[-1] not in ("", "speaker"), wang
