"""Domain objects -> iCalendar components. Pure: no database, no request.

Feeds, single-event downloads and registration e-mails all call these functions, so one event has one UID
wherever it is published. Escaping and line folding are icalendar's job; nothing here writes raw lines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from icalendar import Calendar, Component, Timezone, vCalAddress, vDuration, vText
from icalendar import Event as VEvent

from events_app.events.models import Event, EventKind, EventStatus
from events_app.settings import Settings
from events_app.web.i18n import gettext as _

PRODID = "-//International Programme//events_app//EN"
END_OF_CALENDAR = b"END:VCALENDAR\r\n"


@dataclass(frozen=True)
class SpeakerLine:
    """What a calendar shows of a speaker: a name and an affiliation."""

    name: str
    affiliation: str = ""

    @classmethod
    def of(cls, person: Any) -> SpeakerLine:
        return cls(person.display_name, person.affiliation or "")


def speakers_of_talks(talks: Iterable[Any]) -> list[SpeakerLine]:
    """Distinct speakers in programme order."""
    seen: dict[int, SpeakerLine] = {}
    for talk in talks:
        for link in talk.speaker_links:
            seen.setdefault(link.person.id, SpeakerLine.of(link.person))
    return list(seen.values())


# ---- identities and addresses ----------------------------------------------------------------------------------
def event_uid(event_id: int, settings: Settings) -> str:
    return f"event-{event_id}@{settings.host}"


def talk_uid(talk_id: int, settings: Settings) -> str:
    return f"talk-{talk_id}@{settings.host}"


def event_page_url(slug: str, settings: Settings) -> str:
    return f"{settings.base_url}/events/{slug}"


def organizer_address(event: Event | None, settings: Settings) -> vCalAddress:
    name, address = parseaddr(settings.mail_from)
    return vCalAddress.new(address or f"events@{settings.host}", cn=(event.organiser if event else "") or name or None)


# ---- pieces ---------------------------------------------------------------------------------------------------
def _local(instant: dt.datetime, zone: str) -> dt.datetime:
    # A TZID'd local time (not UTC) so clients keep the event at its wall time if zone rules change.
    return instant.astimezone(ZoneInfo(zone))


def _utc(instant: dt.datetime) -> dt.datetime:
    return instant.astimezone(dt.UTC)


def _location(event: Event, room: str = "") -> str:
    return ", ".join(part for part in (room, event.venue_name, event.venue_address) if part)


def kind_label(kind: EventKind) -> str:
    labels = {EventKind.CONFERENCE: _("Conference"), EventKind.WORKSHOP: _("Workshop"), EventKind.LECTURE: _("Lecture")}
    return labels[kind]


def _categories(event: Event) -> list[str]:
    # Untranslated, so a client's filter on a category keeps working whatever language the feed was read in.
    categories = [event.kind.value.capitalize()]
    if event.series is not None:
        categories.append(event.series.title)
    return categories


def _speaker_text(speakers: Sequence[SpeakerLine]) -> str:
    lines = [f"{s.name} ({s.affiliation})" if s.affiliation else s.name for s in speakers]
    return "\n".join(lines)


def _description(*parts: str) -> str:
    return "\n\n".join(part.strip() for part in parts if part and part.strip())


def _common(component: VEvent, event: Event, settings: Settings, *, cancelled: bool) -> None:
    component.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    component.add("url", event_page_url(event.slug, settings))
    component.add("organizer", organizer_address(event, settings))
    component.add("categories", _categories(event))
    if event.geo_lat is not None and event.geo_lon is not None:
        component.add("geo", (event.geo_lat, event.geo_lon))
    # Busy time for attendees; a cancelled slot frees the calendar.
    component.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")


# ---- components -----------------------------------------------------------------------------------------------
def event_to_vevent(
    event: Event, *, speakers: Sequence[SpeakerLine], settings: Settings, stamp: dt.datetime | None = None
) -> VEvent:
    """The event as one VEVENT. ``stamp`` is DTSTAMP for iTIP messages; feeds leave it None.

    Without METHOD, RFC 5545 3.8.7.2 makes DTSTAMP the last revision of the data, so feeds use updated_at:
    the bytes then depend on the data only, which is what lets them be cached and compared.
    """
    component = VEvent()
    component.add("uid", event_uid(event.id, settings))
    component.add("summary", event.title)
    component.add("dtstart", _local(event.starts_at, event.timezone))
    component.add("dtend", _local(event.ends_at, event.timezone))
    component.add("dtstamp", _utc(stamp or event.updated_at))
    component.add("created", _utc(event.created_at))
    # Outlook ignores a raised SEQUENCE unless LAST-MODIFIED moves too.
    component.add("last-modified", _utc(event.updated_at))
    component.add("sequence", event.revision)
    location = _location(event)
    if location:
        component.add("location", location)
    online = _("Online: %(url)s", url=event.online_url) if event.online_url else ""
    component.add(
        "description",
        _description(event.summary, _speaker_text(speakers), online, event_page_url(event.slug, settings)),
    )
    _common(component, event, settings, cancelled=event.status == EventStatus.CANCELLED)
    return component


def talk_to_vevent(talk: Any, event: Event, *, settings: Settings) -> VEvent:
    component = VEvent()
    component.add("uid", talk_uid(talk.id, settings))
    component.add("summary", talk.title)
    component.add("dtstart", _local(talk.starts_at, event.timezone))
    component.add("dtend", _local(talk.ends_at, event.timezone))
    modified = max(talk.updated_at, event.updated_at)
    component.add("dtstamp", _utc(modified))
    component.add("created", _utc(talk.created_at))
    component.add("last-modified", _utc(modified))
    # A talk's time, place and status also change with its event (venue, cancellation), so both revisions
    # count; the sum only ever grows, as RFC 5545 3.8.7.4 requires of SEQUENCE.
    component.add("sequence", talk_sequence(talk.revision, event.revision))
    location = _location(event, talk.room_name)
    if location:
        component.add("location", location)
    online = _("Online: %(url)s", url=event.online_url) if event.online_url else ""
    component.add(
        "description",
        _description(
            _speaker_text(speakers_of_talks([talk])),
            talk.abstract,
            _("Part of %(title)s", title=event.title),
            online,
            event_page_url(event.slug, settings),
        ),
    )
    _common(component, event, settings, cancelled=event.status == EventStatus.CANCELLED)
    return component


def talk_sequence(talk_revision: int, event_revision: int) -> int:
    return talk_revision + event_revision


def tombstone_to_vevent(tombstone: Any, *, settings: Settings, event: Event | None = None) -> VEvent:
    """A deleted talk: same UID, higher SEQUENCE, STATUS:CANCELLED."""
    component = VEvent()
    component.add("uid", talk_uid(tombstone.talk_id, settings))
    component.add("summary", tombstone.summary)
    component.add("dtstart", _local(tombstone.starts_at, tombstone.timezone))
    component.add("dtend", _local(tombstone.ends_at, tombstone.timezone))
    component.add("dtstamp", _utc(tombstone.deleted_at))
    component.add("last-modified", _utc(tombstone.deleted_at))
    component.add("sequence", tombstone.sequence)
    component.add("status", "CANCELLED")
    component.add("transp", "TRANSPARENT")
    if event is not None:
        component.add("url", event_page_url(event.slug, settings))
    return component


# ---- calendars ------------------------------------------------------------------------------------------------
def feed_calendar(*, name: str, description: str, settings: Settings, zone: str | None = None) -> Calendar:
    """An empty published calendar with the properties subscribing clients read."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    # No METHOD: with one, DTSTAMP would have to be the time of sending rather than of the last change.
    # NAME and DESCRIPTION (RFC 7986) plus the X-WR- names Apple, Google and Outlook read. Added one by one:
    # Explicitly vText: icalendar types NAME and X- properties as "unknown" and would not escape them
    # (a line break in a series description would make it fail, a comma would be read as a separator).
    calendar.add("name", vText(name))
    calendar.add("x-wr-calname", vText(name))
    calendar.add("description", description)
    calendar.add("x-wr-caldesc", vText(description))
    if zone:
        calendar.add("x-wr-timezone", zone)
    refresh = dt.timedelta(seconds=settings.calendar_refresh_seconds)
    # RFC 7986 5.7 makes VALUE=DURATION mandatory here; icalendar's refresh_interval setter leaves it out.
    calendar.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(refresh))  # the older name Outlook and Apple read
    return calendar


