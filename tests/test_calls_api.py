"""Issue 16 through the JSON API: the committee lists and decides with organiser tokens; a reviewer's token sees
only what it may review, with no author anywhere when double-blind; OpenAPI documents it."""

from __future__ import annotations

from email import message_from_bytes, policy

from sqlalchemy import select

from events_app.calls import services
from events_app.events.models import Event
from events_app.notify.models import OutboxMessage
from tests.calls_helpers import make_call, submit
from tests.conftest import make_account, make_token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_double_blind_reviewer_sees_no_author_name_in_the_api(client, db, organiser, settings):
    call = await make_call(db, organiser, blind_authors=True)
    mine, _ = await submit(db, settings, call, name="王芳", email="wang.fang@example.cn", affiliation="北京大学")
    await submit(db, settings, call, name="Colleague", email="c@example.org", affiliation="Analytical Engines")
    reviewer_account = await make_account(db, "reviewer@example.org")
    event = await db.get(Event, call.event_id)
    await services.appoint_reviewer(db, settings, call, event, {"account_id": reviewer_account.id,
                                                                "affiliation": "Analytical Engines"})
    await db.commit()
    token = await make_token(db, reviewer_account)
    [mail] = (await db.scalars(select(OutboxMessage).where(OutboxMessage.to_address == "reviewer@example.org"))).all()
    text = message_from_bytes(mail.raw, policy=policy.default).get_body(("plain",)).get_content()
    assert f"http://testserver.local/organiser/reviews/{call.id}\n" in text and "personal" not in text
    response = await client.get(f"/api/calls/{call.id}/submissions", headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [s["id"] for s in body] == [mine.id]  # the colleague's is a conflict of interest
    for forbidden in ("王芳", "北京大学", "wang.fang", "authors", "email"):
        assert forbidden not in response.text
    review = await client.put(f"/api/calls/{call.id}/submissions/{mine.id}/review", headers=bearer(token),
                              json={"scores": {"relevance": 5, "quality": 4}, "comment_author": "Good."})
    assert review.status_code == 200, review.text
    assert "王芳" not in review.text and review.json()["scores"] == {"relevance": 5, "quality": 4}
    refused = await client.put(f"/api/calls/{call.id}/submissions/{mine.id}/review", headers=bearer(token),
                               json={"scores": {"relevance": 0}})
    assert refused.status_code == 422 and "scores.relevance" in refused.text
    # Reviewing is not running the committee.
    for method, path in (("get", "reviews"), ("post", "decisions"), ("get", "submissions/export")):
        kwargs = {"json": {"submission_ids": [mine.id], "decision": "accepted"}} if method == "post" else {}
        assert (await getattr(client, method)(f"/api/calls/{call.id}/{path}", headers=bearer(token), **kwargs)
                ).status_code in (403, 404)


async def test_a_reviewer_of_one_call_cannot_see_another_in_the_api(client, db, organiser, settings):
    first = await make_call(db, organiser)
    second = await make_call(db, organiser, title="Second call")
    hidden, _ = await submit(db, settings, second)
    account = await make_account(db, "reviewer@example.org")
    await services.appoint_reviewer(db, settings, first, await db.get(Event, first.event_id),
                                    {"account_id": account.id})
    await db.commit()
    token = await make_token(db, account)
    assert (await client.get(f"/api/calls/{first.id}/submissions", headers=bearer(token))).json() == []
    assert (await client.get(f"/api/calls/{second.id}/submissions", headers=bearer(token))).status_code == 404
    put = await client.put(f"/api/calls/{second.id}/submissions/{hidden.id}/review", headers=bearer(token),
                           json={"scores": {"relevance": 5, "quality": 5}})
    assert put.status_code == 404
    assert (await client.get(f"/api/calls/{first.id}/submissions")).status_code == 401


async def test_the_committee_lists_with_mean_scores_decides_and_mails(client, db, organiser, token, settings):
    call = await make_call(db, organiser)
    first, _ = await submit(db, settings, call, title="=cmd|' /C calc'!A0")
    listed = await client.get(f"/api/calls/{call.id}/submissions", headers=bearer(token))
    assert listed.status_code == 200
    [row] = listed.json()
    assert row["authors"][0]["name"] == "Wang Fang" and row["review_count"] == 0 and row["state"] == "submitted"
    bad = await client.post(f"/api/calls/{call.id}/decisions", headers=bearer(token),
                            json={"submission_ids": [first.id], "decision": "maybe"})
    assert bad.status_code == 422 and "decision" in bad.text
    decided = await client.post(f"/api/calls/{call.id}/decisions", headers=bearer(token),
                                json={"submission_ids": [first.id], "decision": "rejected"})
    assert decided.json() == {"changed": 1}
    mailed = await client.post(f"/api/calls/{call.id}/decisions/mail", headers=bearer(token), json={})
    assert mailed.json() == {"mailed": 1}
    csv = await client.get(f"/api/calls/{call.id}/submissions/export", headers=bearer(token))
    assert csv.status_code == 200 and "'=cmd" in csv.text
    calls = await client.get(f"/api/events/{(await db.get(Event, call.event_id)).slug}/calls",  # type: ignore[union-attr]
                             headers=bearer(token))
    assert [c["id"] for c in calls.json()] == [call.id]
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/calls/{call_id}/submissions" in schema["paths"]
    assert "/api/calls/{call_id}/decisions" in schema["paths"]


async def test_ids_no_row_can_have_are_nothing_not_an_error(client, db, organiser, token, settings):
    call = await make_call(db, organiser)
    response = await client.post(f"/api/calls/{call.id}/decisions", headers=bearer(token),
                                 json={"submission_ids": [2**63, 0, -5], "decision": "rejected"})
    assert response.status_code == 200 and response.json() == {"changed": 0}
    assert (await client.get(f"/api/calls/{2**64}/submissions", headers=bearer(token))).status_code == 404


async def test_managers_open_and_change_a_call_through_the_api_by_the_forms_rules(client, db, organiser):
    from tests.conftest import make_event

    event = await make_event(db, organiser, title="Symposium on Catalysis", kind="conference",
                             starts_at="2030-03-04T08:00", ends_at="2030-03-06T18:00", timezone="Asia/Shanghai")
    token = await make_token(db, organiser)
    base = f"/api/events/{event.slug}/calls"
    payload = {"kind": "abstracts", "title": "征稿：催化 — Call for abstracts", "opens_at": "2030-01-01T00:00:00",
               "closes_at": "2030-02-01T23:59:00", "tracks": ["Catalysis"], "blind_authors": True,
               "fields": [{"label": "Paper", "kind": "file", "required": False, "types": ["pdf"], "max_mb": 5}],
               "criteria": [{"label": "Relevance", "min": 1, "max": 5}]}
    created = await client.post(base, json=payload, headers=bearer(token))
    assert created.status_code == 201, created.text
    call = created.json()
    # Wall times are read in the event's zone (Asia/Shanghai, UTC+8).
    assert call["title"] == payload["title"] and call["opens_at"].startswith("2029-12-31T16:00")
    assert call["blind_authors"] is True and [c["label"] for c in call["criteria"]] == ["Relevance"]
    assert [c["id"] for c in (await client.get(base, headers=bearer(token))).json()] == [call["id"]]
    # The form's rules, each error naming its field; nothing is stored by a refused request.
    wrong = await client.post(base, json={**payload, "kind": "poems", "closes_at": "2029-12-01T00:00:00"},
                              headers=bearer(token))
    assert wrong.status_code == 422 and {e["field"] for e in wrong.json()["errors"]} == {"kind", "closes_at"}
    unknown = await client.post(base, json={**payload, "secret": 1}, headers=bearer(token))
    assert unknown.status_code == 400 and "secret" in unknown.text
    changed = await client.put(f"/api/calls/{call['id']}", json={**payload, "title": "Call for posters"},
                               headers=bearer(token))
    assert changed.status_code == 200 and changed.json()["title"] == "Call for posters"
    assert len((await client.get(base, headers=bearer(token))).json()) == 1
    # Who may: the event's managers; another organiser is refused, and so is a request without a token.
    stranger = await make_token(db, await make_account(db, "stranger@example.org"))
    assert (await client.post(base, json=payload, headers=bearer(stranger))).status_code == 403
    assert (await client.put(f"/api/calls/{call['id']}", json=payload, headers=bearer(stranger))).status_code == 403
    assert (await client.post(base, json=payload)).status_code == 401
    assert (await client.get(base, headers=bearer(token))).json()[0]["title"] == "Call for posters"


async def test_garbage_in_a_call_sent_through_the_api_is_refused_naming_the_field(client, db, organiser):
    from tests.conftest import make_event

    event = await make_event(db, organiser, title="Symposium on Catalysis", kind="conference",
                             starts_at="2030-03-04T08:00", ends_at="2030-03-06T18:00")
    token = await make_token(db, organiser)
    good = {"kind": "abstracts", "title": "Call", "opens_at": "2030-01-01T00:00:00", "closes_at": "2030-02-01T00:00:00"}
    for field, value in (("title", "Call\x00for abstracts"), ("title", "x" * 60_000), ("opens_at", "0001-01-01T00:00:00"),
                         ("max_abstract_chars", 2**70), ("tracks", ["a" * 60_000]), ("fields", [{"kind": "file"}])):
        answer = await client.post(f"/api/events/{event.slug}/calls", json={**good, field: value}, headers=bearer(token))
        assert 400 <= answer.status_code < 500 and field in answer.text, (field, answer.status_code, answer.text[:200])
    assert (await client.get(f"/api/events/{event.slug}/calls", headers=bearer(token))).json() == []
