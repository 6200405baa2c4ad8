"""Publishing warns when registration is closed; the event and status forms can open it in the same step."""

from __future__ import annotations

from sqlalchemy import select

from events_app.events.models import Event
from events_app.registration.models import RegistrationMode, RegistrationSettings
from tests.conftest import login, make_event, post_form

NEW_EVENT = {"title": "Open day 开放日", "kind": "lecture", "starts_at": "2030-05-10T09:00",
             "ends_at": "2030-05-10T11:00", "timezone": "Asia/Shanghai", "venue_name": "Hall", "language": "en"}


async def mode_of(db, event_id: int) -> RegistrationMode | None:
    row = await db.scalar(select(RegistrationSettings).where(RegistrationSettings.event_id == event_id)
                          .execution_options(populate_existing=True))
    return None if row is None else row.mode


async def test_publishing_with_registration_closed_warns_before_and_after(client, db, organiser):
    event = await make_event(db, organiser, publish=False)
    await login(client, organiser.email)
    page = f"/organiser/events/{event.slug}"
    before = (await client.get(page)).text
    assert "Registration is closed: the public page says so" in before and 'name="open_registration"' in before
    published = await post_form(client, page, {"status": "published"}, action=f"{page}/status", follow_redirects=True)
    assert "The event is published." in published.text
    assert "Registration is closed: the public page says so and nobody can register. Open it" in published.text
    assert await mode_of(db, event.id) in (None, RegistrationMode.CLOSED)
    assert "Registration is closed." in (await client.get(f"/events/{event.slug}")).text


async def test_publishing_can_open_registration_in_the_same_step(client, db, organiser):
    event = await make_event(db, organiser, publish=False)
    await login(client, organiser.email)
    page = f"/organiser/events/{event.slug}"
    published = await post_form(client, page, {"status": "published", "open_registration": "on"},
                                action=f"{page}/status", follow_redirects=True)
    assert "The event is published." in published.text and "Registration is closed" not in published.text
    assert await mode_of(db, event.id) == RegistrationMode.OPEN
    public = (await client.get(f"/events/{event.slug}")).text
    assert "Registration is closed." not in public and 'name="email"' in public


async def test_the_new_event_form_opens_registration_when_ticked(client, db, organiser):
    await login(client, organiser.email)
    form = (await client.get("/organiser/events/new")).text
    assert 'name="open_registration"' in form
    await post_form(client, "/organiser/events/new", {**NEW_EVENT, "open_registration": "on"})
    await post_form(client, "/organiser/events/new", {**NEW_EVENT, "title": "Closed day"})
    opened = await db.scalar(select(Event).where(Event.title == NEW_EVENT["title"]))
    closed = await db.scalar(select(Event).where(Event.title == "Closed day"))
    assert await mode_of(db, opened.id) == RegistrationMode.OPEN
    assert await mode_of(db, closed.id) in (None, RegistrationMode.CLOSED)
    # Once open, the edit form no longer offers it; ticking it on the edit form of a closed event opens it.
    assert 'name="open_registration"' not in (await client.get(f"/organiser/events/{opened.slug}/edit")).text
    edit = f"/organiser/events/{closed.slug}/edit"
    assert 'name="open_registration"' in (await client.get(edit)).text
    saved = await post_form(client, edit, {**NEW_EVENT, "title": "Closed day", "open_registration": "on"},
                            follow_redirects=False)
    assert saved.status_code in (302, 303), saved.text
    assert await mode_of(db, closed.id) == RegistrationMode.OPEN
