"""Invitations by e-mail agree with the feeds (issue #11 items 6-8): the SEQUENCE and content of a CANCEL or
REQUEST are the feed's when the worker composes it, however the change was made; the message is laid out as
Outlook and Gmail expect; what a change sends (or not) and how LAST-MODIFIED moves is decided on purpose."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from events_app.events.models import Event
from events_app.events.services import EventService
from events_app.registration.services import RegistrationService
from events_app.schedule.models import Talk
from events_app.speakers.models import Person
from tests.calendar_parsers import icaljs_method, read_everywhere
from tests.conftest import deliver_outbox, login, post_form
from tests.registration_helpers import cancel, make_registration_event, register
from tests.test_calendar_feeds import add_speaker_talk
from tests.test_registration_calendar import invitation_of


def uid(event) -> str:
    return f"event-{event.id}@testserver.local"


def raw_invitation(message) -> bytes:
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return part.get_content().encode()


async def feed_entry(client, event):
    return read_everywhere((await client.get(f"/events/{event.slug}.ics")).content)[uid(event)]


async def assert_cancel_matches_the_feed(client, smtp_server, event, person="ana@example.org"):
    cancel_mail = smtp_server.to(person)[-1]
    calendar, _vevent = invitation_of(cancel_mail)
    assert str(calendar["METHOD"]) == "CANCEL"
    sent = read_everywhere(raw_invitation(cancel_mail))[uid(event)]
    feed = await feed_entry(client, event)
    assert sent.sequence == feed.sequence, (sent, feed)
    assert (sent.location, sent.start, sent.summary) == (feed.location, feed.start, feed.summary)
    assert sent.status == "CANCELLED"
    return sent


async def test_withdrawal_after_a_venue_change_in_the_organiser_form_cancels_the_feeds_version(
        client, db, organiser, settings, smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    ana = await register(db, settings, event, "Ana")
    await deliver_outbox(settings)
    await login(client, organiser.email)
    form = {"title": event.title, "kind": "lecture", "starts_at": "2030-03-05T14:00", "ends_at": "2030-03-05T15:30",
            "timezone": "Asia/Shanghai", "venue_name": "Main Building, Room 101", "summary": "A lecture."}
    edited = await post_form(client, f"/organiser/events/{event.slug}/edit", form)
    assert edited.status_code in (302, 303), edited.text
    await deliver_outbox(settings)  # the REQUEST for the new venue
    # She withdraws through a session that read the event before the change (a cached value).
    await cancel(db, settings, ana.token)
    await deliver_outbox(settings)
    sent = await assert_cancel_matches_the_feed(client, smtp_server, event)
    assert sent.location == "Main Building, Room 101" and sent.sequence == 1


async def test_withdrawal_after_a_venue_change_through_the_api_cancels_the_feeds_version(
        client, db, organiser, settings, smtp_server, token):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    ana = await register(db, settings, event, "Ana")
    await deliver_outbox(settings)
    for venue in ("Room 1", "Room 2"):
        response = await client.patch(f"/api/events/{event.slug}", json={"venue_name": venue},
                                      headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
    url = f"/registrations/{ana.token}"
    await post_form(client, url, {"confirm": "yes"}, action=f"{url}/cancel")  # through her link, as she would
    await deliver_outbox(settings)
    sent = await assert_cancel_matches_the_feed(client, smtp_server, event)
    assert sent.location == "Room 2" and sent.sequence == 2


async def test_a_cancel_composed_after_a_later_change_carries_that_change_and_its_sequence(
        client, db, organiser, settings, smtp_server, token):
    """The report of the issue: the CANCEL showed the new venue with her invitation's SEQUENCE (1) while the
    feed served 2. The mail is queued by the withdrawal and composed by the worker after a change."""
    event = await make_registration_event(db, organiser, settings, capacity=5)
    ana = await register(db, settings, event, "Ana")
    events = EventService(session=db, settings=settings)
    await events.update_event(await events.load(event.id), {"venue_name": "Room 1"})
    await db.commit()
    await deliver_outbox(settings)  # confirmation and the first change's REQUEST, SEQUENCE 1
    await cancel(db, settings, ana.token)  # queued, not composed yet
    response = await client.patch(f"/api/events/{event.slug}", json={"venue_name": "Room 2"},
                                  headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    await deliver_outbox(settings)
    sent = await assert_cancel_matches_the_feed(client, smtp_server, event)
    assert sent.location == "Room 2" and sent.sequence == 2


async def test_a_deferred_request_never_outranks_the_feed_nor_lags_behind_it(client, db, organiser, settings,
                                                                          smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    await register(db, settings, event, "Ana")  # confirmation queued
    events = EventService(session=db, settings=settings)
    await events.update_event(await events.load(event.id), {"starts_at": "2030-03-05T16:00",
                                                            "ends_at": "2030-03-05T17:00"})
    await db.commit()
    await deliver_outbox(settings)
    feed = await feed_entry(client, event)
    for message in smtp_server.to("ana@example.org"):
        sent = read_everywhere(raw_invitation(message))[uid(event)]
        assert (sent.sequence, sent.start) == (feed.sequence, feed.start)


async def test_the_invitation_is_laid_out_as_outlook_and_gmail_expect(db, organiser, settings, smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    ana = await register(db, settings, event, "Ana")
    await cancel(db, settings, ana.token)
    await deliver_outbox(settings)
    for message, method in zip(smtp_server.to("ana@example.org"), ("REQUEST", "CANCEL"), strict=True):
        tree = [(part.get_content_type(), part.get_param("method"), part.get_filename())
                for part in message.walk()]
        expected_files = [("image/png", None, "check-in-code.png")] if method == "REQUEST" else []
        assert tree == [
            ("multipart/mixed", None, None),
            ("multipart/alternative", None, None),
            ("text/plain", None, None),
            ("text/html", None, None),
            ("text/calendar", method, None),
            *expected_files,
            ("application/ics", None, "invite.ics"),
        ]
        [inline] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        assert inline.get_content_charset() == "utf-8" and not inline.is_attachment()
        assert f"METHOD:{method}\r\n".encode() in raw_invitation(message)
        assert icaljs_method(raw_invitation(message)) in (method, None)


async def test_a_title_only_change_raises_sequence_in_the_feed_and_mails_nobody(client, db, organiser, settings,
                                                                            smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    await register(db, settings, event, "Ana")
    await deliver_outbox(settings)
    before = await feed_entry(client, event)
    events = EventService(session=db, settings=settings)
    await events.update_event(await events.load(event.id), {"title": "A better title"})
    await db.commit()
    after = await feed_entry(client, event)
    assert after.sequence == before.sequence + 1 and after.summary == "A better title"
    assert await deliver_outbox(settings) == 0  # on purpose: see registration.receivers.announce_event_change
    assert len(smtp_server.to("ana@example.org")) == 1


async def test_a_speakers_rename_moves_last_modified_of_the_event_and_the_talk(client, db, organiser):
    from icalendar import Calendar

    from events_app.speakers.services import PersonService
    from tests.conftest import make_event

    event = await make_event(db, organiser, starts_at="2030-03-05T09:00", ends_at="2030-03-05T18:00")
    speaker, talk = await add_speaker_talk(db, event)
    # Everything was last changed a while ago...
    long_ago = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for model, row_id in ((Event, event.id), (Talk, talk.id), (Person, speaker.id)):
        await db.execute(update(model).where(model.id == row_id).values(updated_at=long_ago))
    await db.commit()

    def by_uid(body):
        return {str(v["UID"]): v for v in Calendar.from_ical(body).walk("VEVENT")}

    before = by_uid((await client.get(f"/events/{event.slug}.ics")).content)
    await PersonService(session=db).update_person(await PersonService(session=db).by_id(speaker.id),
                                                  {"full_name": "王晓明"})
    await db.commit()
    after = by_uid((await client.get(f"/events/{event.slug}.ics")).content)
    for key in (uid(event), f"talk-{talk.id}@testserver.local"):
        assert "王晓明" in str(after[key]["DESCRIPTION"]) and "王晓明" not in str(before[key]["DESCRIPTION"])
        assert before[key]["LAST-MODIFIED"].dt == long_ago
        assert after[key]["LAST-MODIFIED"].dt > long_ago, key
        assert after[key]["DTSTAMP"].dt == after[key]["LAST-MODIFIED"].dt


async def test_registration_service_cancel_queues_no_pinned_sequence(db, organiser, settings):
    from sqlalchemy import select

    from events_app.notify.models import OutboxMessage

    event = await make_registration_event(db, organiser, settings, capacity=5)
    ana = await register(db, settings, event, "Ana")
    service = RegistrationService(db, settings)
    await service.cancel(await service.by_token(ana.token))
    await db.commit()
    payloads = [row.payload for row in await db.scalars(select(OutboxMessage))]
    assert payloads and all("sequence" not in payload for payload in payloads)
