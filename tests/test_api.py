from __future__ import annotations

from sqlalchemy import func, select

from events_app.events.models import Event
from tests.conftest import make_account, make_event, make_token


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


EVENT_JSON = {
    "title": "International Conference on Scholarly Information",
    "kind": "conference",
    "starts_at": "2030-10-20T09:00:00+08:00",
    "ends_at": "2030-10-22T17:30:00+08:00",
    "timezone": "Asia/Shanghai",
    "venue_name": "National Science Library",
    "partners": ["IFLA", "北京大学"],
}


async def test_create_event_answers_201_with_model_field_names(client, token):
    response = await client.post("/api/events", json=EVENT_JSON, headers=auth(token))
    assert response.status_code == 201, response.text
    body = response.json()
    for field in ("slug", "kind", "title", "summary", "description", "starts_at", "ends_at", "timezone", "status",
                  "venue_name", "venue_address", "online_url", "language", "series", "partners", "revision"):
        assert field in body
    assert body["slug"] == "international-conference-on-scholarly-information"
    assert body["starts_at"] == "2030-10-20T09:00:00+08:00"  # ISO 8601 with the event's offset
    assert body["status"] == "draft" and body["partners"] == ["IFLA", "北京大学"]


async def test_writes_need_a_token_and_reads_do_not(client, db, organiser):
    assert (await client.post("/api/events", json=EVENT_JSON)).status_code == 401
    assert (await client.post("/api/events", json=EVENT_JSON, headers=auth("evt_wrong"))).status_code == 401
    assert await db.scalar(select(func.count()).select_from(Event)) == 0
    await make_event(db, organiser, title="Public lecture", starts_at="2030-01-01T10:00", ends_at="2030-01-01T11:00")
    listing = await client.get("/api/events")
    assert listing.status_code == 200
    assert [e["title"] for e in listing.json()["items"]] == ["Public lecture"]


async def test_drafts_are_hidden_from_anonymous_api_reads(client, db, organiser, token):
    event = await make_event(db, organiser, publish=False)
    assert (await client.get(f"/api/events/{event.slug}")).status_code == 404
    assert (await client.get(f"/api/events/{event.slug}", headers=auth(token))).status_code == 200


async def test_patch_changes_some_fields_and_bumps_revision(client, db, organiser, token):
    event = await make_event(db, organiser)
    response = await client.patch(
        f"/api/events/{event.slug}", json={"venue_name": "Hall 2", "status": "published"}, headers=auth(token)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["venue_name"] == "Hall 2" and body["title"] == event.title
    assert body["revision"] > event.revision


async def test_publish_unpublish_cancel_endpoints(client, db, organiser, token):
    event = await make_event(db, organiser, publish=False)
    for action, status in (("publish", "published"), ("cancel", "cancelled"), ("unpublish", "draft")):
        response = await client.post(f"/api/events/{event.slug}/{action}", headers=auth(token))
        assert response.status_code == 200 and response.json()["status"] == status


async def test_validation_errors_name_the_field(client, token):
    bad = {**EVENT_JSON, "ends_at": "2030-10-19T09:00:00+08:00", "timezone": "Nowhere/City"}
    response = await client.post("/api/events", json=bad, headers=auth(token))
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert "timezone" in fields

    response = await client.post("/api/events", json={**EVENT_JSON, "ends_at": "2030-10-19T09:00:00+08:00"},
                                 headers=auth(token))
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "ends_at", "message": "The end must be after the start."}]

    response = await client.post("/api/events", json={**EVENT_JSON, "title": "x" * 201}, headers=auth(token))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "title"

    response = await client.post("/api/events", json={**EVENT_JSON, "starts_at": "not a date"}, headers=auth(token))
    assert response.status_code == 400 and "starts_at" in response.text

    response = await client.post("/api/events", json={**EVENT_JSON, "colour": "red"}, headers=auth(token))
    assert response.status_code == 400 and "colour" in response.text


async def test_duplicate_slug_is_409(client, token):
    first = await client.post("/api/events", json={**EVENT_JSON, "slug": "icsi-2030"}, headers=auth(token))
    assert first.status_code == 201
    second = await client.post("/api/events", json={**EVENT_JSON, "slug": "icsi-2030"}, headers=auth(token))
    assert second.status_code == 409 and second.json()["errors"][0]["field"] == "slug"
    # the same title without a slug gets the next free one
    third = await client.post("/api/events", json=EVENT_JSON, headers=auth(token))
    fourth = await client.post("/api/events", json=EVENT_JSON, headers=auth(token))
    assert third.json()["slug"] != fourth.json()["slug"]


