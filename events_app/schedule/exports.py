"""Programme exports read by conference apps: frab schedule XML (Giggity, ConfClerk, Fahrplan) and its JSON twin.

Both are built from the same plain data (schedule.programme) in one pass, without an XML/ORM object per talk.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any, cast
from xml.sax.saxutils import escape, quoteattr

import msgspec

from events_app.schedule.programme import Day, Item, Programme
from events_app.web.urls import absolute_url

GENERATOR = "events_app"
# frab's schema version string; apps only check that it is present.
SCHEDULE_VERSION_PREFIX = "v"


def talk_guid(base_url: str, talk_id: int) -> str:
    # Stable across exports and renames: apps use the guid to keep a user's favourites.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base_url}/talks/{talk_id}"))


def _duration(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _version(programme: Programme) -> str:
    number = programme.version_number
    return f"{SCHEDULE_VERSION_PREFIX}{number}" if number else "draft"


def _rooms_of(day: Day, programme: Programme) -> dict[str, list[Item]]:
    fallback = programme.event.venue_name or "-"
    rooms: dict[str, list[Item]] = {column.name or fallback: [] for column in day.columns}
    for item in day.items:
        if not item.is_break:
            rooms[item.room_name or fallback].append(item)
    return {name: talks for name, talks in rooms.items() if talks}


def _cached_day(programme: Programme, day: Day, kind: str, extra: tuple, build: Callable[[], Any]) -> Any:
    """A day's export is rebuilt only when one of its items (or where they sit) changed."""
    signature = (extra, tuple(day.items), tuple(item.change for item in day.items), day.date)
    key = (kind, programme.event.id, day.index)
    cached = programme.day_pieces.get(key)
    if cached is not None and cached[0] == signature:
        return cached[1]
    piece = build()
    programme.day_pieces[key] = (signature, piece)
    return piece


def _day_bounds(talks_by_room: dict[str, list[Item]], date: dt.date, programme: Programme) -> tuple[str, str]:
    talks = [t for talks in talks_by_room.values() for t in talks]
    if not talks:
        zone = programme.event.zone
        start = dt.datetime.combine(date, dt.time(0, 0), zone)
        return start.isoformat(), (start + dt.timedelta(days=1)).isoformat()
    return min(t.local_start for t in talks).isoformat(), max(t.local_end for t in talks).isoformat()


ATTRIBUTE = {'"': "&quot;"}  # escape() leaves double quotes alone; inside an attribute they must not be


