"""What the registration rules answer: availability, a registration made, a check-in, the dashboard, and
the two refusals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from events_app.core.i18n import gettext as _
from events_app.core.validation import Conflict, ValidationFailed
from events_app.registration.models import Registration, RegistrationMode


class RegistrationUnavailable(ValidationFailed):
    """Registration is closed, full, or the event is not open for it; nothing is stored."""

    def __init__(self, message: str) -> None:
        super().__init__({"event": message})
        self.message = message


class AlreadyRegistered(Conflict):
    """The address is registered for the event already; its link was e-mailed again (at most once an hour).

    Only the service says so: pages and the API answer exactly as for a new registration, so that nobody
    learns from the answer whether an address is registered."""

    def __init__(self) -> None:
        super().__init__("email", _("This e-mail address is already registered for this event."))


@dataclass
class Availability:
    mode: RegistrationMode
    is_open: bool
    message: str
    capacity: int | None
    confirmed: int
    waitlisted: int
    waitlist_enabled: bool
    questions: list[dict[str, Any]]

    @property
    def seats_left(self) -> int | None:
        if self.capacity is None:
            return None
        return max(self.capacity - self.confirmed, 0)


@dataclass
class Registered:
    registration: Registration
    # The manage link e-mailed to the address (tests act as the person who received it). Never put it in an
    # answer to whoever filled in the form: that would let anyone who types an address act as its owner.
    token: str
    position: int | None


@dataclass
class CheckInResult:
    outcome: str  # "checked_in" | "already" | "not_confirmed" | "unknown"
    registration: Registration | None = None
    checked_in_at: dt.datetime | None = None


@dataclass
class Dashboard:
    counts: dict[str, int]
    checked_in: int
    by_country: list[tuple[str, int]] = field(default_factory=list)
    by_affiliation: list[tuple[str, int]] = field(default_factory=list)

