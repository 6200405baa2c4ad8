from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from events_app.registration.models import Registration, RegistrationSettings


class RegistrationIn(Struct, forbid_unknown_fields=True):
    name: str
    email: str
    affiliation: str = ""
    country: Annotated[str, Meta(description="ISO 3166 two-letter code", examples=["CN"])] = ""
    answers: Annotated[dict[str, Any], Meta(description="By question key: text, a choice, a list of choices, "
                                                        "or true/false for a checkbox")] = msgspec.field(
        default_factory=dict)


class RegistrationReceived(Struct):
    """The same answer whether or not the address was registered already: the registration's status and its
    private link are e-mailed to the address, since only its owner may see them."""

    email: str
    detail: str


class RegistrationOut(Struct):
    id: int
    name: str
    email: str
    affiliation: str
    country: str
    status: str
    answers: dict[str, Any]
    created_at: dt.datetime
    position: int | None = None
    checked_in_at: dt.datetime | None = None
    offer_expires_at: dt.datetime | None = None


class QuestionIn(Struct, forbid_unknown_fields=True):
    label: str
    kind: Annotated[str, Meta(examples=["short_text", "long_text", "single_choice", "multiple_choice", "checkbox"])]
    required: bool = False
    options: list[str] = msgspec.field(default_factory=list)
    key: str | None = None


class RegistrationSettingsIn(Struct, forbid_unknown_fields=True):
    mode: Annotated[str, Meta(examples=["open", "approval", "closed"])] | UnsetType = UNSET
    opens_at: dt.datetime | None | UnsetType = UNSET
    closes_at: dt.datetime | None | UnsetType = UNSET
    capacity: int | None | UnsetType = UNSET
    waitlist_enabled: bool | UnsetType = UNSET
    promotion: Annotated[str, Meta(examples=["confirm", "offer"])] | UnsetType = UNSET
    offer_hours: int | UnsetType = UNSET
    questions: list[QuestionIn] | UnsetType = UNSET


class RegistrationSettingsOut(Struct):
    mode: str
    opens_at: dt.datetime | None
    closes_at: dt.datetime | None
    capacity: int | None
    waitlist_enabled: bool
    promotion: str
    offer_hours: int
    questions: list[dict[str, Any]]


def registration_out(registration: Registration, position: int | None = None) -> RegistrationOut:
    return RegistrationOut(
        id=registration.id, name=registration.name, email=registration.email,
        affiliation=registration.affiliation, country=registration.country, status=registration.status.value,
        answers=dict(registration.answers or {}), created_at=registration.created_at, position=position,
        checked_in_at=registration.checked_in_at, offer_expires_at=registration.offer_expires_at,
    )


def settings_out(row: RegistrationSettings) -> RegistrationSettingsOut:
    return RegistrationSettingsOut(
        mode=row.mode.value, opens_at=row.opens_at, closes_at=row.closes_at, capacity=row.capacity,
        waitlist_enabled=row.waitlist_enabled, promotion=row.promotion.value, offer_hours=row.offer_hours,
        questions=list(row.questions or []),
    )
