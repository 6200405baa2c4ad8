from __future__ import annotations

from msgspec import UNSET, Struct, UnsetType


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
