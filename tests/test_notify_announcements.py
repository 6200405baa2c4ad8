"""Announcements (issue #14): organisers write to an audience; each person gets their own message."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, update

from events_app.core.i18n import speaking
from events_app.notify.models import Announcement, OutboxMessage, OutboxStatus
from events_app.registration.services import RegistrationService
from tests.conftest import (
    csrf_token_from,
    deliver_outbox,
    login,
    make_account,
    make_event,
    make_token,
    post_form,
    text_of,
)
from tests.registration_helpers import make_registration_event, register

ANNOUNCE = {
    "audience": "confirmed", "subject_en": "News about {event}", "body_en": "Dear {name},\nyour link: {manage_link}",
    "subject_zh": "关于{event}的消息", "body_zh": "{name}，您好：\n您的链接：{manage_link}",
}


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def manage_path(message) -> str:
    match = re.search(r"http://testserver\.local(/registrations/[\w-]+)", text_of(message))
    assert match, text_of(message)
    return match.group(1)


async def deliver_everything(db, settings) -> int:
    """Time passes: every spaced-out message is due; the worker passes until nothing is left."""
    await db.execute(update(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
                     .values(next_attempt_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    await db.commit()
    total = 0
    while sent := await deliver_outbox(settings):
        total += sent
    return total


async def an_event_with_people(db, organiser, settings, **overrides):
    event = await make_registration_event(db, organiser, settings, capacity=2,
                                          event_overrides={"title": "R&D <Open> Science", **overrides})
    alice = await register(db, settings, event, "Alice <b>O'Neil</b>", email="alice@example.org")
    with speaking("zh"):
        li = await register(db, settings, event, "李华", email="li@example.cn")
    carol = await register(db, settings, event, "Carol", email="carol@example.org")  # waitlisted
    return event, alice, li, carol


async def test_announcement_to_confirmed_reaches_exactly_the_confirmed_each_with_own_link_and_language(
        client, db, organiser, settings, smtp_server):
    event, alice, li, carol = await an_event_with_people(db, organiser, settings)
    other = await make_registration_event(db, organiser, settings, capacity=5, event_overrides={"title": "Other"})
    await register(db, settings, other, "Dan", email="dan@example.org")
    await deliver_everything(db, settings)
    smtp_server.messages.clear()

    await login(client, organiser.email)
    response = await post_form(client, f"/organiser/events/{event.slug}/announcements", {**ANNOUNCE, "action": "send"})
    assert response.status_code in (302, 303), response.text
    assert await deliver_everything(db, settings) == 2

    assert sorted(str(m["To"]) for m in smtp_server.messages) == ["alice@example.org", "li@example.cn"]
    [to_alice] = smtp_server.to("alice@example.org")
    [to_li] = smtp_server.to("li@example.cn")
    assert to_alice["Subject"] == "News about R&D <Open> Science"
    assert to_li["Subject"] == "关于R&D <Open> Science的消息"
    assert text_of(to_alice).startswith("Dear Alice <b>O'Neil</b>,")  # plain text stays as typed
    assert "Alice &lt;b&gt;O&#39;Neil&lt;/b&gt;" in html_of(to_alice) and "<b>O" not in html_of(to_alice)
    assert text_of(to_li).startswith("李华，您好")
    # Each has their own private link, and it opens their own registration.
    assert manage_path(to_alice) != manage_path(to_li)
    assert "Alice" in (await client.get(manage_path(to_alice))).text
    assert "李华" in (await client.get(manage_path(to_li))).text
    # Non-essential mail: one-click unsubscribe (RFC 8058).
    assert to_alice["List-Unsubscribe"] == f"<http://testserver.local{manage_path(to_alice)}/unsubscribe>"
    assert to_alice["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # Kept with its audience, author and time, shown on the event's organiser page.
    kept = await db.scalar(select(Announcement))
    assert (kept.audience, kept.author_id, kept.recipient_count) == ("confirmed", organiser.id, 2)
    page = await client.get(f"/organiser/events/{event.slug}")
    assert "News about {event}" in page.text and "2 of 2 sent" in page.text


async def test_preview_counts_recipients_and_test_goes_only_to_the_organiser(client, db, organiser, settings,
                                                                             smtp_server):
    event, *_ = await an_event_with_people(db, organiser, settings)
    await deliver_everything(db, settings)
    smtp_server.messages.clear()
    await login(client, organiser.email)
    url = f"/organiser/events/{event.slug}/announcements"
    preview = await post_form(client, url, {**ANNOUNCE, "audience": "waitlisted", "action": "preview"})
    assert preview.status_code == 200
    assert "1 recipient" in preview.text and "Dear Carol," in preview.text
    assert await db.scalar(select(Announcement)) is None  # nothing kept, nothing sent
    test = await post_form(client, url, {**ANNOUNCE, "action": "test"})
    assert test.status_code in (302, 303)
    await deliver_everything(db, settings)
    [message] = smtp_server.messages
    assert str(message["To"]) == organiser.email and message["Subject"].startswith("[Test] News about")


async def test_audiences_pick_the_right_people(db, organiser, settings):
    from events_app.registration.announcements import clean_draft, recipients

    event = await make_registration_event(
        db, organiser, settings, capacity=2,
        questions=[{"label": "Dinner", "kind": "single_choice", "required": False, "options": ["Yes", "No"]}])
    service = RegistrationService(db, settings)
    questions = list((await service.settings_for(event)).questions)
    key = questions[0]["key"]
    ana = await register(db, settings, event, "Ana", answers={key: "Yes"})
    await register(db, settings, event, "Bo", answers={key: "No"})
    await register(db, settings, event, "Cy", answers={key: "Yes"})  # waitlisted
    await service.check_in(event, ana.registration.checkin_code)
    await db.commit()

    async def names(audience, **extra):
        draft = clean_draft({"audience": audience, "subject_en": "s", "body_en": "b", **extra}, questions)
        return sorted(r.name for r in await recipients(db, event, draft))

    assert await names("confirmed") == ["Ana", "Bo"]
    assert await names("waitlisted") == ["Cy"]
    assert await names("pending") == []
    assert await names("checked_in") == ["Ana"]
    assert await names("not_checked_in") == ["Bo"]
    assert await names("answered", question_key=key, question_value="yes") == ["Ana", "Cy"]


async def test_unsubscribed_attendee_gets_no_announcement_but_still_the_cancellation(client, db, organiser, settings,
                                                                                     smtp_server):
    event, alice, li, _carol = await an_event_with_people(db, organiser, settings)
    await login(client, organiser.email)
    url = f"/organiser/events/{event.slug}/announcements"
    await post_form(client, url, {**ANNOUNCE, "action": "send"})
    await deliver_everything(db, settings)
    [first] = [m for m in smtp_server.to("alice@example.org") if m["List-Unsubscribe"]]
    # The mail client's one click: a POST with no cookie and no CSRF token (RFC 8058).
    unsubscribe = first["List-Unsubscribe"].strip("<>").removeprefix("http://testserver.local")
    client.cookies.clear()
    answer = await client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code in (200, 201), answer.text
    smtp_server.messages.clear()

    await login(client, organiser.email)
    await post_form(client, url, {**ANNOUNCE, "subject_en": "Second news", "action": "send"})
    await deliver_everything(db, settings)
    assert smtp_server.to("alice@example.org") == []
    assert len(smtp_server.to("li@example.cn")) == 1

    # Transactional mail still goes out: the organiser cancels her registration.
    service = RegistrationService(db, settings)
    await service.cancel(await service.for_event(event, alice.registration.id), by_organiser=True)
    await db.commit()
    await deliver_everything(db, settings)
    assert [m["Subject"] for m in smtp_server.to("alice@example.org")] == [f"Registration cancelled: {event.title}"]


async def test_sending_is_throttled_at_the_configured_rate(db, organiser, settings):
    from events_app.registration.announcements import clean_draft, send

    event, *_ = await an_event_with_people(db, organiser, settings)
    await register(db, settings, event, "Extra")  # waitlisted too; the confirmed are two
    draft = clean_draft({**ANNOUNCE, "audience": "waitlisted"}, [])
    await send(db, settings, event, draft, organiser, per_minute=60)
    await db.commit()
    due = sorted(await db.scalars(select(OutboxMessage.next_attempt_at).where(OutboxMessage.kind == "announcement")))
    assert len(due) == 2 and dt.timedelta(seconds=0.9) < due[1] - due[0] < dt.timedelta(seconds=1.1)


async def test_bad_input_is_shown_again_with_messages(client, db, organiser, settings):
    event, *_ = await an_event_with_people(db, organiser, settings)
    await login(client, organiser.email)
    url = f"/organiser/events/{event.slug}/announcements"
    answer = await post_form(client, url, {**ANNOUNCE, "body_en": "Hello {nmae}", "audience": "everyone",
                                           "action": "send"})
    assert answer.status_code == 400
    assert "{nmae}" in answer.text and "Choose who receives the message." in answer.text
    token = await make_token(db, organiser)
    api = await client.post(f"/api/events/{event.slug}/announcements", json={"audience": "confirmed"},
                            headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 422 and api.json()["errors"][0]["field"] == "subject_en"
    assert await db.scalar(select(Announcement)) is None


async def test_only_the_events_managers_may_announce_html_and_api(client, db, organiser, settings, smtp_server):
    event, *_ = await an_event_with_people(db, organiser, settings)
    stranger = await make_account(db, "stranger@example.org")
    await make_event(db, stranger, title="Stranger's own event")
    url = f"/organiser/events/{event.slug}/announcements"

    anonymous = await client.get(url, follow_redirects=False)
    assert anonymous.status_code in (302, 303) and "/login" in anonymous.headers["location"]
    assert (await client.get(f"/organiser/events/{event.slug}/mail", follow_redirects=False)).status_code in (302, 303)
    assert (await client.post(f"/api/events/{event.slug}/announcements", json=ANNOUNCE)).status_code == 401
    assert (await client.get(f"/api/events/{event.slug}/mail")).status_code == 401

    await login(client, stranger.email)
    assert (await client.get(url)).status_code == 403
    page = await client.get("/organiser")
    refused = await client.post(url, data={**ANNOUNCE, "action": "send", "_csrf_token": csrf_token_from(page.text)})
    assert refused.status_code == 403
    assert (await client.get(f"/organiser/events/{event.slug}/mail")).status_code == 403
    token = await make_token(db, stranger)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.post(f"/api/events/{event.slug}/announcements", json=ANNOUNCE,
                              headers=headers)).status_code == 403
    assert (await client.post(f"/api/events/{event.slug}/announcements/preview", json=ANNOUNCE,
                              headers=headers)).status_code == 403
    assert (await client.get(f"/api/events/{event.slug}/mail", headers=headers)).status_code == 403
    assert await db.scalar(select(Announcement)) is None


async def test_api_previews_and_sends(client, db, organiser, settings, smtp_server):
    event, *_ = await an_event_with_people(db, organiser, settings)
    token = await make_token(db, organiser)
    headers = {"Authorization": f"Bearer {token}"}
    preview = await client.post(f"/api/events/{event.slug}/announcements/preview", json=ANNOUNCE, headers=headers)
    assert preview.status_code == 200 and preview.json()["recipients"] == 2
    sent = await client.post(f"/api/events/{event.slug}/announcements", json=ANNOUNCE, headers=headers)
    assert sent.status_code == 201 and sent.json()["recipients"] == 2
    listed = await client.get(f"/api/events/{event.slug}/announcements", headers=headers)
    assert [a["recipients"] for a in listed.json()] == [2]
