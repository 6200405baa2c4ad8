"""The organisers' mail log (issue #14): what was queued for an event, what failed and why, and retrying it."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from sqlalchemy import select

from events_app.notify.models import OutboxMessage, OutboxStatus
from tests.conftest import deliver_outbox, login, make_account, make_event, make_token, post_form
from tests.registration_helpers import make_registration_event, register


class RefusingSink:
    """An aiosmtpd server that refuses some recipients for good (550) until told otherwise."""

    def __init__(self, port: int) -> None:
        from aiosmtpd.controller import Controller

        self.refused: set[str] = set()
        self.messages = []
        sink = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if address in sink.refused:
                    return "550 5.1.1 mailbox unavailable"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                sink.messages.append(message_from_bytes(envelope.original_content or envelope.content,
                                                        policy=default_policy))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)


@pytest.fixture
def refusing_sink(smtp_port):
    sink = RefusingSink(smtp_port)
    sink.controller.start()
    yield sink
    sink.controller.stop()


async def test_mail_log_shows_a_failed_message_and_retrying_it_delivers_it(client, db, organiser, settings,
                                                                         refusing_sink):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    refusing_sink.refused.add("ana@example.org")
    await register(db, settings, event, "Ana")
    await register(db, settings, event, "Bo")
    assert await deliver_outbox(settings) == 1  # Bo's goes out; Ana's is refused for good, not retried for days
    failed = await db.scalar(select(OutboxMessage).where(OutboxMessage.to_address == "ana@example.org"))
    assert failed.status == OutboxStatus.FAILED and "mailbox unavailable" in failed.last_error

    await login(client, organiser.email)
    log = await client.get(f"/organiser/events/{event.slug}/mail")
    assert log.status_code == 200
    assert "ana@example.org" in log.text and "mailbox unavailable" in log.text and "bo@example.org" in log.text
    assert "registration_confirmed" in log.text
    failed_only = await client.get(f"/organiser/events/{event.slug}/mail?status=failed")
    assert "ana@example.org" in failed_only.text and "bo@example.org" not in failed_only.text

    # Read as sent: the text, with the private link hidden from the organiser.
    shown = await client.get(f"/organiser/events/{event.slug}/mail/{failed.id}")
    assert shown.status_code == 200 and "Dear Ana" in shown.text
    assert "/registrations/[redacted]" in shown.text

    refusing_sink.refused.clear()  # the mailbox is fixed
    retried = await post_form(client, f"/organiser/events/{event.slug}/mail", {},
                              action=f"/organiser/events/{event.slug}/mail/{failed.id}/retry")
    assert retried.status_code in (302, 303)
    assert await deliver_outbox(settings) == 1
    assert [str(m["To"]) for m in refusing_sink.messages] == ["bo@example.org", "ana@example.org"]
    await db.refresh(failed)
    assert failed.status == OutboxStatus.SENT


async def test_mail_log_api_lists_and_retries(client, db, organiser, settings, refusing_sink):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    refusing_sink.refused.add("ana@example.org")
    await register(db, settings, event, "Ana")
    await deliver_outbox(settings)
    headers = {"Authorization": f"Bearer {await make_token(db, organiser)}"}
    [row] = (await client.get(f"/api/events/{event.slug}/mail?status=failed", headers=headers)).json()
    assert row["to"] == "ana@example.org" and row["status"] == "failed" and "550" in row["last_error"]
    refusing_sink.refused.clear()
    answer = await client.post(f"/api/events/{event.slug}/mail/{row['id']}/retry", headers=headers)
    assert answer.status_code == 202 and answer.json()["status"] == "pending"
    again = await client.post(f"/api/events/{event.slug}/mail/{row['id']}/retry", headers=headers)
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "status"
    assert await deliver_outbox(settings) == 1


async def test_another_events_organiser_sees_none_of_its_mail(client, db, organiser, settings, refusing_sink):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    await register(db, settings, event, "Ana")
    stranger = await make_account(db, "stranger@example.org")
    own = await make_event(db, stranger, title="Stranger's event")
    message = await db.scalar(select(OutboxMessage))
    await login(client, organiser.email)
    assert "ana@example.org" in (await client.get("/organiser/mail")).text
    await login(client, stranger.email)
    everything = await client.get("/organiser/mail")
    assert everything.status_code == 200 and "ana@example.org" not in everything.text
    assert (await client.get(f"/organiser/events/{event.slug}/mail/{message.id}")).status_code == 403
    # Through their own event's address the message is as unknown as a missing one.
    assert (await client.get(f"/organiser/events/{own.slug}/mail/{message.id}")).status_code == 404
    headers = {"Authorization": f"Bearer {await make_token(db, stranger)}"}
    assert (await client.post(f"/api/events/{own.slug}/mail/{message.id}/retry", headers=headers)).status_code == 404
    assert (await client.post(f"/api/events/{event.slug}/mail/{message.id}/retry", headers=headers)).status_code == 403


async def test_a_message_that_cannot_be_composed_holds_up_no_other_and_the_log_says_why(client, db, organiser,
                                                                                       settings, smtp_server):
    from events_app.notify.services import COMPOSERS, composer, defer_email

    @composer("test-broken")
    async def broken(session, settings, payload):
        raise RuntimeError("template missing")

    try:
        event = await make_registration_event(db, organiser, settings, capacity=5)
        await register(db, settings, event, "Ana")  # composed in the same pass, before and after the broken one
        row = defer_email(db, to="x@example.org", composer="test-broken", payload={})
        row.event_id, row.kind = event.id, "test"
        await db.commit()
        await register(db, settings, event, "Bo")
        assert await deliver_outbox(settings) == 2
        assert sorted(str(m["To"]) for m in smtp_server.messages) == ["ana@example.org", "bo@example.org"]
        await login(client, organiser.email)
        log = await client.get(f"/organiser/events/{event.slug}/mail")
        assert "composing failed: RuntimeError: template missing" in log.text
        sent = await db.scalars(select(OutboxMessage.raw).where(OutboxMessage.status == OutboxStatus.SENT))
        assert all(b"Dear " in raw for raw in sent)  # composed once, kept after the failed first attempt
    finally:
        COMPOSERS.pop("test-broken", None)
