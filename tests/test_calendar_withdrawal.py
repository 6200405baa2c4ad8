"""Taking a published event back to draft is a cancellation for every calendar (issue #11 item 5)."""

from __future__ import annotations

import icalendar

from events_app.events.models import EventStatus
from events_app.events.services import EventService, SeriesService
from tests.calendar_parsers import read_everywhere
from tests.conftest import deliver_outbox, login, make_event, post_form
from tests.registration_helpers import make_registration_event, register
from tests.test_calendar_feeds import add_speaker_talk, in_days
from tests.test_registration_calendar import create_feed, invitation_of


def uid(event) -> str:
    return f"event-{event.id}@testserver.local"


async def withdraw(db, settings, event) -> None:
    events = EventService(session=db, settings=settings)
    await events.set_status(await events.load(event.id), EventStatus.DRAFT)
    await db.commit()


async def test_a_withdrawn_event_stays_cancelled_in_every_feed_and_attendees_get_cancel(client, db, organiser,
                                                                                      settings, smtp_server):
    series = await SeriesService(session=db).create_series({"title": "Distinguished Lectures"}, creator=organiser)
    await db.commit()
    event = await make_registration_event(db, organiser, settings, capacity=5, event_overrides={
        "series": series.slug, "starts_at": "2030-03-05T09:00", "ends_at": "2030-03-05T18:00",
    })
    speaker, talk = await add_speaker_talk(db, event)
    ana = await register(db, settings, event, "Ana")
    await deliver_outbox(settings)
    path, _page = await create_feed(client, ana.token)
    before = read_everywhere((await client.get("/calendar.ics")).content)[uid(event)]
    talk_before = read_everywhere((await client.get(f"/speakers/{speaker.id}.ics")).content)[f"talk-{talk.id}@testserver.local"]

    await withdraw(db, settings, event)
    talk_uid = f"talk-{talk.id}@testserver.local"
    for url in ("/calendar.ics", "/calendar.ics?kind=lecture", f"/calendar.ics?series={series.slug}",
                f"/series/{series.slug}.ics", f"/events/{event.slug}.ics", f"/events/{event.slug}.ics?talks=0",
                path):
        response = await client.get(url)
        assert response.status_code == 200, url  # /events/{slug}.ics answered 404
        read = read_everywhere(response.content)
        assert read[uid(event)].status == "CANCELLED", url
        assert read[uid(event)].sequence > before.sequence
        assert read[uid(event)].start == before.start and read[uid(event)].summary == before.summary
    talks = read_everywhere((await client.get(f"/events/{event.slug}.ics")).content)
    assert talks[talk_uid].status == "CANCELLED"
    speaker_feed = read_everywhere((await client.get(f"/speakers/{speaker.id}.ics")).content)
    assert speaker_feed[talk_uid].status == "CANCELLED" and speaker_feed[talk_uid].sequence > talk_before.sequence
    assert b"/events/" not in (await client.get(f"/events/{event.slug}.ics?talks=0")).content  # no dead link
    assert (await client.get(f"/events/{event.slug}")).status_code == 404  # the page itself is hidden

    await deliver_outbox(settings)
    _confirmation, cancel = smtp_server.to("ana@example.org")
    assert cancel["Subject"] == f"Cancelled: {event.title}"
    calendar, vevent = invitation_of(cancel)
    assert str(calendar["METHOD"]) == "CANCEL" and str(vevent["UID"]) == uid(event)
    assert int(vevent["SEQUENCE"]) == read_everywhere((await client.get("/calendar.ics")).content)[uid(event)].sequence


