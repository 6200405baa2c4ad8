from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, update

from events_app.notify.models import OutboxMessage, OutboxStatus
from events_app.registration.services import RegistrationService
from tests.conftest import SmtpSink, deliver_outbox, text_of
from tests.registration_helpers import cancel, make_registration_event, register


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def link_in(message, suffix: str = "") -> str:
    match = re.search(r"http://testserver\.local(/registrations/[\w-]+" + suffix + ")", text_of(message))
    assert match, text_of(message)
    return match.group(1)


async def test_confirmation_mail_has_text_html_qr_code_and_a_working_private_link(client, db, organiser, settings,
                                                                                  smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5,
                                          event_overrides={"title": "R&D in O'Connor's lab"})
    await register(db, settings, event, "王小明", email="wang@example.cn")
    assert await deliver_outbox(settings) == 1
    [message] = smtp_server.to("wang@example.cn")
    assert message["Subject"] == "Registration confirmed: R&D in O'Connor's lab"
    assert "Dear 王小明," in text_of(message) and "R&D in O'Connor's lab" in text_of(message)  # text is not escaped
    assert "R&amp;D in O&#39;Connor&#39;s lab" in html_of(message)  # HTML is
    qr, invite = list(message.iter_attachments())
    assert qr.get_content_type() == "image/png" and qr.get_content().startswith(b"\x89PNG")
    # The invitation (tests/test_registration_calendar.py): inline as text/calendar in multipart/alternative,
    # and attached as application/ics (issue #11 item 7; the attachment was text/calendar before).
    assert invite.get_content_type() == "application/ics" and invite.get_filename() == "invite.ics"
    page = await client.get(link_in(message))
    assert page.status_code == 200 and "Confirmed" in page.text
    assert "/withdraw" in link_in(message, "/withdraw")


async def test_waitlist_promotion_and_cancellation_mails(db, organiser, settings, smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=1)
    ana = await register(db, settings, event, "Ana")
    await register(db, settings, event, "Bo")
    await cancel(db, settings, ana.token)
    await deliver_outbox(settings)
    assert [m["Subject"] for m in smtp_server.to("bo@example.org")] == [
        f"You are on the waitlist: {event.title}", f"A seat is free for you: {event.title}",
    ]
    waitlist_mail = smtp_server.to("bo@example.org")[0]
    assert "I can no longer come" in html_of(waitlist_mail) and "/withdraw" in text_of(waitlist_mail)
    assert [m["Subject"] for m in smtp_server.to("ana@example.org")] == [
        f"Registration confirmed: {event.title}", f"Registration cancelled: {event.title}",
    ]


async def test_offer_mail_names_the_deadline_and_has_the_withdraw_link(client, db, organiser, settings, smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=1, promotion="offer", offer_hours=48)
    ana = await register(db, settings, event, "Ana")
    await register(db, settings, event, "Bo")
    await register(db, settings, event, "Chen")
    await cancel(db, settings, ana.token)
    await deliver_outbox(settings)
    offer = smtp_server.to("bo@example.org")[-1]
    assert offer["Subject"].startswith("A seat is offered to you")
    assert "Asia/Shanghai" in text_of(offer)
    withdraw = link_in(offer, "/withdraw")
    # "I can no longer come" frees the offered seat for Chen at once.
    from tests.conftest import post_form

    await post_form(client, withdraw, {"confirm": "yes"}, action=withdraw.replace("/withdraw", "/cancel"))
    await deliver_outbox(settings)
    assert smtp_server.to("chen@example.org")[-1]["Subject"].startswith("A seat is offered to you")


async def test_approval_and_rejection_mails(db, organiser, settings, smtp_server):
    event = await make_registration_event(db, organiser, settings, mode="approval")
    ana = await register(db, settings, event, "Ana")
    bo = await register(db, settings, event, "Bo")
    service = RegistrationService(db, settings)
    await service.approve(await service.for_event(event, ana.registration.id))
    await service.reject(await service.for_event(event, bo.registration.id))
    await db.commit()
    await deliver_outbox(settings)
    assert [m["Subject"] for m in smtp_server.to("ana@example.org")] == [
        f"Registration received: {event.title}", f"Registration approved: {event.title}",
    ]
    assert smtp_server.to("bo@example.org")[-1]["Subject"] == f"Registration not accepted: {event.title}"


async def test_registering_again_resends_the_private_link(client, db, organiser, settings, smtp_server):
    event = await make_registration_event(db, organiser, settings)
    await register(db, settings, event, "Ana")
    again = await client.post(f"/api/events/{event.slug}/registrations", json={"name": "Ana", "email": "ana@example.org"})
    assert again.status_code == 202  # as for a new address (it was 409 until #10)
    await deliver_outbox(settings)
    resent = smtp_server.to("ana@example.org")[-1]
    assert resent["Subject"].startswith("Your registration link")
    assert (await client.get(link_in(resent))).status_code == 200


