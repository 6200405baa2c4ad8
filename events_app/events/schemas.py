from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from events_app.events.models import Event, Series
from events_app.events.public import PublicEvent
from events_app.schedule.models import Talk
from events_app.speakers.models import Person
from events_app.web.urls import absolute_url

Kind = Annotated[str, Meta(examples=["conference", "workshop", "lecture"])]


class SeriesOut(Struct):
    slug: str
    title: str
    description: str
    url: str


class SeriesIn(Struct, forbid_unknown_fields=True):
    title: str
    description: str = ""
    slug: str | None = None


class SeriesPatch(Struct, forbid_unknown_fields=True):
    title: str | UnsetType = UNSET
    description: str | UnsetType = UNSET


# A speaker or chair as programmes show them (the event API, the schedule API, the speakers API). Here, not in
# speakers: speakers and schedule may import events, events may not import them (docs/architecture.md).
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


class TalkOut(Struct):
    id: int
    title: str
    abstract: str
    # Both null: the talk is unscheduled (shown only to those who manage the event).
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    room: str
    speakers: list[PersonPublic]
    revision: int


class EventOut(Struct):
    id: int
    slug: str
    kind: str
    title: str
    summary: str
    description: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    timezone: str
    status: str
    venue_name: str
    venue_address: str
    online_url: str
    language: str
    organiser: str
    series: str | None
    partners: list[str]
    revision: int
    online_url_private: bool
    url: str
    created_at: dt.datetime
    updated_at: dt.datetime
    geo_lat: float | None = None
    geo_lon: float | None = None
    default_talk_minutes: int = 30
    talks: list[TalkOut] | UnsetType = UNSET


class EventIn(Struct, forbid_unknown_fields=True):
    title: str
    kind: Kind
    starts_at: Annotated[dt.datetime, Meta(description="ISO 8601; without an offset it is read in `timezone`")]
    ends_at: dt.datetime
    timezone: Annotated[str, Meta(examples=["Asia/Shanghai"])]
    slug: str | None = None
    summary: str = ""
    description: str = ""
    venue_name: str = ""
    venue_address: str = ""
    online_url: str = ""
    online_url_private: Annotated[bool, Meta(description="the online link is for registered attendees only")] = False
    language: str = "en"
    organiser: str = ""
    series: str | None = None
    partners: list[str] = msgspec.field(default_factory=list)
    status: Annotated[str, Meta(examples=["draft", "published"])] = "draft"
    geo_lat: float | None = None
    geo_lon: float | None = None
    default_talk_minutes: Annotated[int, Meta(description="length of a new talk, 5 to 480 minutes")] = 30


class EventPatch(Struct, forbid_unknown_fields=True):
    title: str | UnsetType = UNSET
    kind: str | UnsetType = UNSET
    starts_at: dt.datetime | UnsetType = UNSET
    ends_at: dt.datetime | UnsetType = UNSET
    timezone: str | UnsetType = UNSET
    summary: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    venue_name: str | UnsetType = UNSET
    venue_address: str | UnsetType = UNSET
    online_url: str | UnsetType = UNSET
    online_url_private: bool | UnsetType = UNSET
    language: str | UnsetType = UNSET
    organiser: str | UnsetType = UNSET
    series: str | None | UnsetType = UNSET
    partners: list[str] | UnsetType = UNSET
    status: str | UnsetType = UNSET
    geo_lat: float | None | UnsetType = UNSET
    geo_lon: float | None | UnsetType = UNSET
    default_talk_minutes: int | UnsetType = UNSET
    # False: a change of time or place is saved without mailing the confirmed attendees.
    notify_attendees: bool = True


@lru_cache(maxsize=4096)
def event_url(slug: str, base_url: str) -> str:
    """An event page's address, remembered: a list of events builds twenty on every request (the route table is
    the same for every app of a process)."""
    return absolute_url("event", slug=slug, base_url=base_url)


def series_out(series: Series, base_url: str) -> SeriesOut:
    return SeriesOut(slug=series.slug, title=series.title, description=series.description,
                     url=absolute_url("series", slug=series.slug, base_url=base_url))


def talk_out(talk: Talk, zone: str, *, private: bool = False) -> TalkOut:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    return TalkOut(
        id=talk.id,
        title=talk.title,
        abstract=talk.abstract,
        starts_at=talk.starts_at.astimezone(tz) if talk.starts_at is not None else None,
        ends_at=talk.ends_at.astimezone(tz) if talk.ends_at is not None else None,
        room=talk.room,
        speakers=[person_public(link.person, private=private) for link in talk.speaker_links],
        revision=talk.revision,
    )


def listed_talks(talks: list[Talk], *, private: bool) -> list[Talk]:
    """The talks an API reader sees: unscheduled ones only by those who manage the event."""
    return list(talks) if private else [t for t in talks if t.starts_at is not None]


def event_out(event: Event | PublicEvent, base_url: str, *, with_talks: bool = False,
              private: bool = False) -> EventOut:
    zone = event.zone
    return EventOut(
        id=event.id,
        slug=event.slug,
        kind=event.kind.value,
        title=event.title,
        summary=event.summary,
        description=event.description,
        # Shown in the event's own zone, with its offset, so clients see the local wall time.
        starts_at=event.starts_at.astimezone(zone),
        ends_at=event.ends_at.astimezone(zone),
        timezone=event.timezone,
        status=event.status.value,
        venue_name=event.venue_name,
        venue_address=event.venue_address,
        # A link kept for registered attendees is shown only to those who manage the event.
        online_url=event.online_url if private or not event.online_url_private else "",
        online_url_private=event.online_url_private,
        language=event.language,
        organiser=event.organiser,
        series=event.series.slug if event.series else None,
        partners=list(event.partners or []),
        revision=event.revision,
        url=event_url(event.slug, base_url),
        created_at=event.created_at,
        updated_at=event.updated_at,
        geo_lat=event.geo_lat,
        geo_lon=event.geo_lon,
        default_talk_minutes=event.default_talk_minutes,
        talks=[talk_out(t, event.timezone, private=private) for t in listed_talks(event.talks, private=private)]
        if with_talks and isinstance(event, Event) else UNSET,
    )


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
