from __future__ import annotations

import datetime as dt

from tests.conftest import make_event, make_token


def _in_future(days: int, hour: int = 14) -> str:
    day = dt.date.today() + dt.timedelta(days=days)
    return f"{day.isoformat()}T{hour:02d}:00"


async def test_home_lists_published_upcoming_events_and_hides_drafts(client, db, organiser):
    await make_event(db, organiser, title="Visible Lecture", starts_at=_in_future(5), ends_at=_in_future(5, 16))
    await make_event(db, organiser, title="Secret Draft", publish=False, starts_at=_in_future(6), ends_at=_in_future(6, 16))
    response = await client.get("/")
    assert response.status_code == 200
    assert "Visible Lecture" in response.text
    assert "Secret Draft" not in response.text


async def test_draft_event_page_is_404_for_the_public(client, db, organiser):
    event = await make_event(db, organiser, publish=False)
    assert (await client.get(f"/events/{event.slug}")).status_code == 404


async def test_event_page_shows_times_in_the_events_own_zone(client, db, organiser):
    event = await make_event(
        db, organiser, title="Beijing lecture", starts_at="2030-03-05T14:00", ends_at="2030-03-05T15:30",
        timezone="Asia/Shanghai",
    )
    assert event.starts_at == dt.datetime(2030, 3, 5, 6, 0, tzinfo=dt.UTC)  # stored in UTC
    page = (await client.get(f"/events/{event.slug}")).text
    assert "14:00" in page and "15:30" in page
    assert "Asia/Shanghai" in page


async def test_new_york_event_shows_new_york_wall_time(client, db, organiser):
    event = await make_event(
        db, organiser, title="NY lecture", starts_at="2030-07-01T10:00", ends_at="2030-07-01T11:30",
        timezone="America/New_York",
    )
    assert event.starts_at == dt.datetime(2030, 7, 1, 14, 0, tzinfo=dt.UTC)  # EDT is UTC-4
    page = (await client.get(f"/events/{event.slug}")).text
    assert "10:00" in page and "America/New_York" in page and "EDT" in page


async def test_cancelled_event_stays_visible_and_marked(client, db, organiser):
    event = await make_event(db, organiser, title="Cancelled talk", starts_at=_in_future(3), ends_at=_in_future(3, 16),
                             status="cancelled")
    page = await client.get(f"/events/{event.slug}")
    assert page.status_code == 200
    assert "This event has been cancelled." in page.text
    home = await client.get("/")
    assert "Cancelled talk" in home.text and "badge-cancelled" in home.text


async def test_filters_by_kind_series_month_and_text(client, db, organiser):
    from events_app.events.services import SeriesService

    series = await SeriesService(session=db).create_series({"title": "Invited Lectures"}, creator=organiser)
    await db.commit()
    await make_event(db, organiser, title="Alpha Workshop", kind="workshop", starts_at=_in_future(10), ends_at=_in_future(10, 16))
    await make_event(db, organiser, title="Beta Lecture", kind="lecture", series=series.slug,
                     starts_at=_in_future(40), ends_at=_in_future(40, 16))
    text = (await client.get("/", params={"kind": "workshop"})).text
    assert "Alpha Workshop" in text and "Beta Lecture" not in text
    text = (await client.get("/", params={"series": series.slug})).text
    assert "Beta Lecture" in text and "Alpha Workshop" not in text
    month = (dt.date.today() + dt.timedelta(days=40)).strftime("%Y-%m")
    text = (await client.get("/", params={"month": month})).text
    assert "Beta Lecture" in text
    if month != (dt.date.today() + dt.timedelta(days=10)).strftime("%Y-%m"):
        assert "Alpha Workshop" not in text
    # The public read (anonymous) and the organisers' read (a token) apply the same month window.
    token = await make_token(db, organiser)
    for headers in ({}, {"Authorization": f"Bearer {token}"}):
        listed = (await client.get("/api/events", params={"month": month}, headers=headers)).json()
        assert "Beta Lecture" in [e["title"] for e in listed["items"]], headers
    text = (await client.get("/", params={"q": "alpha"})).text
    assert "Alpha Workshop" in text and "Beta Lecture" not in text
    series_page = await client.get(f"/series/{series.slug}")
    assert series_page.status_code == 200 and "Beta Lecture" in series_page.text


async def test_past_events_are_browsable(client, db, organiser):
    await make_event(db, organiser, title="Old Conference", starts_at="2020-05-01T09:00", ends_at="2020-05-02T17:00")
    assert "Old Conference" not in (await client.get("/")).text
    assert "Old Conference" in (await client.get("/past")).text


async def test_user_text_is_escaped_and_markdown_is_safe(client, db, organiser):
    event = await make_event(
        db, organiser, title="<script>alert(1)</script> Lecture",
        description="**bold** <img src=x onerror=alert(1)> [x](javascript:alert(1))",
    )
    page = (await client.get(f"/events/{event.slug}")).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert "<strong>bold</strong>" in page
    assert "<img" not in page and 'href="javascript:' not in page


async def test_event_page_lists_speakers_with_affiliation_and_country(client, db, organiser):
    from events_app.schedule.services import TalkService
    from events_app.speakers.services import PersonService

    event = await make_event(db, organiser, starts_at="2030-03-05T09:00", ends_at="2030-03-05T18:00")
    person = await PersonService(session=db).create_person(
        {"full_name": "王小明", "affiliation": "Peking University", "country": "CN", "email": "secret@example.cn"}
    )
    await TalkService(session=db).create_talk(
        event, {"title": "Talk one", "starts_at": "2030-03-05T10:00", "ends_at": "2030-03-05T10:30", "speaker_ids": [person.id]}
    )
    await db.commit()
    page = (await client.get(f"/events/{event.slug}")).text
    assert "王小明" in page and "Peking University" in page and "China" in page
    assert "secret@example.cn" not in page  # speaker e-mail is private
    speaker_page = (await client.get(f"/speakers/{person.id}")).text
    assert "Talk one" in speaker_page and "secret@example.cn" not in speaker_page


async def test_interface_switches_to_chinese(client):
    response = await client.get("/?lang=zh")
    assert response.status_code == 200
    assert 'lang="zh"' in response.text
    assert "即将举行" in response.text  # "Upcoming events" from the zh catalogue
    # the choice is remembered in a cookie for the next page
    assert "即将举行" in (await client.get("/")).text


async def test_healthz(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/healthz", params={"db": 1})).json() == {"status": "ok", "database": "ok"}


async def test_unknown_addresses_answer_404_pages_not_errors(client):
    page = await client.get("/no/such/page")
    assert page.status_code == 404 and "This page does not exist" in page.text
    api = await client.get("/api/no/such/thing")
    assert api.status_code == 404 and api.json()["status_code"] == 404
