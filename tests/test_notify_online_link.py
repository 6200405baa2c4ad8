"""An online event's meeting link for registered attendees only (issue #14)."""

from __future__ import annotations

from tests.conftest import deliver_outbox, login, make_token, post_form, text_of
from tests.registration_helpers import make_registration_event, register
from tests.test_registration_calendar import create_feed

MEETING = "https://meet.example.org/secret-room-4711"


async def test_a_link_for_attendees_only_appears_in_no_public_page_or_feed_but_reaches_the_attendee(
        client, db, organiser, settings, smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5, event_overrides={
        "online_url": MEETING, "online_url_private": True, "venue_name": ""})
    ana = await register(db, settings, event, "Ana")

    public = [f"/events/{event.slug}", f"/events/{event.slug}", "/", "/api/events", f"/api/events/{event.slug}",
              "/calendar.ics", f"/events/{event.slug}.ics", "/calendar.ics?kind=lecture"]
    for path in public:
        answer = await client.get(path)
        assert answer.status_code == 200, path
        assert "meet.example.org" not in answer.text, path
    assert "The link is sent to registered attendees." in (await client.get(f"/events/{event.slug}")).text

    # The attendee: confirmation (text and invitation), their page, their own calendar.
    await deliver_outbox(settings)
    [confirmation] = smtp_server.to("ana@example.org")
    assert MEETING in text_of(confirmation)
    invite = next(part for part in confirmation.walk() if part.get_content_type() == "text/calendar")
    assert "meet.example.org" in invite.get_content()
    page = await client.get(f"/registrations/{ana.token}")
    assert MEETING in page.text
    feed, _page = await create_feed(client, ana.token)
    assert "meet.example.org" in (await client.get(feed)).text
    # A public feed asked again after the personal one was built still has no link (no shared cache).
    assert "meet.example.org" not in (await client.get(f"/events/{event.slug}.ics")).text

    # Those who manage the event see it in the API.
    headers = {"Authorization": f"Bearer {await make_token(db, organiser)}"}
    managed = (await client.get(f"/api/events/{event.slug}", headers=headers)).json()
    assert managed["online_url"] == MEETING and managed["online_url_private"] is True


async def test_organisers_mark_the_link_in_the_event_form(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, event_overrides={"online_url": MEETING})
    assert MEETING in (await client.get(f"/events/{event.slug}")).text  # public until marked
    await login(client, organiser.email)
    form = await client.get(f"/organiser/events/{event.slug}/edit")
    values = {"title": event.title, "kind": "lecture", "starts_at": "2030-03-05T14:00", "ends_at": "2030-03-05T15:30",
              "timezone": "Asia/Shanghai", "online_url": MEETING, "online_url_private": "on", "language": "en"}
    assert 'name="online_url_private"' in form.text
    saved = await post_form(client, f"/organiser/events/{event.slug}/edit", values)
    assert saved.status_code in (302, 303), saved.text[:500]
    client.cookies.clear()
    assert "meet.example.org" not in (await client.get(f"/events/{event.slug}")).text
