"""Issue #10, item 6: mail is not kept forever, a queued message holds no manage token, and deleting one's data
deletes one's mail and kills the links quoted in it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from sqlalchemy import func, select, update

from events_app.db import create_engine
from events_app.notify.models import OutboxMessage, OutboxStatus
from events_app.notify.worker import housekeeping
from events_app.settings import Settings
from tests.conftest import deliver_outbox, post_form
from tests.registration_helpers import make_registration_event, register
from tests.test_registration_emails import link_in


async def outbox(db) -> list[OutboxMessage]:
    return list(await db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)
                                 .execution_options(populate_existing=True)))


async def test_a_queued_message_holds_no_manage_token_and_its_link_still_works(client, db, organiser, settings,
                                                                               smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    response = await client.post(f"/api/events/{event.slug}/registrations",
                                 json={"name": "Ana", "email": "ana@example.org"})
    assert response.status_code == 202
    [queued] = await outbox(db)
    # A database dump taken now (or a backup) shows what to send, never a working link.
    assert queued.raw is None and "token" not in queued.payload and "/registrations/" not in json.dumps(queued.payload)
    assert await deliver_outbox(settings) == 1
    [message] = smtp_server.to("ana@example.org")
    assert (await client.get(link_in(message))).status_code == 200  # minted by the worker as it composed


async def test_deleting_my_data_deletes_my_mail_and_the_links_quoted_in_it_stop_working(client, db, organiser,
                                                                                         settings, smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    await client.post(f"/api/events/{event.slug}/registrations", json={"name": "Ana", "email": "ana@example.org"})
    await client.post(f"/api/events/{event.slug}/registrations", json={"name": "Bo", "email": "bo@example.org"})
    assert await deliver_outbox(settings) == 2
    [confirmation] = smtp_server.to("ana@example.org")
    old_link = link_in(confirmation)
    # Registering again re-sends the link; that mail is still queued when Ana deletes her data.
    again = await client.post(f"/api/events/{event.slug}/registrations", json={"name": "Ana", "email": "ana@example.org"})
    assert again.status_code == 202  # the same answer as for a new address (#10 item 9)
    assert any(row.status == OutboxStatus.PENDING for row in await outbox(db))

    deleted = await post_form(client, old_link, {"confirm": "yes"}, action=f"{old_link}/delete")
    assert deleted.status_code in (302, 303)

    for link in (old_link, old_link + "/withdraw"):
        assert (await client.get(link)).status_code == 404, link
    assert (await post_form(client, f"/events/{event.slug}", {}, action=f"{old_link}/cancel")).status_code == 404
    rows = await outbox(db)
    assert [row.to_address for row in rows] == ["bo@example.org"]  # Ana's sent and queued mail are gone
    # A newcomer may get Ana's old row id (SQLite reuses the highest); nothing of Ana's reaches anyone.
    await client.post(f"/api/events/{event.slug}/registrations", json={"name": "Chen", "email": "chen@example.org"})
    await deliver_outbox(settings)
    assert len(smtp_server.to("ana@example.org")) == 1
    [welcome] = smtp_server.to("chen@example.org")
    assert (await client.get(old_link)).status_code == 404 and link_in(welcome) != old_link


async def test_finished_mail_is_purged_after_the_retention_period(db, organiser, settings, smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    for name in ("Ana", "Bo", "Chen", "Dara"):
        await register(db, settings, event, name)
    assert await deliver_outbox(settings) == 4
    ana, bo, chen, dara = await outbox(db)
    now = dt.datetime.now(dt.UTC)
    await db.execute(update(OutboxMessage).where(OutboxMessage.id == ana.id).values(sent_at=now - dt.timedelta(days=31)))
    await db.execute(update(OutboxMessage).where(OutboxMessage.id == bo.id).values(sent_at=now - dt.timedelta(days=29)))
    await db.execute(update(OutboxMessage).where(OutboxMessage.id == chen.id).values(
        status=OutboxStatus.FAILED, sent_at=None, updated_at=now - dt.timedelta(days=40)))
    await db.commit()

    engine = create_engine(settings, pooled=False)
    try:
        await housekeeping(engine, settings)  # the worker does this every minute; default: 30 days
        assert [row.to_address for row in await outbox(db)] == ["bo@example.org", "dara@example.org"]
        await housekeeping(engine, dataclasses.replace(settings, mail_retention_days=0))
        assert await db.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    finally:
        await engine.dispose()


def test_the_retention_is_configurable_and_thirty_days_by_default(monkeypatch):
    monkeypatch.delenv("EVENTS_MAIL_RETENTION_DAYS", raising=False)
    assert Settings.from_env().mail_retention_days == 30
    monkeypatch.setenv("EVENTS_MAIL_RETENTION_DAYS", "7")
    assert Settings.from_env().mail_retention_days == 7
