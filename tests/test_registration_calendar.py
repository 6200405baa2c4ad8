"""Registration meets the calendar: invitations by e-mail (REQUEST, updates, CANCEL) and a person's own feed."""

from __future__ import annotations

import re

import icalendar
import vobject

from events_app.events.services import EventService
from events_app.registration.services import RegistrationService
from tests.conftest import deliver_outbox, login, post_form
from tests.registration_helpers import cancel, make_registration_event, register


def invitation_of(message) -> tuple[icalendar.Calendar, icalendar.Event]:
    """The invitation as Outlook and Gmail read it: a text/calendar part inside multipart/alternative whose
    method parameter is the body's METHOD; the same bytes also attached as invite.ics (issue #11 item 7)."""
    assert message.get_content_type() == "multipart/mixed"
    [alternative] = [p for p in message.iter_parts() if p.get_content_type() == "multipart/alternative"]
    inline = [p for p in alternative.iter_parts() if p.get_content_type() == "text/calendar"]
    assert len(inline) == 1, [p.get_content_type() for p in alternative.iter_parts()]
    [part] = inline
    [attached] = [p for p in message.iter_attachments() if p.get_filename() == "invite.ics"]
    assert attached.get_content_type() == "application/ics"
    assert attached.get_content() == part.get_content().encode()
    calendar = icalendar.Calendar.from_ical(part.get_content())
    assert str(calendar["METHOD"]) == part.get_param("method")  # the MIME parameter matches the body
    [vevent] = calendar.walk("VEVENT")
    return calendar, vevent


def has_invitation(message) -> bool:
    return any(p.get_content_type() in ("text/calendar", "application/ics") for p in message.walk())


def attendees(vevent) -> list[str]:
    value = vevent.get("ATTENDEE")
    return [str(a).lower() for a in (value if isinstance(value, list) else [value])]


async def public_uid(client, event) -> tuple[str, int]:
    feed = icalendar.Calendar.from_ical((await client.get(f"/events/{event.slug}.ics")).content)
    [vevent] = [v for v in feed.walk("VEVENT") if str(v["UID"]).startswith("event-")]
    return str(vevent["UID"]), int(vevent["SEQUENCE"])


