"""Editing an event's time or place: the form says who would be mailed and lets the organiser not mail them."""

from __future__ import annotations

import pytest

from events_app.events.controllers import event_form_values
from tests.conftest import deliver_outbox, login, post_form
from tests.registration_helpers import make_registration_event, register


async def edit_form(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    await register(db, settings, event, "Ana")
    await register(db, settings, event, "Bo")
    assert await deliver_outbox(settings) == 2  # the confirmations
    await login(client, organiser.email)
    return event, f"/organiser/events/{event.slug}/edit", event_form_values(event)


@pytest.mark.parametrize("notify", [True, False])
async def test_edit_form_says_who_would_be_mailed_and_mails_only_if_asked(client, db, organiser, settings,
                                                                          smtp_server, notify):
    event, url, values = await edit_form(client, db, organiser, settings)
    page = (await client.get(url)).text
    assert "2 confirmed attendees are mailed an updated calendar invitation" in page
    assert 'name="notify_attendees" value="on" checked' in page  # notifying is the default
    values = {**values, "venue_name": "Room 101, new building", "notify_choice": "1"}
    if notify:
        values["notify_attendees"] = "on"
    saved = await post_form(client, url, values, follow_redirects=False)
    assert saved.status_code in (302, 303), saved.text
    await db.refresh(event)
    assert event.venue_name == "Room 101, new building"
    assert await deliver_outbox(settings) == (2 if notify else 0)
    if notify:
        assert smtp_server.to("ana@example.org")[-1]["Subject"] == f"Changed: {event.title}"


async def test_a_form_without_the_choice_still_notifies(client, db, organiser, settings, smtp_server):
    event, url, values = await edit_form(client, db, organiser, settings)
    saved = await post_form(client, url, {**values, "venue_name": "Elsewhere"}, follow_redirects=False)
    assert saved.status_code in (302, 303)
    assert await deliver_outbox(settings) == 2


@pytest.mark.parametrize("body, mailed", [({}, 2), ({"notify_attendees": True}, 2), ({"notify_attendees": False}, 0)])
async def test_api_update_mails_attendees_unless_told_not_to(client, db, organiser, settings, smtp_server, token,
                                                              body, mailed):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    await register(db, settings, event, "Ana")
    await register(db, settings, event, "Bo")
    await deliver_outbox(settings)
    response = await client.patch(f"/api/events/{event.slug}", json={"venue_name": "Hall B", **body},
                                  headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.json()["venue_name"] == "Hall B"
    assert await deliver_outbox(settings) == mailed


async def test_api_rejects_a_notify_flag_that_is_not_a_boolean(client, db, organiser, settings, token):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    response = await client.patch(f"/api/events/{event.slug}", json={"venue_name": "Hall B", "notify_attendees": "no"},
                                  headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400 and "notify_attendees" in response.text