def _materials(talk: Item, base_url: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """frab's links (recordings and other links) and attachments (slides and documents), as (href, title)."""
    links: list[tuple[str, str]] = []
    attachments: list[tuple[str, str]] = []
    for kind, title, href in talk.detail.materials:
        absolute = f"{base_url}{href}" if href.startswith("/") else href
        (links if kind in ("recording", "link") else attachments).append((absolute, title))
    return links, attachments


def _xml_event(talk: Item, room_name: str, base_url: str, event_url: str, slug: str, language: str) -> str:
    persons = "".join(f'<person id="{s.id}">{escape(s.display_name)}</person>' for s in talk.speakers)
    found_links, found_attachments = _materials(talk, base_url)
    links = "".join(f'<link href="{escape(href, ATTRIBUTE)}">{escape(title)}</link>' for href, title in found_links)
    attachments = "".join(f'<attachment href="{escape(href, ATTRIBUTE)}">{escape(title)}</attachment>'
                          for href, title in found_attachments)
    return (
        f'      <event guid="{talk_guid(base_url, talk.id)}" id="{talk.id}">'
        f"<date>{talk.local_start.isoformat()}</date>"
        f"<start>{talk.local_start:%H:%M}</start>"
        f"<duration>{_duration(talk.minutes)}</duration>"
        f"<room>{escape(room_name)}</room>"
        f"<slug>{escape(slug)}-{talk.id}</slug>"
        f"<url>{escape(event_url)}/programme#talk-{talk.id}</url>"
        f"<recording><license></license><optout>false</optout></recording>"
        f"<title>{escape(talk.title)}</title><subtitle></subtitle>"
        f"<track>{escape(talk.track)}</track><type>{escape(talk.kind)}</type>"
        f"<language>{language}</language>"
        f"<abstract>{escape(talk.abstract)}</abstract><description></description>"
        f"<logo></logo><persons>{persons}</persons><links>{links}</links><attachments>{attachments}</attachments>"
        "</event>\n"
    )


def _json_event(talk: Item, room_name: str, base_url: str, event_url: str, slug: str, language: str) -> msgspec.Raw:
    links, attachments = _materials(talk, base_url)
    return msgspec.Raw(msgspec.json.encode({
        "guid": talk_guid(base_url, talk.id),
        "id": talk.id,
        "date": talk.local_start.isoformat(),
        "start": f"{talk.local_start:%H:%M}",
        "duration": _duration(talk.minutes),
        "room": room_name,
        "slug": f"{slug}-{talk.id}",
        "url": f"{event_url}/programme#talk-{talk.id}",
        "title": talk.title,
        "subtitle": "",
        "track": talk.track,
        "type": talk.kind,
        "language": language,
        "abstract": talk.abstract,
        "description": "",
        "persons": [{"id": s.id, "public_name": s.display_name} for s in talk.speakers],
        "links": [{"url": href, "title": title} for href, title in links],
        "attachments": [{"url": href, "title": title} for href, title in attachments],
    }))


def _json_piece(talk: Item, room_name: str, base_url: str, event_url: str, slug: str, language: str) -> msgspec.Raw:
    key = ("json", room_name, talk.local_start, talk.local_end, base_url, slug, language)
    piece = talk.detail.fragments.get(key)
    if piece is None:
        piece = talk.detail.fragments[key] = _json_event(talk, room_name, base_url, event_url, slug, language)
    return cast(msgspec.Raw, piece)


def _xml_day(programme: Programme, day: Day, base_url: str, event_url: str, language: str) -> str:
    slug = programme.event.slug
    rooms = _rooms_of(day, programme)
    start, end = _day_bounds(rooms, day.date, programme)
    out = [f'  <day index="{day.index}" date="{day.date.isoformat()}" start="{start}" end="{end}">\n']
    for room_name, talks in rooms.items():
        out.append(f"    <room name={quoteattr(room_name)}>\n")
        for talk in talks:
            key = ("xml", room_name, talk.local_start, talk.local_end, base_url, slug, language)
            piece = talk.detail.fragments.get(key)
            if piece is None:
                piece = talk.detail.fragments[key] = _xml_event(talk, room_name, base_url, event_url, slug, language)
            out.append(cast(str, piece))
        out.append("    </room>\n")
    out.append("  </day>\n")
    return "".join(out)


def frab_xml(programme: Programme, base_url: str) -> bytes:
    event = programme.event
    out: list[str] = ['<?xml version="1.0" encoding="UTF-8"?>\n<schedule>\n']
    out.append(f'  <generator name="{GENERATOR}"/>\n  <version>{escape(_version(programme))}</version>\n')
    event_url = absolute_url("event", slug=event.slug, base_url=base_url)
    out.append(
        "  <conference>\n"
        f"    <acronym>{escape(event.slug)}</acronym>\n"
        f"    <title>{escape(event.title)}</title>\n"
        f"    <start>{event.local_start.date().isoformat()}</start>\n"
        f"    <end>{event.local_end.date().isoformat()}</end>\n"
        f"    <days>{(event.local_end.date() - event.local_start.date()).days + 1}</days>\n"
        "    <timeslot_duration>00:05</timeslot_duration>\n"
        f"    <time_zone_name>{escape(event.timezone)}</time_zone_name>\n"
        f"    <base_url>{escape(event_url)}/</base_url>\n"
        "  </conference>\n"
    )
    language = escape(event.language or "en")
    extra = (base_url, event.slug, language, event.venue_name)
    for day in programme.days:
        out.append(_cached_day(programme, day, "xml", extra,
                               partial(_xml_day, programme, day, base_url, event_url, language)))
    out.append("</schedule>\n")
    return "".join(out).encode("utf-8")


def _json_day(programme: Programme, day: Day, base_url: str, event_url: str, language: str) -> msgspec.Raw:
    rooms = _rooms_of(day, programme)
    start, end = _day_bounds(rooms, day.date, programme)
    slug = programme.event.slug
    return msgspec.Raw(msgspec.json.encode({
        "index": day.index,
        "date": day.date.isoformat(),
        "day_start": start,
        "day_end": end,
        "rooms": {
            room_name: [_json_piece(t, room_name, base_url, event_url, slug, language) for t in talks]
            for room_name, talks in rooms.items()
        },
    }))


def frab_json(programme: Programme, base_url: str) -> bytes:
    """The c3voc 'schedule.json' shape: the same content as the XML, rooms as keys of each day."""
    event = programme.event
    event_url = absolute_url("event", slug=event.slug, base_url=base_url)
    language = event.language or "en"
    extra = (base_url, event.slug, language, event.venue_name)
    days = [
        _cached_day(programme, day, "json", extra,
                    partial(_json_day, programme, day, base_url, event_url, language))
        for day in programme.days
    ]
    document = {
        "$schema": "https://c3voc.de/schedule/schema.json",
        "generator": {"name": GENERATOR},
        "schedule": {
            "version": _version(programme),
            "base_url": f"{event_url}/",
            "conference": {
                "acronym": event.slug,
                "title": event.title,
                "start": event.local_start.date().isoformat(),
                "end": event.local_end.date().isoformat(),
                "daysCount": (event.local_end.date() - event.local_start.date()).days + 1,
                "timeslot_duration": "00:05",
                "time_zone_name": event.timezone,
                "rooms": [{"name": name} for name in programme.rooms],
                "days": days,
            },
        },
    }
    return msgspec.json.encode(document)