async def test_confirmation_mail_invites_the_attendee_with_the_public_feeds_uid(client, db, organiser, settings,
                                                                               smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    await register(db, settings, event, "王小明", email="wang@example.cn")
    await deliver_outbox(settings)
    [message] = smtp_server.to("wang@example.cn")
    calendar, vevent = invitation_of(message)
    assert str(calendar["METHOD"]) == "REQUEST"
    assert attendees(vevent) == ["mailto:wang@example.cn"]
    assert vevent["ATTENDEE"].params["CN"] == "王小明" and vevent["ATTENDEE"].params["PARTSTAT"] == "ACCEPTED"
    assert str(vevent["STATUS"]) == "CONFIRMED" and "ORGANIZER" in vevent
    assert (str(vevent["UID"]), int(vevent["SEQUENCE"])) == await public_uid(client, event)
    vobject.readOne(calendar.to_ical().decode())  # an independent parser reads it too


async def test_waitlisted_people_get_no_invitation_until_promoted(db, organiser, settings, smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=1)
    ana = await register(db, settings, event, "Ana")
    await register(db, settings, event, "Bo")
    await cancel(db, settings, ana.token)
    await deliver_outbox(settings)
    waitlisted, promoted = smtp_server.to("bo@example.org")
    assert not has_invitation(waitlisted)
    calendar, vevent = invitation_of(promoted)
    assert str(calendar["METHOD"]) == "REQUEST" and attendees(vevent) == ["mailto:bo@example.org"]


async def test_approval_sends_the_invitation(db, organiser, settings, smtp_server):
    event = await make_registration_event(db, organiser, settings, mode="approval", capacity=5)
    ana = await register(db, settings, event, "Ana")
    service = RegistrationService(db, settings)
    await service.approve(await service.for_event(event, ana.registration.id))
    await db.commit()
    await deliver_outbox(settings)
    pending, approved = smtp_server.to("ana@example.org")
    assert not has_invitation(pending)
    assert str(invitation_of(approved)[0]["METHOD"]) == "REQUEST"


async def test_time_change_updates_confirmed_attendees_only(client, db, organiser, settings, smtp_server, token):
    event = await make_registration_event(db, organiser, settings, capacity=1)
    await register(db, settings, event, "Ana")
    await register(db, settings, event, "Bo")  # waitlisted: never invited, so not updated
    await deliver_outbox(settings)
    [confirmation] = smtp_server.to("ana@example.org")
    _cal, first = invitation_of(confirmation)

    # Through the API, as an organiser would: the provider hands the app's settings to the event service.
    response = await client.patch(f"/api/events/{event.slug}", json={"starts_at": "2030-03-05T07:00:00Z"},
                                  headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    await deliver_outbox(settings)
    confirmation, update = smtp_server.to("ana@example.org")
    assert update["Subject"] == f"Changed: {event.title}"
    calendar, vevent = invitation_of(update)
    assert str(calendar["METHOD"]) == "REQUEST" and str(vevent["UID"]) == str(first["UID"])
    assert int(vevent["SEQUENCE"]) > int(first["SEQUENCE"])
    assert vevent.decoded("DTSTART").hour == 15
    assert (str(vevent["UID"]), int(vevent["SEQUENCE"])) == await public_uid(client, event)
    assert len(smtp_server.to("bo@example.org")) == 1  # the waitlist mail only


async def test_a_change_that_leaves_time_and_place_alone_sends_nothing(db, organiser, settings, smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    await register(db, settings, event, "Ana")
    await EventService(session=db, settings=settings).update_event(event, {"summary": "Now with coffee."})
    await db.commit()
    assert await deliver_outbox(settings) == 1  # the confirmation


async def test_cancelling_the_event_sends_cancel_to_confirmed_attendees(db, organiser, settings, smtp_server):
    from events_app.events.models import EventStatus

    event = await make_registration_event(db, organiser, settings, capacity=5)
    await register(db, settings, event, "Ana")
    # The confirmation goes out first: a mail composed after the cancellation would (rightly) carry the
    # cancelled state and its SEQUENCE, as the feed does then (see test_calendar_sequence.py).
    await deliver_outbox(settings)
    events = EventService(session=db, settings=settings)
    await events.set_status(await events.load(event.id), EventStatus.CANCELLED)
    await db.commit()
    await deliver_outbox(settings)
    confirmation, cancellation = smtp_server.to("ana@example.org")
    assert cancellation["Subject"] == f"Cancelled: {event.title}"
    calendar, vevent = invitation_of(cancellation)
    assert str(calendar["METHOD"]) == "CANCEL" and str(vevent["STATUS"]) == "CANCELLED"
    assert str(vevent["UID"]) == str(invitation_of(confirmation)[1]["UID"])
    assert int(vevent["SEQUENCE"]) > int(invitation_of(confirmation)[1]["SEQUENCE"])


async def test_organiser_cancelling_on_the_event_page_sends_cancel(client, db, organiser, settings, smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    await register(db, settings, event, "Ana")
    await login(client, organiser.email)
    page = f"/organiser/events/{event.slug}"
    # The button asks first, saying who will be mailed; nothing is cancelled or queued until confirmed.
    asked = await post_form(client, page, {"status": "cancelled"}, action=f"{page}/status", follow_redirects=False)
    assert asked.status_code == 200 and "1 confirmed attendee will be mailed" in asked.text
    assert 'name="confirm" value="yes"' in asked.text
    await db.refresh(event)
    assert event.status.value == "published"
    assert await deliver_outbox(settings) == 1  # only Ana's confirmation
    response = await post_form(client, page, {"status": "cancelled", "confirm": "yes"}, action=f"{page}/status",
                               follow_redirects=False)
    assert response.status_code in (302, 303)
    await deliver_outbox(settings)
    _confirmation, cancellation = smtp_server.to("ana@example.org")
    assert str(invitation_of(cancellation)[0]["METHOD"]) == "CANCEL"


async def test_cancelling_through_an_update_with_status_also_sends_cancel(db, organiser, settings, smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    await register(db, settings, event, "Ana")
    await EventService(session=db, settings=settings).update_event(event, {"status": "cancelled"})
    await db.commit()
    await deliver_outbox(settings)
    _confirmation, cancellation = smtp_server.to("ana@example.org")
    assert str(invitation_of(cancellation)[0]["METHOD"]) == "CANCEL"


async def test_cancelling_ones_registration_sends_cancel_to_that_person(client, db, organiser, settings, smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    ana = await register(db, settings, event, "Ana")
    await register(db, settings, event, "Bo")
    url = f"/registrations/{ana.token}"
    await post_form(client, url, {"confirm": "yes"}, action=f"{url}/cancel", follow_redirects=False)
    await deliver_outbox(settings)
    _confirmation, cancelled = smtp_server.to("ana@example.org")
    calendar, vevent = invitation_of(cancelled)
    assert str(calendar["METHOD"]) == "CANCEL" and attendees(vevent) == ["mailto:ana@example.org"]
    assert len(smtp_server.to("bo@example.org")) == 1  # Bo hears nothing of it


async def create_feed(client, manage_token: str) -> tuple[str, str]:
    url = f"/registrations/{manage_token}"
    page = await post_form(client, url, {}, action=f"{url}/subscription")
    assert page.status_code == 200
    https = re.search(r'value="http://testserver\.local(/my/calendar/[\w-]+\.ics)"', page.text)
    webcal = re.search(r'href="webcal://testserver\.local(/my/calendar/[\w-]+\.ics)"', page.text)
    assert https and webcal and https.group(1) == webcal.group(1), page.text
    return https.group(1), page.text


async def test_personal_feed_lists_the_persons_events_and_parses_with_both_libraries(client, db, organiser,
                                                                                     settings):
    full = await make_registration_event(db, organiser, settings, capacity=1,
                                         event_overrides={"title": "Workshop", "kind": "workshop"})
    other = await make_registration_event(db, organiser, settings, capacity=5,
                                          event_overrides={"title": "Lecture"})
    dropped = await make_registration_event(db, organiser, settings, capacity=5,
                                            event_overrides={"title": "Not going"})
    unrelated = await make_registration_event(db, organiser, settings, capacity=5,
                                              event_overrides={"title": "Someone else's"})
    await register(db, settings, full, "Bo")
    waiting = await register(db, settings, full, "Ana")  # waitlisted
    mine = await register(db, settings, other, "Ana", email="ANA@example.org")  # the same person
    gone = await register(db, settings, dropped, "Ana")
    await register(db, settings, unrelated, "Cy")
    service = RegistrationService(db, settings)
    await service.cancel(await service.by_token(gone.token))
    # Ana has opened the link mailed for the Workshop: only registrations whose address was proven join (#10).
    await service.by_token(waiting.token)
    await db.commit()

    path, page = await create_feed(client, mine.token)
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["cache-control"].startswith("private")
    calendar = icalendar.Calendar.from_ical(response.content)
    parsed = vobject.readOne(response.text)
    statuses = {str(v["SUMMARY"]): str(v["STATUS"]) for v in calendar.walk("VEVENT")}
    assert statuses == {"Lecture": "CONFIRMED", "Workshop": "TENTATIVE"}
    assert sorted(v.summary.value for v in parsed.vevent_list) == ["Lecture", "Workshop"]
    uids = {str(v["SUMMARY"]): str(v["UID"]) for v in calendar.walk("VEVENT")}
    assert uids["Lecture"] == (await public_uid(client, other))[0]
    assert "METHOD" not in calendar

    head = await client.head(path)
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == response.headers["etag"]
    # Bo gives up his seat, Ana's waitlisted one is confirmed: the feed (and its ETag) changes.
    [(bo, _position)] = await service.list_for_event(full, status="confirmed")
    await service.cancel(await service.for_event(full, bo.id))
    await db.commit()
    again = await client.get(path, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 200 and again.headers["etag"] != response.headers["etag"]
    statuses = {str(v["SUMMARY"]): str(v["STATUS"]) for v in icalendar.Calendar.from_ical(again.content).walk("VEVENT")}
    assert statuses == {"Lecture": "CONFIRMED", "Workshop": "CONFIRMED"}
    assert (await service.by_calendar_token(path.rsplit("/", 1)[1].removesuffix(".ics"))).id != waiting.registration.id


async def test_personal_feed_answers_304_when_nothing_changed(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    ana = await register(db, settings, event, "Ana")
    path, _page = await create_feed(client, ana.token)
    first = await client.get(path)
    cached = await client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert cached.status_code == 304 and cached.content == b""
    since = await client.get(path, headers={"If-Modified-Since": first.headers["last-modified"]})
    assert since.status_code == 304


async def test_new_calendar_address_retires_the_old_one_and_unknown_ones_are_404(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    ana = await register(db, settings, event, "Ana")
    manage = (await client.get(f"/registrations/{ana.token}")).text
    assert "Create my calendar address" in manage
    old, _page = await create_feed(client, ana.token)
    assert (await client.get(old)).status_code == 200
    manage = (await client.get(f"/registrations/{ana.token}")).text
    assert "Make a new calendar address" in manage and old not in manage  # shown only once
    new, _page = await create_feed(client, ana.token)
    assert new != old
    assert (await client.get(old)).status_code == 404
    assert (await client.head(old)).status_code == 404
    assert (await client.get(new)).status_code == 200
    assert (await client.get("/my/calendar/not-a-token.ics")).status_code == 404
    assert "生成新的日历地址" in (await client.get(f"/registrations/{ana.token}?lang=zh")).text


async def test_rotating_needs_the_csrf_token(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    ana = await register(db, settings, event, "Ana")
    response = await client.post(f"/registrations/{ana.token}/subscription", data={})
    assert response.status_code == 403