async def test_organiser_cannot_patch_an_event_they_do_not_manage(client, db, token):
    other = await make_account(db, "other@example.org")
    event = await make_event(db, other, title="Not yours")
    response = await client.patch(f"/api/events/{event.slug}", json={"title": "Mine now"}, headers=auth(token))
    assert response.status_code == 403
    await db.refresh(event)
    assert event.title == "Not yours"


async def test_unknown_resources_are_404(client, token):
    assert (await client.get("/api/events/no-such-event")).status_code == 404
    assert (await client.get("/api/series/no-such-series")).status_code == 404
    assert (await client.get("/api/speakers/999999")).status_code == 404
    assert (await client.patch("/api/events/no-such-event", json={}, headers=auth(token))).status_code == 404


async def test_series_speakers_and_talks_through_the_api(client, db, organiser, token):
    series = await client.post("/api/series", json={"title": "Invited Lectures"}, headers=auth(token))
    assert series.status_code == 201 and series.json()["slug"] == "invited-lectures"
    assert (await client.get("/api/series/invited-lectures")).json()["title"] == "Invited Lectures"

    bad_person = await client.post("/api/speakers", json={"full_name": "A", "orcid": "1234", "homepage": "ftp://x"},
                                   headers=auth(token))
    assert bad_person.status_code == 422
    assert {e["field"] for e in bad_person.json()["errors"]} == {"orcid", "homepage"}
    person = await client.post(
        "/api/speakers", json={"full_name": "张晓林", "country": "CN", "email": "zhang@example.cn"}, headers=auth(token)
    )
    assert person.status_code == 201
    person_id = person.json()["id"]
    assert "email" not in (await client.get(f"/api/speakers/{person_id}")).json()  # private
    assert (await client.get(f"/api/speakers/{person_id}", headers=auth(token))).json()["email"] == "zhang@example.cn"

    event = await client.post(
        "/api/events", json={**EVENT_JSON, "series": "invited-lectures", "status": "published"}, headers=auth(token)
    )
    slug = event.json()["slug"]
    assert event.json()["series"] == "invited-lectures"
    talk = await client.post(
        f"/api/events/{slug}/talks",
        json={"title": "Keynote", "starts_at": "2030-10-20T09:30:00", "ends_at": "2030-10-20T10:30:00",
              "speaker_ids": [person_id]},
        headers=auth(token),
    )
    assert talk.status_code == 201, talk.text
    assert talk.json()["starts_at"] == "2030-10-20T09:30:00+08:00"  # read in the event's zone
    outside = await client.post(
        f"/api/events/{slug}/talks",
        json={"title": "Late", "starts_at": "2030-10-25T09:30:00", "ends_at": "2030-10-25T10:30:00"}, headers=auth(token),
    )
    assert outside.status_code == 422
    detail = (await client.get(f"/api/events/{slug}")).json()
    assert [t["title"] for t in detail["talks"]] == ["Keynote"]
    assert detail["talks"][0]["speakers"][0]["full_name"] == "张晓林"
    assert "email" not in detail["talks"][0]["speakers"][0]


async def test_lists_are_paginated(client, db, organiser):
    for n in range(5):
        await make_event(db, organiser, title=f"Lecture {n}", starts_at=f"2030-01-0{n + 1}T10:00",
                         ends_at=f"2030-01-0{n + 1}T11:00")
    page = (await client.get("/api/events", params={"limit": 2, "offset": 2})).json()
    assert page["total"] == 5 and page["limit"] == 2 and page["offset"] == 2
    assert [e["title"] for e in page["items"]] == ["Lecture 2", "Lecture 3"]
    assert (await client.get("/api/events", params={"limit": 1000})).status_code == 400


async def test_openapi_schema_documents_the_api(client):
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/events" in schema["paths"] and "/api/events/{slug}" in schema["paths"]
    assert "/organiser" not in schema["paths"]


async def test_token_from_account_page_works_and_can_be_revoked(client, db, organiser):
    from tests.conftest import login, post_form

    await login(client, organiser.email)
    page = await post_form(client, "/organiser/account", {"name": "script"}, action="/organiser/account/tokens")
    import re

    token = re.search(r'id="new-token">([^<]+)<', page.text).group(1)
    assert (await client.post("/api/series", json={"title": "Via token"}, headers=auth(token))).status_code == 201
    token_id = re.search(r"/organiser/account/tokens/(\d+)/revoke", (await client.get("/organiser/account")).text).group(1)
    await post_form(client, "/organiser/account", {}, action=f"/organiser/account/tokens/{token_id}/revoke")
    assert (await client.post("/api/series", json={"title": "Again"}, headers=auth(token))).status_code == 401


async def test_tokens_are_stored_hashed(db, organiser):
    from events_app.accounts.models import ApiToken

    token = await make_token(db, organiser)
    stored = await db.scalar(select(ApiToken.token_hash))
    assert token not in stored and len(stored) == 64
