"""Reminders before an event: at offsets per event (default a day before, and an hour before as well for online
lectures), to confirmed attendees, composed by the worker in each person's language.

The periodic job (``send_due_reminders``, registered in wiring.py) runs every minute. For each upcoming event it
takes the smallest offset already due and queues that reminder for every confirmed attendee who has not had it:
a reminder due while the worker was down goes out late, but only while the event has not started, and when
two were missed only the nearer one is sent. A ``reminder_sent`` row per person and offset, unique in the
database, is what makes each go out once, whichever worker runs the job and however often.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.core.i18n import gettext as _
from events_app.core.i18n import speaking
from events_app.core.validation import Errors
from events_app.events.models import Event, EventKind, EventStatus
from events_app.notify.services import build_message, composer, render_email
from events_app.registration.announcements import (
    Recipient,
    add_unsubscribe_headers,
    queue_rows,
)
from events_app.registration.mail import issue_manage_link, private_links
from events_app.registration.models import (
    Registration,
    RegistrationSettings,
    RegistrationStatus,
    ReminderSent,
)
from events_app.settings import Settings

COMPOSER = "reminder"
KIND = "reminder"
DAY, HOUR = 24 * 60, 60
MAX_OFFSET = 30 * DAY
MAX_OFFSETS = 5
_OFFSET = re.compile(r"^\s*(\d+)\s*([dhm]?)\s*$", re.IGNORECASE)
_UNIT = {"d": DAY, "h": HOUR, "m": 1, "": 1}


def is_online_lecture(event: Event) -> bool:
    return event.kind == EventKind.LECTURE and bool(event.online_url)


def default_offsets(event: Event) -> list[int]:
    return [DAY, HOUR] if is_online_lecture(event) else [DAY]


def offsets_for(event: Event, configured: list[int] | None) -> list[int]:
    return sorted(configured if configured is not None else default_offsets(event), reverse=True)


def offsets_text(offsets: list[int]) -> str:
    """1440 -> "1d", 90 -> "90m": the form's way of writing them."""
    parts = []
    for minutes in offsets:
        if minutes % DAY == 0:
            parts.append(f"{minutes // DAY}d")
        elif minutes % HOUR == 0:
            parts.append(f"{minutes // HOUR}h")
        else:
            parts.append(f"{minutes}m")
    return ", ".join(parts)


def clean_offsets(value: Any, field: str = "offsets") -> list[int] | None:
    """From the form ("1d, 1h, 30m"; empty for the default) or the API (minutes, or null for the default)."""
    errors = Errors()
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and value.strip().lower() in ("none", "off", "0"):
        return []  # no reminders for this event
    items = value.split(",") if isinstance(value, str) else value
    offsets: set[int] = set()
    if not isinstance(items, list | tuple):
        errors.add(field, _("Give the reminders as a list of times before the start, e.g. 1d, 1h."))
    else:
        for item in items:
            if isinstance(item, bool):
                minutes = None
            elif isinstance(item, int):
                minutes = item
            elif isinstance(item, str) and (match := _OFFSET.match(item)) and len(match[1]) < 7:
                minutes = int(match[1]) * _UNIT[match[2].lower()]
            else:
                minutes = None
            if minutes is None or not 5 <= minutes <= MAX_OFFSET:
                errors.add(field, _("Each reminder is between 5 minutes and 30 days before the start, written like "
                                    "1d, 3h or 30m."))
                break
            offsets.add(minutes)
        if len(offsets) > MAX_OFFSETS:
            errors.add(field, _("At most %(n)s reminders.", n=MAX_OFFSETS))
    errors.raise_if_any()
    return sorted(offsets, reverse=True)


async def configured_offsets(session: AsyncSession, event: Event) -> list[int] | None:
    return await session.scalar(select(RegistrationSettings.reminder_offsets)
                                .where(RegistrationSettings.event_id == event.id))


async def set_offsets(session: AsyncSession, event: Event, offsets: list[int] | None) -> None:
    row = await session.scalar(select(RegistrationSettings).where(RegistrationSettings.event_id == event.id))
    if row is None:
        row = RegistrationSettings(event_id=event.id)
        session.add(row)
    row.reminder_offsets = offsets
    await session.flush()


