"""What registration does when another domain speaks (connected in events_app.wiring): mails attendees
when their event changes, adds its panel to the public event page, and its periodic job."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.events.models import Event, EventStatus
from events_app.events.public import PublicEvent
from events_app.registration.models import Registration, RegistrationMode, RegistrationStatus
from events_app.registration.services import RegistrationService
from events_app.settings import Settings

# Keeps a read of an event's seats for a moment: (event id, read) -> the value, read or kept.
SeatKeeper = Callable[[int, Callable[[], Awaitable[tuple | None]]], Awaitable[tuple | None]]

# What makes an attendee's calendar entry wrong: when one of these changes, confirmed attendees get a new REQUEST.
TIME_AND_PLACE = frozenset({"starts_at", "ends_at", "timezone", "venue_name", "venue_address", "online_url"})


async def announce_event_change(session: AsyncSession, event: Event, *, changed: set[str],
                                previous_status: EventStatus, settings: Settings | None,
                                notify_attendees: bool = True) -> int:
    """The one rule for what confirmed attendees hear when their event changes; EventService calls it after
    every change (the event's revision already bumped, so SEQUENCE is higher than in any earlier message).

    - the event is cancelled, or withdrawn (a published event taken back to draft: the same to a calendar,
      whatever the organiser calls it): METHOD:CANCEL (STATUS:CANCELLED) removes it from their calendars;
    - a published event's time or place changes, or a cancelled or withdrawn event is published again:
      METHOD:REQUEST with the same UID updates the entry.
    Anything else (a new title, summary, speakers) sends nothing, on purpose: the feeds carry it under a higher
    SEQUENCE, the invitation already in their calendar keeps its time and place, and a mail for every edit
    would teach people to ignore the ones that matter. Pending, waitlisted and offered people were never sent
    an invitation, so they get none. Returns the number of mails queued (in the caller's transaction: nothing
    is sent unless the change commits).
    """
    cancelled = event.status == EventStatus.CANCELLED and previous_status != EventStatus.CANCELLED
    withdrawn = event.status == EventStatus.DRAFT and previous_status == EventStatus.PUBLISHED
    if cancelled or withdrawn:
        method, template = "CANCEL", "registration_event_cancelled"
    elif event.status == EventStatus.PUBLISHED and (
        changed & TIME_AND_PLACE or previous_status in (EventStatus.CANCELLED, EventStatus.DRAFT)
    ):
        if not notify_attendees and previous_status == EventStatus.PUBLISHED:
            return 0  # the organiser chose to tell them otherwise (a re-publication is always announced)
        method, template = "REQUEST", "registration_event_changed"
    else:
        return 0
    attendees = list(await session.scalars(
        select(Registration).where(Registration.event_id == event.id,
                                   Registration.status == RegistrationStatus.CONFIRMED)
        .order_by(Registration.id)
    ))
    if not attendees:
        return 0
    if settings is None:
        raise RuntimeError("EventService(settings=...) is needed to mail attendees about a change")
    service = RegistrationService(session, settings)
    for registration in attendees:
        registration.event = event
        await service._enqueue_named(registration, template, attachments=[f"invitation:{method}"])
    return len(attendees)


async def confirmed_attendee_count(session: AsyncSession, *, event: Event) -> int:
    """Receives events' ``event_audience_counted``: the people announce_event_change would mail."""
    return int(await session.scalar(
        select(func.count()).select_from(Registration).where(
            Registration.event_id == event.id, Registration.status == RegistrationStatus.CONFIRMED)
    ) or 0)


async def registration_state(session: AsyncSession, *, event: Event, open_registration: bool = False,
                             settings: Settings | None = None) -> dict[str, Any]:
    """Receives events' ``event_registration_state``: opens registration when the organiser asked to (only if it
    was closed: an approval-only event stays so), and answers whether it is still closed."""
    service = RegistrationService(session, settings or Settings())  # settings: only for mail, unused here
    row = await service.settings_for(event)
    if open_registration and row.mode == RegistrationMode.CLOSED:
        row = await service.update_settings(event, {"mode": RegistrationMode.OPEN.value})
    return {"registration_closed": row.mode == RegistrationMode.CLOSED}


async def registration_panel(session: AsyncSession, event: Event | PublicEvent, settings: Settings,
                             keep_seats: SeatKeeper | None = None) -> dict[str, Any]:
    """What the public event page shows about registration. `keep_seats` may keep the read of the settings and
    seat counts for a moment (web/fragments.py kept_seats); without it they are read."""
    service = RegistrationService(session, settings)
    row = await (keep_seats(event.id, lambda: service.panel_row(event)) if keep_seats else service.panel_row(event))
    return {"availability": service.panel_availability(event, row), "values": {}, "errors": {}}


async def registration_page_context(session: AsyncSession, *, event: Event | PublicEvent, settings: Settings,
                                    keep_seats: SeatKeeper | None = None, **_: Any) -> dict[str, Any]:
    """Receives events' ``event_page_shown``: the registration panel of the public event page."""
    return {"registration": await registration_panel(session, event, settings, keep_seats)}


async def expire_seat_offers(session: AsyncSession, settings: Settings) -> int:
    """The periodic job "expire seat offers": offers past their deadline pass to the next person."""
    return await RegistrationService(session, settings).expire_due_offers()

