from __future__ import annotations

from sqlalchemy import func, select

from events_app.registration.models import Registration
from tests.conftest import make_event


async def open_registration(client, token, slug, **settings):
    body = {"mode": "open", "capacity": 2, "waitlist_enabled": True, **settings}
    response = await client.put(f"/api/events/{slug}/registration-settings", json=body,
                                headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()


async def test_public_registration_answers_status_and_manage_url(client, db, organiser, token):
    event = await make_event(db, organiser)
    await open_registration(client, token, event.slug, capacity=1)
    first = await client.post(f"/api/events/{event.slug}/registrations",
                              json={"name": "王小明", "email": "wang@example.cn", "country": "CN"})
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "confirmed" and first.json()["position"] is None
    assert first.json()["manage_url"].startswith("http://testserver.local/registrations/")
    second = await client.post(f"/api/events/{event.slug}/registrations",
                               json={"name": "Ana", "email": "ana@example.org"})
    assert second.json() == {**second.json(), "status": "waitlisted", "position": 1}


async def test_duplicate_email_is_409_and_stores_no_second_row(client, db, organiser, token):
    event = await make_event(db, organiser)
    await open_registration(client, token, event.slug)
    assert (await client.post(f"/api/events/{event.slug}/registrations",
                              json={"name": "Ana", "email": "ana@example.org"})).status_code == 201
    again = await client.post(f"/api/events/{event.slug}/registrations",
                              json={"name": "Ana B", "email": "ANA@Example.org"})
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "email"
    assert await db.scalar(select(func.count()).select_from(Registration)) == 1
