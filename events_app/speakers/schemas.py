from __future__ import annotations

from msgspec import UNSET, Struct, UnsetType

from events_app.speakers.models import Person


class PersonPublic(Struct):
    id: int
    full_name: str
    honorific: str
    affiliation: str
    country: str
    bio: str
    homepage: str
    orcid: str
    # Only present for organisers with a token: e-mail addresses are private.
    email: str | UnsetType = UNSET


class PersonIn(Struct, forbid_unknown_fields=True):
    full_name: str
    honorific: str = ""
    affiliation: str = ""
    country: str = ""
    email: str = ""
    bio: str = ""
    homepage: str = ""
    orcid: str = ""


class PersonPatch(Struct, forbid_unknown_fields=True):
    full_name: str | UnsetType = UNSET
    honorific: str | UnsetType = UNSET
    affiliation: str | UnsetType = UNSET
    country: str | UnsetType = UNSET
    email: str | UnsetType = UNSET
    bio: str | UnsetType = UNSET
    homepage: str | UnsetType = UNSET
    orcid: str | UnsetType = UNSET


def person_public(person: Person, *, private: bool = False) -> PersonPublic:
    return PersonPublic(
        id=person.id,
        full_name=person.full_name,
        honorific=person.honorific,
        affiliation=person.affiliation,
        country=person.country,
        bio=person.bio,
        homepage=person.homepage,
        orcid=person.orcid,
        email=person.email if private else UNSET,
    )
