"""Pages point people to the feeds: subscribe (webcal and https), download, Google and Outlook."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.conftest import make_event


async def test_event_page_offers_download_subscriptions_and_calendar_services(client, db, organiser):
    from events_app.events.services import SeriesService

    series = await SeriesService(session=db).create_series({"title": "Distinguished Lectures"}, creator=organiser)
    await db.commit()
    event = await make_event(db, organiser, series=series.slug)
    page = (await client.get(f"/events/{event.slug}")).text
    base = "http://testserver.local"
    assert '<link rel="alternate" type="text/calendar"' in page
    assert f'href="{base}/events/{event.slug}.ics"' in page
    assert f'href="{base}/series/{series.slug}.ics"' in page
    assert f'href="{base}/calendar.ics"' in page
    assert f'href="webcal://testserver.local/events/{event.slug}.ics"' in page
    assert f'href="{base}/events/{event.slug}.ics?talks=0"' in page
    assert "Add to Google Calendar" in page and "Add to Outlook.com" in page
    google = next(part.split('"')[0] for part in page.split('href="') if part.startswith("https://calendar.google.com"))
    query = parse_qs(urlsplit(google.replace("&amp;", "&")).query)
    assert query["dates"] == ["20300305T060000Z/20300305T073000Z"]
    assert query["ctz"] == ["Asia/Shanghai"] and query["text"] == [event.title]
    outlook = next(part.split('"')[0] for part in page.split('href="') if part.startswith("https://outlook.live.com"))
    assert parse_qs(urlsplit(outlook.replace("&amp;", "&")).query)["startdt"] == ["2030-03-05T06:00:00Z"]
    # the links lead somewhere real
    assert (await client.get(f"/events/{event.slug}.ics?talks=0")).status_code == 200


async def test_series_and_speaker_pages_link_their_feeds(client, db, organiser):
    from events_app.events.services import SeriesService
    from events_app.speakers.services import PersonService

    series = await SeriesService(session=db).create_series({"title": "Distinguished Lectures"})
    from events_app.schedule.services import TalkService
    from tests.conftest import make_event

    person = await PersonService(session=db).create_person({"full_name": "Ada Lovelace"})
    await db.commit()
    # Speaker pages are public once the person has a public talk.
    event = await make_event(db, organiser, starts_at="2030-03-05T09:00", ends_at="2030-03-05T18:00")
    await TalkService(session=db).create_talk(
        event, {"title": "Notes on the engine", "starts_at": "2030-03-05T10:00", "ends_at": "2030-03-05T11:00",
                "speaker_ids": [person.id]}
    )
    await db.commit()
    series_page = (await client.get(f"/series/{series.slug}")).text
    assert f'href="webcal://testserver.local/series/{series.slug}.ics"' in series_page
    assert 'type="text/calendar"' in series_page
    speaker_page = (await client.get(f"/speakers/{person.id}")).text
    assert f'href="webcal://testserver.local/speakers/{person.id}.ics"' in speaker_page
    assert f'href="http://testserver.local/speakers/{person.id}.ics"' in speaker_page
