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


async def test_public_registration_is_accepted_and_its_outcome_and_link_go_to_the_address(client, db, organiser,
                                                                                            token):
    # Until #10 the answer carried the status and the manage link: whoever typed an address got its owner's page.
    event = await make_event(db, organiser)
    await open_registration(client, token, event.slug, capacity=1)
    first = await client.post(f"/api/events/{event.slug}/registrations",
                              json={"name": "王小明", "email": "wang@example.cn", "country": "CN"})
    assert first.status_code == 202, first.text
    assert set(first.json()) == {"email", "detail"} and first.json()["email"] == "wang@example.cn"
    second = await client.post(f"/api/events/{event.slug}/registrations",
                               json={"name": "Ana", "email": "ana@example.org"})
    assert second.status_code == 202
    stored = dict((await db.execute(select(Registration.email, Registration.status))).all())
    assert {k: v.value for k, v in stored.items()} == {"wang@example.cn": "confirmed", "ana@example.org": "waitlisted"}


async def test_duplicate_email_is_answered_as_a_new_one_and_stores_no_second_row(client, db, organiser, token):
    # Until #10 this was 409 "already registered": a way to learn who attends what.
    event = await make_event(db, organiser)
    await open_registration(client, token, event.slug)
    first = await client.post(f"/api/events/{event.slug}/registrations", json={"name": "Ana", "email": "ana@example.org"})
    assert first.status_code == 202
    again = await client.post(f"/api/events/{event.slug}/registrations",
                              json={"name": "Ana B", "email": "ANA@Example.org"})
    assert again.status_code == 202
    assert again.json() == {**first.json(), "email": "ANA@Example.org"}
    assert await db.scalar(select(func.count()).select_from(Registration)) == 1


async def test_bad_input_is_422_naming_each_field(client, db, organiser, token):
    event = await make_event(db, organiser)
    await open_registration(client, token, event.slug, questions=[
        {"label": "Session", "kind": "single_choice", "required": True, "options": ["A", "B"]}])
    response = await client.post(f"/api/events/{event.slug}/registrations",
                                 json={"name": "x" * 201, "email": "nope", "answers": {"session": "C"}})
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"name", "email", "answers.session"}
    wrong_type = await client.post(f"/api/events/{event.slug}/registrations", json={"name": 5, "email": "a@b.org"})
    assert wrong_type.status_code == 400
    assert await db.scalar(select(func.count()).select_from(Registration)) == 0


async def test_closed_registration_is_422_with_the_reason(client, db, organiser, token):
    event = await make_event(db, organiser)
    await open_registration(client, token, event.slug, mode="closed")
    response = await client.post(f"/api/events/{event.slug}/registrations", json={"name": "A", "email": "a@b.org"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "event", "message": "Registration is closed."}]


async def test_organiser_endpoints_need_a_token_of_a_manager(client, db, organiser, token):
    from tests.conftest import make_account, make_token

    event = await make_event(db, organiser)
    await open_registration(client, token, event.slug)
    await client.post(f"/api/events/{event.slug}/registrations", json={"name": "Ana", "email": "ana@example.org"})
    assert (await client.get(f"/api/events/{event.slug}/registrations")).status_code == 401
    other = await make_token(db, await make_account(db, "other@example.org"))
    forbidden = await client.get(f"/api/events/{event.slug}/registrations", headers={"Authorization": f"Bearer {other}"})
    assert forbidden.status_code == 403
    headers = {"Authorization": f"Bearer {token}"}
    [ana] = (await client.get(f"/api/events/{event.slug}/registrations", headers=headers)).json()
    cancelled = await client.post(f"/api/events/{event.slug}/registrations/{ana['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    export = await client.get(f"/api/events/{event.slug}/registrations/export", headers=headers)
    assert export.content.startswith(b"\xef\xbb\xbf") and "ana@example.org" in export.text


async def test_registrations_from_one_address_are_rate_limited_and_the_rest_of_the_site_is_not(
    db, organiser, token, settings, clean_db
):
    from dataclasses import replace

    from litestar.testing import AsyncTestClient

    from events_app.app import create_app

    event = await make_event(db, organiser)
    async with AsyncTestClient(app=create_app(replace(settings, registration_rate_limit=3))) as client:
        await open_registration(client, token, event.slug, capacity=10)
        answers = [(await client.post(f"/api/events/{event.slug}/registrations",
                                      json={"name": f"P{n}", "email": f"p{n}@example.org"})).status_code
                   for n in range(5)]
        assert answers == [202, 202, 202, 429, 429]
        # the form counts against the same limit; reading pages and other writes do not
        form = await client.post(f"/events/{event.slug}/register", data={"name": "Q", "email": "q@example.org"})
        assert form.status_code == 429
        assert (await client.get(f"/events/{event.slug}")).status_code == 200
        assert (await client.get(f"/api/events/{event.slug}/registrations",
                                 headers={"Authorization": f"Bearer {token}"})).status_code == 200
    assert await db.scalar(select(func.count()).select_from(Registration)) == 3
