"""Builders shared by the registration tests (through the services, as the app does)."""

from __future__ import annotations

from events_app.registration.services import RegistrationService
from tests.conftest import make_event


async def make_registration_event(db, organiser, settings, *, publish: bool = True, event_overrides=None, **rs):
    event = await make_event(db, organiser, publish=publish, **(event_overrides or {}))
    service = RegistrationService(db, settings)
    await service.update_settings(event, {"mode": "open", "capacity": 2, "waitlist_enabled": True, **rs})
    await db.commit()
    return event


async def register(db, settings, event, name: str, email: str | None = None, **fields):
    service = RegistrationService(db, settings)
    result = await service.register_and_commit(event, {"name": name, "email": email or f"{name.lower()}@example.org",
                                                       **fields})
    return result


async def cancel(db, settings, token: str) -> None:
    """The attendee cancels through their private link (the seat passes on in the same transaction)."""
    service = RegistrationService(db, settings)
    await service.cancel(await service.by_token(token))
    await db.commit()
