from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from events_app.notify.models import OutboxMessage, OutboxStatus
from events_app.notify.services import Attachment, enqueue_email
from events_app.notify.worker import backoff
from tests.conftest import SmtpSink, deliver_outbox, text_of


async def test_outbox_message_is_delivered_over_smtp_with_unicode_intact(db, settings, smtp_server):
    await enqueue_email(
        db, to="王小明 <wang@example.cn>", subject="确认 / Confirmation: José's lecture",
        text_body="Dear 王小明,\nSee you at the lecture by José Álvarez and ليلى حداد.",
        html_body="<p>Dear 王小明</p>", settings=settings,
        attachments=[Attachment("invite.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text", "calendar",
                                {"method": "REQUEST"})],
    )
    await db.commit()
    assert await deliver_outbox(settings) == 1
    [message] = smtp_server.messages
    assert message["Subject"] == "确认 / Confirmation: José's lecture"
    assert "ليلى حداد" in text_of(message)
    assert message.get_body(preferencelist=("html",)).get_content().strip() == "<p>Dear 王小明</p>"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "REQUEST"
    row = await db.scalar(select(OutboxMessage).execution_options(populate_existing=True))
    assert row.status == OutboxStatus.SENT and row.sent_at is not None
    # a second pass sends nothing again
    assert await deliver_outbox(settings) == 0
    assert len(smtp_server.messages) == 1


async def test_mail_waits_while_smtp_is_down_and_goes_out_when_it_returns(db, settings, smtp_port):
    await enqueue_email(db, to="a@example.org", subject="Hello", text_body="Body", settings=settings)
    await db.commit()
    assert await deliver_outbox(settings) == 0  # nobody listens on the port
    row = await db.scalar(select(OutboxMessage).execution_options(populate_existing=True))
    assert row.status == OutboxStatus.PENDING and row.attempts == 1 and row.last_error
    assert row.next_attempt_at > dt.datetime.now(dt.UTC)  # backed off

    sink = SmtpSink(smtp_port).start()
    try:
        row.next_attempt_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)  # the back-off has elapsed
        await db.commit()
        assert await deliver_outbox(settings) == 1
        assert [m["Subject"] for m in sink.messages] == ["Hello"]
    finally:
        sink.stop()


async def test_rolled_back_transaction_sends_nothing(db, settings, smtp_server):
    await enqueue_email(db, to="a@example.org", subject="Never", text_body="Body", settings=settings)
    await db.rollback()
    assert await deliver_outbox(settings) == 0
    assert smtp_server.messages == []


def test_backoff_grows_and_is_capped():
    assert backoff(1) < backoff(2) < backoff(3)
    assert backoff(30) == dt.timedelta(hours=1)


async def test_subject_line_breaks_cannot_inject_headers(db, settings, smtp_server):
    await enqueue_email(db, to="a@example.org", subject="Hi\r\nBcc: victim@example.org", text_body="x", settings=settings)
    await db.commit()
    await deliver_outbox(settings)
    [message] = smtp_server.messages
    assert message["Bcc"] is None
    assert smtp_server.envelopes[0][1] == ["a@example.org"]


async def test_concurrent_workers_on_postgres_never_send_a_message_twice(db, settings, smtp_server, is_postgres):
    import asyncio

    import pytest

    from events_app.db import create_engine
    from events_app.notify.worker import deliver_due

    if not is_postgres:
        pytest.skip("several workers need PostgreSQL's SKIP LOCKED; with SQLite run a single worker")
    for n in range(60):
        await enqueue_email(db, to=f"p{n}@example.org", subject=f"Message {n}", text_body="x", settings=settings)
    await db.commit()
    engines = [create_engine(settings) for _ in range(4)]
    try:
        async def drain(engine):
            total = 0
            while (sent := await deliver_due(engine, settings, batch_size=5)) > 0:
                total += sent
            return total

        counts = await asyncio.gather(*(drain(e) for e in engines))
    finally:
        for engine in engines:
            await engine.dispose()
    subjects = sorted(m["Subject"] for m in smtp_server.messages)
    assert sum(counts) == 60
    assert subjects == sorted(f"Message {n}" for n in range(60))  # each exactly once


async def test_one_pass_sends_its_messages_over_one_smtp_connection(db, settings, smtp_server):
    for n in range(5):
        await enqueue_email(db, to=f"p{n}@example.org", subject=f"Message {n}", text_body="x", settings=settings)
    await db.commit()
    assert await deliver_outbox(settings) == 5
    assert len(smtp_server.messages) == 5 and len(set(smtp_server.connections)) == 1
    assert [m["To"] for m in smtp_server.messages] == [f"p{n}@example.org" for n in range(5)]