def timezone_span(instants: Iterable[dt.datetime]) -> tuple[dt.date, dt.date]:
    """Whole years around the events, so each VTIMEZONE covers them and stays short."""
    years = [i.year for i in instants]
    if not years:
        return Timezone.DEFAULT_FIRST_DATE, Timezone.DEFAULT_LAST_DATE
    return dt.date(min(years) - 1, 1, 1), dt.date(max(years) + 2, 1, 1)


@lru_cache(maxsize=256)
def vtimezone(tzid: str, first: dt.date, last: dt.date) -> Timezone:
    """The VTIMEZONE for a zone over a span. Building one walks every transition of the zone (several
    milliseconds), so each is built once per process; the component is shared, so callers only read it."""
    return Timezone.from_tzid(tzid, first_date=first, last_date=last)


@lru_cache(maxsize=256)
def vtimezone_bytes(tzid: str, first: dt.date, last: dt.date) -> bytes:
    return vtimezone(tzid, first, last).to_ical()


def add_timezones(calendar: Calendar, span: tuple[dt.date, dt.date]) -> None:
    """A VTIMEZONE for every TZID used, in name order, before the events that use them.

    (icalendar's add_missing_timezones does the same but in set order, which would make the bytes vary.)
    """
    missing = sorted(calendar.get_missing_tzids())
    position = len(calendar.timezones)
    for tzid in missing:
        calendar.subcomponents.insert(position, vtimezone(tzid, *span))
        position += 1