async def sent_counts(session: AsyncSession, event: Event) -> dict[int, int]:
    rows = (await session.execute(
        select(ReminderSent.offset_minutes, func.count()).join(Registration, Registration.id == ReminderSent.registration_id)
        .where(Registration.event_id == event.id).group_by(ReminderSent.offset_minutes))).all()
    return {offset: n for offset, n in rows}


# ---- the job ---------------------------------------------------------------------------------------------
async def send_due_reminders(session: AsyncSession, settings: Settings, *, now: dt.datetime | None = None) -> int:
    """Queues every reminder that is due; returns how many. Safe to run as often as one likes, by any worker."""
    now = now or dt.datetime.now(dt.UTC)
    upcoming = (await session.execute(
        select(Event, RegistrationSettings.reminder_offsets)
        .join(RegistrationSettings, RegistrationSettings.event_id == Event.id)
        .where(Event.status == EventStatus.PUBLISHED, Event.starts_at > now,
               Event.starts_at <= now + dt.timedelta(minutes=MAX_OFFSET))
    )).all()
    queued = 0
    for event, configured in upcoming:
        due = [m for m in offsets_for(event, configured) if event.starts_at - dt.timedelta(minutes=m) <= now]
        if not due:
            continue
        offset = min(due)  # the nearer reminder; a missed earlier one is not sent as well
        due_at = event.starts_at - dt.timedelta(minutes=offset)
        had_it = select(ReminderSent.registration_id).where(ReminderSent.offset_minutes == offset)
        people = (await session.execute(
            select(Registration.id, Registration.email, Registration.name, Registration.locale).where(
                Registration.event_id == event.id, Registration.status == RegistrationStatus.CONFIRMED,
                Registration.announcements_stopped_at.is_(None),
                # Whoever registered after the reminder was due has just had everything in the confirmation.
                Registration.created_at < due_at,
                Registration.id.not_in(had_it),
            ).order_by(Registration.id)
        )).all()
        if not people:
            continue
        at = dt.datetime.now(dt.UTC)
        # The unique (registration, offset) pair: a second worker doing the same at the same moment fails here
        # and rolls back, instead of sending twice.
        await session.execute(insert(ReminderSent), [
            {"registration_id": rid, "offset_minutes": offset, "created_at": at, "updated_at": at}
            for rid, *_ in people])
        await queue_rows(session, event, [Recipient(email, name, locale or "en", rid)
                                          for rid, email, name, locale in people],
                         composer_name=COMPOSER, kind=KIND, batch=None, payload={"offset": offset},
                         per_minute=settings.announcement_per_minute)
        queued += len(people)
    return queued


# ---- the message -----------------------------------------------------------------------------------------
def attendee_zone(registration: Registration, event: Event) -> str:
    zone = registration.timezone or ""
    if not zone or zone == event.timezone:
        return ""
    try:
        ZoneInfo(zone)
    except (KeyError, ValueError):
        return ""
    return zone


@composer(COMPOSER)
async def compose_reminder(session: AsyncSession, settings: Settings,
                           payload: Mapping[str, Any]) -> EmailMessage | None:
    registration = await session.get(Registration, payload["registration_id"])
    if (registration is None or registration.status != RegistrationStatus.CONFIRMED
            or registration.announcements_stopped_at is not None):
        return None  # cancelled (or asked for no reminders) since it was queued
    event = await session.get(Event, registration.event_id)
    if event is None or event.status != EventStatus.PUBLISHED or event.starts_at <= dt.datetime.now(dt.UTC):
        return None  # too late: a reminder after the start helps nobody
    links = private_links(settings, await issue_manage_link(session, registration.id))
    context = {"registration": registration, "event": event, **links,
               "attendee_zone": attendee_zone(registration, event), "offset": payload.get("offset")}
    with speaking(registration.locale):
        subject, text, html = render_email("reminder", context, settings)
    message = build_message(settings, to=registration.email, subject=subject, text_body=text, html_body=html)
    add_unsubscribe_headers(message, links["unsubscribe_url"])
    return message
