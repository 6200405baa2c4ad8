"""Reminders before an event (issue #14): sent once, only to confirmed attendees, late only before the start."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from events_app.core.periodic import registered_jobs
from events_app.notify.models import OutboxMessage, OutboxStatus
from events_app.registration.models import ReminderSent
from events_app.registration.reminders import send_due_reminders
from tests.conftest import deliver_outbox, login, make_account, make_token, post_form, text_of
from tests.registration_helpers import cancel, make_registration_event, register


def in_two_days(**overrides) -> dict:
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    return {"starts_at": start.strftime("%Y-%m-%dT%H:%M"), "ends_at": (start + dt.timedelta(hours=1)).strftime(
        "%Y-%m-%dT%H:%M"), "timezone": "Asia/Shanghai", **overrides}


async def run_job(db, settings, at: dt.datetime) -> int:
    queued = await send_due_reminders(db, settings, now=at)
    await db.commit()
    return queued


async def test_a_reminder_is_sent_once_and_not_to_someone_who_cancelled(db, organiser, settings, smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5, event_overrides=in_two_days())
    ana = await register(db, settings, event, "Ana")
    await register(db, settings, event, "Bo")
    await cancel(db, settings, ana.token)
    await deliver_outbox(settings)
    smtp_server.messages.clear()

    assert await run_job(db, settings, event.starts_at - dt.timedelta(hours=25)) == 0  # not due yet
    due = event.starts_at - dt.timedelta(hours=23)
    assert await run_job(db, settings, due) == 1
    assert await run_job(db, settings, due + dt.timedelta(minutes=1)) == 0  # the job runs every minute
    await deliver_outbox(settings)
    assert [str(m["To"]) for m in smtp_server.messages] == ["bo@example.org"]
    [reminder] = smtp_server.messages
    assert reminder["Subject"].startswith(f"Reminder: {event.title}")
    assert "Lecture Hall 1" in text_of(reminder) and "/registrations/" in text_of(reminder)
    assert reminder["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert await db.scalar(select(func.count()).select_from(ReminderSent)) == 1


async def test_a_missed_reminder_goes_late_but_only_the_nearer_one_and_never_after_the_start(db, organiser, settings,
                                                                                            smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5, event_overrides=in_two_days(
        online_url="https://meet.example.org/x"))  # an online lecture: a day and an hour before
    bo = await register(db, settings, event, "Bo")
    await deliver_outbox(settings)
    smtp_server.messages.clear()
    # The worker was down for both; it comes back 30 minutes before the start: one reminder, the hour's.
    assert await run_job(db, settings, event.starts_at - dt.timedelta(minutes=30)) == 1
    assert (await db.scalar(select(ReminderSent.offset_minutes))) == 60
    assert await run_job(db, settings, event.starts_at - dt.timedelta(minutes=20)) == 0
    await deliver_outbox(settings)
    [reminder] = smtp_server.to("bo@example.org")
    assert "https://meet.example.org/x" in text_of(reminder)

    other = await make_registration_event(db, organiser, settings, capacity=5,
                                          event_overrides=in_two_days(title="Later lecture"))
    await register(db, settings, other, "Cy")
    assert await run_job(db, settings, other.starts_at + dt.timedelta(minutes=1)) == 0  # started: nothing
    assert bo  # registered before the reminders were due


async def test_a_reminder_queued_before_a_cancellation_is_dropped(db, organiser, settings, smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5, event_overrides=in_two_days())
    ana = await register(db, settings, event, "Ana")
    await deliver_outbox(settings)
    smtp_server.messages.clear()
    assert await run_job(db, settings, event.starts_at - dt.timedelta(hours=23)) == 1
    await cancel(db, settings, ana.token)
    await deliver_outbox(settings)
    assert [m["Subject"] for m in smtp_server.messages] == [f"Registration cancelled: {event.title}"]
    assert await db.scalar(select(OutboxMessage.status).where(OutboxMessage.kind == "reminder")) == \
        OutboxStatus.DROPPED


async def test_the_reminder_shows_the_time_in_the_attendees_zone_too(client, db, organiser, settings, smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5, event_overrides=in_two_days())
    bo = await register(db, settings, event, "Bo")
    answer = await post_form(client, f"/registrations/{bo.token}", {"timezone": "Europe/Berlin"},
                             action=f"/registrations/{bo.token}/timezone")
    assert answer.status_code in (302, 303)
    refused = await post_form(client, f"/registrations/{bo.token}", {"timezone": "Mars/Olympus"},
                              action=f"/registrations/{bo.token}/timezone", follow_redirects=True)
    assert "Choose a time zone from the list." in refused.text
    await deliver_outbox(settings)
    smtp_server.messages.clear()
    await run_job(db, settings, event.starts_at - dt.timedelta(hours=23))
    await deliver_outbox(settings)
    [reminder] = smtp_server.messages
    text = text_of(reminder)
    assert "Asia/Shanghai" in text and "In your time zone:" in text and "Europe/Berlin" in text


async def test_the_worker_runs_the_reminder_job():
    assert "send reminders" in [job.name for job in registered_jobs()]


async def test_organisers_set_the_offsets_and_others_may_not(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=5, event_overrides=in_two_days())
    url = f"/organiser/events/{event.slug}/reminders"
    await login(client, organiser.email)
    page = await client.get(url)
    assert page.status_code == 200 and "1d" in page.text
    bad = await post_form(client, url, {"offsets": "yesterday"})
    assert bad.status_code == 400 and "between 5 minutes and 30 days" in bad.text
    saved = await post_form(client, url, {"offsets": "2d, 3h"})
    assert saved.status_code in (302, 303)
    headers = {"Authorization": f"Bearer {await make_token(db, organiser)}"}
    answer = await client.get(f"/api/events/{event.slug}/reminders", headers=headers)
    assert answer.json()["offsets_minutes"] == [2880, 180]
    put = await client.put(f"/api/events/{event.slug}/reminders", json={"offsets_minutes": [1]}, headers=headers)
    assert put.status_code == 422 and put.json()["errors"][0]["field"] == "offsets_minutes"

    stranger = await make_account(db, "stranger@example.org")
    await login(client, stranger.email)
    assert (await client.get(url)).status_code == 403
    headers = {"Authorization": f"Bearer {await make_token(db, stranger)}"}
    assert (await client.put(f"/api/events/{event.slug}/reminders", json={"offsets_minutes": None},
                             headers=headers)).status_code == 403