async def test_a_withdrawal_through_the_organiser_page_and_the_api_is_a_cancellation(client, db, organiser,
                                                                                    settings, smtp_server, token):
    by_form = await make_registration_event(db, organiser, settings, event_overrides={"title": "By form"})
    by_api = await make_registration_event(db, organiser, settings, event_overrides={"title": "By API"})
    await register(db, settings, by_form, "Ana")
    await register(db, settings, by_api, "Bo")
    await deliver_outbox(settings)
    await login(client, organiser.email)
    page = f"/organiser/events/{by_form.slug}"
    response = await post_form(client, page, {"status": "draft"}, action=f"{page}/status")
    assert response.status_code in (302, 303)
    response = await client.patch(f"/api/events/{by_api.slug}", json={"status": "draft"},
                                  headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    feed = read_everywhere((await client.get("/calendar.ics")).content)
    assert feed[uid(by_form)].status == feed[uid(by_api)].status == "CANCELLED"
    await deliver_outbox(settings)
    for person in ("ana@example.org", "bo@example.org"):
        _confirmation, cancel = smtp_server.to(person)
        assert str(invitation_of(cancel)[0]["METHOD"]) == "CANCEL"


async def test_edits_to_a_withdrawn_draft_are_not_published(client, db, organiser, settings):
    event = await make_event(db, organiser, title="As announced", starts_at="2030-03-05T09:00",
                             ends_at="2030-03-05T18:00")
    speaker, talk = await add_speaker_talk(db, event, title="Announced talk")
    await withdraw(db, settings, event)
    events = EventService(session=db, settings=settings)
    await events.update_event(await events.load(event.id), {"title": "Secret new title", "kind": "workshop",
                                                            "starts_at": "2030-03-05T10:00"})
    from events_app.schedule.services import TalkService

    talks = TalkService(session=db)
    await talks.update_talk(event, await talks.by_id(talk.id), {"title": "Secret new talk"})
    await db.commit()
    for url in ("/calendar.ics", "/calendar.ics?kind=lecture", f"/events/{event.slug}.ics",
                f"/speakers/{speaker.id}.ics"):
        body = (await client.get(url)).content
        assert b"Secret" not in body, url
        assert b"As announced" in body or b"Announced talk" in body, url
    assert b"VEVENT" not in (await client.get("/calendar.ics?kind=workshop")).content


async def test_publishing_again_brings_the_event_back_with_a_higher_sequence(client, db, organiser, settings,
                                                                           smtp_server):
    event = await make_registration_event(db, organiser, settings, event_overrides={
        "starts_at": "2030-03-05T09:00", "ends_at": "2030-03-05T18:00"})
    _speaker, talk = await add_speaker_talk(db, event)
    await register(db, settings, event, "Ana")
    await withdraw(db, settings, event)
    withdrawn = read_everywhere((await client.get(f"/events/{event.slug}.ics")).content)
    events = EventService(session=db, settings=settings)
    await events.set_status(await events.load(event.id), EventStatus.PUBLISHED)
    await db.commit()
    again = read_everywhere((await client.get(f"/events/{event.slug}.ics")).content)
    talk_uid = f"talk-{talk.id}@testserver.local"
    assert again[uid(event)].status == again[talk_uid].status == "CONFIRMED"
    assert again[uid(event)].sequence > withdrawn[uid(event)].sequence
    assert again[talk_uid].sequence > withdrawn[talk_uid].sequence
    await deliver_outbox(settings)
    methods = [str(invitation_of(m)[0]["METHOD"]) for m in smtp_server.to("ana@example.org")]
    assert methods == ["REQUEST", "CANCEL", "REQUEST"]


async def test_a_draft_never_published_stays_invisible(client, db, organiser, settings):
    draft = await make_event(db, organiser, title="Secret draft", publish=False, starts_at="2030-03-05T09:00",
                             ends_at="2030-03-05T18:00")
    speaker, talk = await add_speaker_talk(db, draft, title="Secret talk")
    from events_app.schedule.services import TalkService

    talks = TalkService(session=db)
    await talks.delete_talk(await talks.by_id(talk.id))  # a deleted draft talk used to reach the speaker feed
    await db.commit()
    events = EventService(session=db, settings=settings)
    await events.update_event(await events.load(draft.id), {"title": "Secret draft, edited"})
    await db.commit()
    for url in ("/calendar.ics", f"/speakers/{speaker.id}.ics", "/calendar.ics?kind=lecture"):
        body = (await client.get(url)).content
        assert b"Secret" not in body and b"VEVENT" not in body, url
    assert (await client.get(f"/events/{draft.slug}.ics")).status_code == 404


async def test_a_withdrawn_event_leaves_the_feeds_thirty_days_after_its_end(client, db, organiser, settings):
    recent = await make_event(db, organiser, title="Recent", starts_at=in_days(-20), ends_at=in_days(-20, 12))
    old = await make_event(db, organiser, title="Old", starts_at=in_days(-40), ends_at=in_days(-40, 12))
    for event in (recent, old):
        await withdraw(db, settings, event)
    calendar = icalendar.Calendar.from_ical((await client.get("/calendar.ics")).content)
    assert [str(e["UID"]) for e in calendar.events] == [uid(recent)]
    assert str(calendar.events[0]["STATUS"]) == "CANCELLED"
    # its own download still says so
    assert (await client.get(f"/events/{old.slug}.ics")).status_code == 200


async def test_the_etag_changes_when_an_event_is_withdrawn(client, db, organiser, settings):
    event = await make_event(db, organiser)
    first = await client.get("/calendar.ics")
    await withdraw(db, settings, event)
    again = await client.get("/calendar.ics", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 200 and b"STATUS:CANCELLED" in again.content