async def test_registration_succeeds_while_smtp_is_down_and_mail_goes_out_when_it_returns(
    client, db, organiser, settings, smtp_port
):
    event = await make_registration_event(db, organiser, settings)
    response = await client.post(f"/api/events/{event.slug}/registrations",
                                 json={"name": "Ana", "email": "ana@example.org"})
    assert response.status_code == 202  # the outcome goes by mail (#10: the answer no longer carries it)
    assert await deliver_outbox(settings) == 0  # nobody listens: the message waits
    row = await db.scalar(select(OutboxMessage).execution_options(populate_existing=True))
    assert row.status == OutboxStatus.PENDING and row.attempts == 1

    sink = SmtpSink(smtp_port).start()
    try:
        await db.execute(update(OutboxMessage).values(next_attempt_at=dt.datetime.now(dt.UTC)))  # back-off elapsed
        await db.commit()
        assert await deliver_outbox(settings) == 1
        assert [m["Subject"] for m in sink.to("ana@example.org")] == [f"Registration confirmed: {event.title}"]
    finally:
        sink.stop()


async def test_registering_queues_a_small_row_and_the_worker_composes_it(db, organiser, settings, smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    await register(db, settings, event, "Ana")
    row = await db.scalar(select(OutboxMessage))
    # The request wrote what to send, not the message: no templates, MIME, QR or calendar in the request.
    assert row.raw is None and row.composer == "registration"
    assert row.payload["template"] == "registration_confirmed" and row.payload["locale"] == "en"
    assert await deliver_outbox(settings) == 1
    row = await db.scalar(select(OutboxMessage).execution_options(populate_existing=True))
    assert row.status == OutboxStatus.SENT and b"Subject: Registration confirmed" in row.raw
    assert row.payload is None  # the token in it is no longer kept beside the message
    assert row.subject == f"Registration confirmed: {event.title}"


async def test_mail_is_written_in_the_language_of_the_request(client, db, organiser, settings, smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    response = await client.post(f"/api/events/{event.slug}/registrations?lang=zh",
                                 json={"name": "李华", "email": "li@example.cn"}, headers={"Accept-Language": "zh"})
    assert response.status_code == 202
    await deliver_outbox(settings)
    [message] = smtp_server.to("li@example.cn")
    assert "李华" in text_of(message)
    assert message["Subject"].startswith("报名已确认"), message["Subject"]


async def test_mail_for_a_registration_deleted_before_delivery_is_deleted_with_it(client, db, organiser, settings,
                                                                                   smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    ana = await register(db, settings, event, "Ana")
    service = RegistrationService(db, settings)
    await service.delete_personal_data(await service.by_token(ana.token))
    await db.commit()
    assert await deliver_outbox(settings) == 0
    assert smtp_server.messages == []
    # Deleted in the same transaction as the registration (it used to linger as "dropped", address and all).
    assert await db.scalar(select(OutboxMessage).execution_options(populate_existing=True)) is None


async def test_a_message_that_cannot_be_composed_backs_off_and_does_not_block_others(db, organiser, settings,
                                                                                  smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    await register(db, settings, event, "Ana")
    await register(db, settings, event, "Bo")
    first = await db.scalar(select(OutboxMessage).order_by(OutboxMessage.id))
    first.payload = {**first.payload, "template": "no_such_template"}
    await db.commit()
    assert await deliver_outbox(settings) == 1
    assert [m["To"] for m in smtp_server.messages] == ["bo@example.org"]
    broken = await db.scalar(select(OutboxMessage).where(OutboxMessage.id == first.id)
                             .execution_options(populate_existing=True))
    assert broken.status == OutboxStatus.PENDING and broken.attempts == 1 and "no_such_template" in broken.last_error
    assert broken.next_attempt_at > dt.datetime.now(dt.UTC)


async def test_later_mail_is_in_the_language_the_person_registered_in(client, db, organiser, settings, smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=1)
    assert (await client.post(f"/api/events/{event.slug}/registrations?lang=en",
                              json={"name": "Ana", "email": "ana@example.org"})).status_code == 202
    assert (await client.post(f"/api/events/{event.slug}/registrations?lang=zh",
                              json={"name": "李华", "email": "li@example.cn"})).status_code == 202
    # Ana, using the English interface, cancels through the link mailed to her; Li is promoted, told in Chinese.
    await deliver_outbox(settings)
    [confirmation] = smtp_server.to("ana@example.org")
    await cancel(db, settings, link_in(confirmation).rsplit("/", 1)[1])
    await deliver_outbox(settings)
    waitlisted, promoted = smtp_server.to("li@example.cn")
    assert promoted["Subject"] == f"您已获得名额：{event.title}", promoted["Subject"]
    assert smtp_server.to("ana@example.org")[-1]["Subject"].startswith("Registration cancelled")