def used_tzids(component: Component) -> frozenset[str]:
    """The TZIDs a component refers to, as Calendar.get_used_tzids() would find them (minus UTC)."""
    tzids: set[str] = set()
    for value in component.values():
        for item in value if isinstance(value, list) else (value,):
            tzid = getattr(item, "params", {}).get("TZID")
            if tzid:
                tzids.add(tzid)
    for sub in component.subcomponents:
        tzids |= used_tzids(sub)
    return frozenset(tzids - {"UTC"})


def calendar_bytes(calendar: Calendar, components: Iterable[VEvent], span: tuple[dt.date, dt.date]) -> bytes:
    """The plain path: let icalendar serialise everything at once."""
    for component in components:
        calendar.add_component(component)
    add_timezones(calendar, span)
    return calendar.to_ical()


def assemble(calendar: Calendar, vevents: Sequence[tuple[bytes, frozenset[str]]], span: tuple[dt.date, dt.date]) -> bytes:
    """The same bytes as ``calendar_bytes`` from VEVENTs serialised earlier.

    icalendar writes a calendar as its own lines, then each subcomponent's lines, then END:VCALENDAR, and
    every line stands alone, so joining pre-serialised parts in that order is byte-for-byte identical.
    """
    if calendar.subcomponents:
        raise ValueError("assemble() takes the calendar's own properties only")
    head = calendar.to_ical()
    tzids = sorted(set().union(*(tz for _bytes, tz in vevents)))
    parts = [head[: -len(END_OF_CALENDAR)]]
    parts.extend(vtimezone_bytes(tzid, *span) for tzid in tzids)
    parts.extend(body for body, _tz in vevents)
    parts.append(END_OF_CALENDAR)
    return b"".join(parts)


def event_span(items: Iterable[Any]) -> tuple[dt.date, dt.date]:
    """The span for anything with starts_at and ends_at (events, talks, tombstones); the year padding of
    timezone_span absorbs any zone offset, so UTC instants do."""
    instants: list[dt.datetime] = []
    for item in items:
        instants.extend((item.starts_at, item.ends_at))
    return timezone_span(instants)


# ---- for registration (invitations and a registrant's own feed) -----------------------------------------------
def invitation_calendar(
    event: Event,
    *,
    attendee_email: str,
    attendee_name: str,
    method: Literal["REQUEST", "CANCEL"],
    settings: Settings,
    speakers: Sequence[SpeakerLine] | None = None,
    now: dt.datetime | None = None,
    sequence: int | None = None,
) -> bytes:
    """An iTIP message (RFC 5546) for one registrant: REQUEST on registration, CANCEL when it ends.

    Same UID and SEQUENCE as the public feeds, so the entry a client already has is updated, not doubled.
    ``sequence`` pins SEQUENCE to the event's revision when the message was caused (mail composed later must
    not outrank a change made in between).
    """
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"unsupported iTIP method {method!r}")
    stamp = now or dt.datetime.now(dt.UTC)
    component = event_to_vevent(
        event, speakers=speakers if speakers is not None else speakers_of_talks(event.talks), settings=settings,
        stamp=stamp,
    )
    component.add(
        "attendee",
        vCalAddress.new(
            attendee_email, cn=attendee_name or None, role="REQ-PARTICIPANT",
            partstat="ACCEPTED" if method == "REQUEST" else "DECLINED", rsvp=False,
        ),
    )
    if sequence is not None:
        component.pop("SEQUENCE")
        component.add("sequence", sequence)
    if method == "CANCEL":
        component.pop("STATUS")
        component.pop("TRANSP")
        component.add("status", "CANCELLED")
        component.add("transp", "TRANSPARENT")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    return calendar_bytes(calendar, [component], event_span([event]))


def personal_feed(
    events: Sequence[Event],
    settings: Settings,
    *,
    name: str | None = None,
    tentative: Collection[int] = (),
    speakers: Mapping[int, Sequence[SpeakerLine]] | None = None,
) -> bytes:
    """A calendar of the given events (e.g. everything one person registered for).

    Events whose ids are in ``tentative`` (a seat not yet confirmed) are STATUS:TENTATIVE, unless the event
    itself is cancelled. Same UID and SEQUENCE as every other feed and the e-mailed invitations.
    """
    calendar = feed_calendar(
        name=name or _("My events"), description=_("Events you registered for."), settings=settings
    )
    components = []
    for event in events:
        component = event_to_vevent(
            event,
            speakers=speakers.get(event.id, []) if speakers is not None else speakers_of_talks(event.talks),
            settings=settings,
        )
        if event.id in tentative and event.status != EventStatus.CANCELLED:
            component.pop("STATUS")
            component.add("status", "TENTATIVE")
        components.append(component)
    return calendar_bytes(calendar, components, event_span(events))
