"""Domain objects -> iCalendar components. Pure: no database, no request.

Feeds, single-event downloads and registration e-mails all call these functions, so one event has one UID
wherever it is published. Line folding is icalendar's job and nothing here writes raw lines; TEXT values
are escaped by ``Text`` below (icalendar's own escaping has a bug, see there).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from icalendar import Calendar, Component, Timezone, vCalAddress, vCategory, vDuration, vText, vUri
from icalendar import Event as VEvent

from events_app.calendar.zones import build_vtimezone
from events_app.core.i18n import gettext as _
from events_app.events.models import Event, EventStatus
from events_app.settings import Settings
from events_app.web.urls import absolute_url

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


# ---- text -----------------------------------------------------------------------------------------------------
# RFC 5545 3.3.11: TEXT is TSAFE-CHAR (no controls but HTAB), escaped line breaks and escaped \ ; ,. Controls
# are stripped where text enters the system; data stored earlier may still hold them, so the builder drops them
# too (C0 but tab and line breaks, DEL, NEL). A control character in a parameter (CN=...) even makes icalendar
# and vobject drop the whole property.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x85]")
LINE_BREAK = re.compile("\r\n|\r|\n")


def calendar_text(value: str | None) -> str:
    return CONTROL_CHARACTERS.sub("", value or "")


def _escape(value: str) -> str:
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return LINE_BREAK.sub("\\\\n", value)


class Text(vText):
    """A TEXT value, escaped by RFC 5545 3.3.11 alone.

    icalendar 7.3.2 (``icalendar.parser.string._escape_char``) first turns a literal backslash-N into a line
    break, so "C:\\New folder" or "\\Nabla" came out as two lines. Every TEXT property and the calendar's names
    go through this class instead, which also drops control characters.
    """

    def __new__(cls, value: str, *args: Any, **kwargs: Any) -> Text:
        return super().__new__(cls, calendar_text(value), *args, **kwargs)

    def to_ical(self) -> bytes:
        return _escape(str(self)).encode(self.encoding)  # type: ignore[attr-defined]  # set by vText.__new__


def _categories(names: Sequence[str]) -> vCategory:
    categories = vCategory([])
    categories.cats = [Text(name) for name in names]  # the same escaping as every other TEXT value
    return categories


def _parameter(value: str | None) -> str | None:
    """A parameter value (CN, LABEL): one line, no controls; icalendar quotes it (and RFC 6868-encodes ")."""
    text = " ".join(calendar_text(value).split())
    return text or None


# ---- identities and addresses ----------------------------------------------------------------------------------
def event_uid(event_id: int, settings: Settings) -> str:
    return f"event-{event_id}@{settings.host}"


def talk_uid(talk_id: int, settings: Settings) -> str:
    return f"talk-{talk_id}@{settings.host}"


def event_page_url(slug: str, settings: Settings) -> str:
    return absolute_url("event", slug=slug, base_url=settings.base_url)


def organizer_address(event: Event | None, settings: Settings) -> vCalAddress:
    name, address = parseaddr(settings.mail_from)
    return vCalAddress.new(
        address or f"events@{settings.host}", cn=_parameter((event.organiser if event else "") or name)
    )


# ---- pieces ---------------------------------------------------------------------------------------------------
def is_ambiguous(instant: dt.datetime, zone: str) -> bool:
    """True when the instant's wall time in the zone happens twice (the hour repeated when clocks go back)."""
    local = instant.astimezone(ZoneInfo(zone))
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def _when(instant: dt.datetime, zone: str) -> dt.datetime:
    # A TZID'd local time (not UTC) so clients keep the event at its wall time if zone rules change. But a wall
    # time that happens twice means the first one (RFC 5545 3.3.5), and parsers disagree on it anyway: such an
    # instant is written in UTC, which means exactly one.
    if is_ambiguous(instant, zone):
        return instant.astimezone(dt.UTC)
    return instant.astimezone(ZoneInfo(zone))


def _utc(instant: dt.datetime) -> dt.datetime:
    return instant.astimezone(dt.UTC)


def _location(event: Any, online_url: str, room: str = "") -> str:
    place = ", ".join(part for part in (room, event.venue_name, event.venue_address) if part)
    # An online event still gets a LOCATION: clients show it where people look for "where".
    return place or (_("Online") if online_url else "")


def _category_names(event: Any) -> list[str]:
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


def _common(component: VEvent, event: Any, settings: Settings, *, online_url: str, cancelled: bool) -> None:
    component.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if online_url:
        # The meeting link where clients offer a "join" button: URL (Apple, Thunderbird) and CONFERENCE
        # (RFC 7986); the event page stays in DESCRIPTION.
        component.add("url", vUri(calendar_text(online_url)))
        component.add(
            "conference", vUri(calendar_text(online_url)),
            parameters={"VALUE": "URI", "FEATURE": "AUDIO,VIDEO", "LABEL": _parameter(_("Online meeting")) or ""},
        )
    else:
        component.add("url", event_page_url(event.slug, settings))
    component.add("organizer", organizer_address(event, settings))
    component.add("categories", _categories(_category_names(event)))
    if event.geo_lat is not None and event.geo_lon is not None:
        component.add("geo", (event.geo_lat, event.geo_lon))
    # Busy time for attendees; a cancelled slot frees the calendar.
    component.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")


# ---- components -----------------------------------------------------------------------------------------------
def event_to_vevent(
    event: Any,
    *,
    speakers: Sequence[SpeakerLine],
    settings: Settings,
    online_url: str,
    changed_at: dt.datetime | None = None,
    stamp: dt.datetime | None = None,
    cancelled: bool | None = None,
) -> VEvent:
    """The event as one VEVENT.

    ``online_url`` is the meeting link to publish ("" for none): an explicit input, so a caller can leave out
    a link meant for registered attendees only. ``changed_at`` is the last change of anything shown (the event,
    its series, its speakers); it defaults to the event's own updated_at. ``stamp`` is DTSTAMP for iTIP
    messages; feeds leave it None: without METHOD, RFC 5545 3.8.7.2 makes DTSTAMP the last revision of the
    data, so the bytes depend on the data only, which is what lets them be cached and compared.
    """
    changed_at = changed_at or event.updated_at
    cancelled = event.status == EventStatus.CANCELLED if cancelled is None else cancelled
    component = VEvent()
    component.add("uid", event_uid(event.id, settings))
    component.add("summary", Text(event.title))
    component.add("dtstart", _when(event.starts_at, event.timezone))
    component.add("dtend", _when(event.ends_at, event.timezone))
    component.add("dtstamp", _utc(stamp or changed_at))
    component.add("created", _utc(event.created_at))
    # Outlook ignores a raised SEQUENCE unless LAST-MODIFIED moves too; and any change of content moves it.
    component.add("last-modified", _utc(changed_at))
    component.add("sequence", event.revision)
    location = _location(event, online_url)
    if location:
        component.add("location", Text(location))
    online = _("Online: %(url)s", url=online_url) if online_url else ""
    component.add(
        "description",
        Text(_description(event.summary, _speaker_text(speakers), online, event_page_url(event.slug, settings))),
    )
    _common(component, event, settings, online_url=online_url, cancelled=cancelled)
    return component


def talk_to_vevent(
    talk: Any,
    event: Any,
    *,
    speakers: Sequence[SpeakerLine],
    settings: Settings,
    online_url: str,
    changed_at: dt.datetime | None = None,
    cancelled: bool | None = None,
) -> VEvent:
    """A talk of the event (its time and room; the event's place, link and status)."""
    changed_at = changed_at or max(talk.updated_at, event.updated_at)
    cancelled = event.status == EventStatus.CANCELLED if cancelled is None else cancelled
    component = VEvent()
    component.add("uid", talk_uid(talk.id, settings))
    component.add("summary", Text(talk.title))
    component.add("dtstart", _when(talk.starts_at, event.timezone))
    component.add("dtend", _when(talk.ends_at, event.timezone))
    component.add("dtstamp", _utc(changed_at))
    component.add("created", _utc(talk.created_at))
    component.add("last-modified", _utc(changed_at))
    # A talk's time, place and status also change with its event (venue, cancellation), so both revisions
    # count; the sum only ever grows, as RFC 5545 3.8.7.4 requires of SEQUENCE.
    component.add("sequence", talk_sequence(talk.revision, event.revision))
    location = _location(event, online_url, talk.room_name)
    if location:
        component.add("location", Text(location))
    online = _("Online: %(url)s", url=online_url) if online_url else ""
    component.add(
        "description",
        Text(_description(
            _speaker_text(speakers),
            talk.abstract,
            _("Part of %(title)s", title=event.title),
            online,
            event_page_url(event.slug, settings),
        )),
    )
    _common(component, event, settings, online_url=online_url, cancelled=cancelled)
    return component


def talk_sequence(talk_revision: int, event_revision: int) -> int:
    return talk_revision + event_revision


def cancelled_entry(
    *, uid: str, summary: str, starts_at: dt.datetime, ends_at: dt.datetime, timezone: str, sequence: int,
    at: dt.datetime, url: str | None,
) -> VEvent:
    """What stays of something no longer published: same UID, higher SEQUENCE, STATUS:CANCELLED."""
    component = VEvent()
    component.add("uid", uid)
    component.add("summary", Text(summary))
    component.add("dtstart", _when(starts_at, timezone))
    component.add("dtend", _when(ends_at, timezone))
    component.add("dtstamp", _utc(at))
    component.add("last-modified", _utc(at))
    component.add("sequence", sequence)
    component.add("status", "CANCELLED")
    component.add("transp", "TRANSPARENT")
    if url:
        component.add("url", url)
    return component


def tombstone_to_vevent(tombstone: Any, *, settings: Settings, event: Any | None = None) -> VEvent:
    """A deleted talk (or one of a withdrawn event)."""
    return cancelled_entry(
        uid=talk_uid(tombstone.talk_id, settings), summary=tombstone.summary, starts_at=tombstone.starts_at,
        ends_at=tombstone.ends_at, timezone=tombstone.timezone, sequence=tombstone.sequence,
        at=tombstone.deleted_at, url=event_page_url(event.slug, settings) if event is not None else None,
    )


def withdrawn_to_vevent(withdrawn: Any, *, settings: Settings) -> VEvent:
    """A published event taken back to draft, as it was when it was last public. No URL: its page is gone."""
    return cancelled_entry(
        uid=event_uid(withdrawn.event_id, settings), summary=withdrawn.summary, starts_at=withdrawn.starts_at,
        ends_at=withdrawn.ends_at, timezone=withdrawn.timezone, sequence=withdrawn.sequence,
        at=withdrawn.withdrawn_at, url=None,
    )


# ---- calendars ------------------------------------------------------------------------------------------------
def feed_calendar(*, name: str, description: str, settings: Settings, zone: str | None = None) -> Calendar:
    """An empty published calendar with the properties subscribing clients read."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    # No METHOD: with one, DTSTAMP would have to be the time of sending rather than of the last change.
    # NAME and DESCRIPTION (RFC 7986) plus the X-WR- names Apple, Google and Outlook read. Added one by one:
    # Explicitly Text: icalendar types NAME and X- properties as "unknown" and would not escape them
    # (a line break in a series description would make it fail, a comma would be read as a separator).
    calendar.add("name", Text(name))
    calendar.add("x-wr-calname", Text(name))
    calendar.add("description", Text(description))
    calendar.add("x-wr-caldesc", Text(description))
    if zone:
        calendar.add("x-wr-timezone", zone)
    refresh = dt.timedelta(seconds=settings.calendar_refresh_seconds)
    # RFC 7986 5.7 makes VALUE=DURATION mandatory here; icalendar's refresh_interval setter leaves it out.
    calendar.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(refresh))  # the older name Outlook and Apple read
    return calendar


# Every VTIMEZONE starts here (or earlier, for older events): vobject (dateutil) keeps the first VTIMEZONE it
# reads for a TZID and uses it for every later calendar in the process, so a block that began with one feed's
# first year misread another feed's earlier events. Rules still in force are open-ended RRULEs, so the same
# zone gives the same block whatever the feed.
VTIMEZONE_FROM = dt.date(2000, 1, 1)


def timezone_span(instants: Iterable[dt.datetime]) -> tuple[dt.date, dt.date]:
    """Whole years covering the events, so each VTIMEZONE covers them."""
    years = [i.year for i in instants]
    if not years:
        return VTIMEZONE_FROM, Timezone.DEFAULT_LAST_DATE
    return min(dt.date(min(years) - 1, 1, 1), VTIMEZONE_FROM), dt.date(max(years) + 2, 1, 1)


@lru_cache(maxsize=256)
def vtimezone(tzid: str, first: dt.date, last: dt.date) -> Timezone:
    """The VTIMEZONE for a zone over a span (see zones.py for why not icalendar's). Finding a zone's changes
    takes milliseconds, so each is built once per process; the component is shared, so callers only read it."""
    return build_vtimezone(tzid, first, last)


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
    component: VEvent,
    *,
    attendee_email: str,
    attendee_name: str,
    method: Literal["REQUEST", "CANCEL"],
    span: tuple[dt.date, dt.date],
) -> bytes:
    """An iTIP message (RFC 5546) for one registrant: REQUEST on registration, CANCEL when it ends.

    ``component`` is the event's VEVENT exactly as the feeds publish it now (calendar.services.calendar_state
    and its builder, with DTSTAMP the time of sending), so UID, SEQUENCE and content match what the feed
    serves when the message is composed: a client never holds a copy newer than the message.
    """
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"unsupported iTIP method {method!r}")
    component.add(
        "attendee",
        vCalAddress.new(
            attendee_email, cn=_parameter(attendee_name), role="REQ-PARTICIPANT",
            partstat="ACCEPTED" if method == "REQUEST" else "DECLINED", rsvp=False,
        ),
    )
    if method == "CANCEL":
        component.pop("STATUS", None)
        component.pop("TRANSP", None)
        component.add("status", "CANCELLED")
        component.add("transp", "TRANSPARENT")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    return calendar_bytes(calendar, [component], span)


def mark_tentative(component: VEvent) -> VEvent:
    """A registrant's entry whose seat is not confirmed yet (pending, waitlisted, offered)."""
    if str(component.get("STATUS")) == "CONFIRMED":
        component.pop("STATUS")
        component.add("status", "TENTATIVE")
    return component
