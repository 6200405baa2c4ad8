"""Absolute links to the feeds and to "add to calendar" services, for pages and e-mails."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from jinja2 import pass_context

from events_app.web.urls import url_path

GOOGLE_TEMPLATE = "https://calendar.google.com/calendar/render"
OUTLOOK_COMPOSE = "https://outlook.live.com/calendar/0/action/compose"
# Subscriptions (the calendar polls the feed), not one-off copies of an event.
GOOGLE_SUBSCRIBE = "https://calendar.google.com/calendar/render"
OUTLOOK_SUBSCRIBE = "https://outlook.live.com/calendar/0/addfromweb"


def _utc(instant: dt.datetime, fmt: str) -> str:
    return instant.astimezone(dt.UTC).strftime(fmt)


@dataclass(frozen=True)
class CalendarLinks:
    base_url: str

    def https(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def webcal(self, path: str) -> str:
        # webcal:// makes the browser hand the feed to the calendar app as a subscription.
        return "webcal://" + self.https(path).split("://", 1)[1]

    def event_feed(self, event: Any) -> str:
        return url_path("event_feed", slug=event.slug)

    def event_download(self, event: Any) -> str:
        return url_path("event_feed", slug=event.slug, talks=0)

    def series_feed(self, series: Any) -> str:
        return url_path("series_feed", slug=series.slug)

    def speaker_feed(self, person: Any) -> str:
        return url_path("speaker_feed", person_id=person.id)

    def all_events_feed(self, kind: str | None = None, series: str | None = None) -> str:
        """The programme feed, optionally of one kind and one series (the listing's filters)."""
        return url_path("calendar_feed", kind=kind or None, series=series or None)

    def google_subscribe(self, path: str) -> str:
        # Google Calendar's "add by URL" page, which subscribes (polls) rather than importing once.
        return f"{GOOGLE_SUBSCRIBE}?{urlencode({'cid': self.webcal(path)})}"

    def outlook_subscribe(self, path: str, name: str) -> str:
        return f"{OUTLOOK_SUBSCRIBE}?{urlencode({'url': self.https(path), 'name': name})}"

    def _details(self, event: Any) -> str:
        page = self.https(url_path("event", slug=event.slug))
        # A meeting link kept for registered attendees stays out of what any visitor can copy into a calendar.
        online = "" if getattr(event, "online_url_private", False) else event.online_url
        return "\n\n".join(part for part in (event.summary, online, page) if part)

    def _location(self, event: Any) -> str:
        return ", ".join(part for part in (event.venue_name, event.venue_address) if part)

    def google(self, event: Any) -> str:
        query = {
            "action": "TEMPLATE",
            "text": event.title,
            "dates": f"{_utc(event.starts_at, '%Y%m%dT%H%M%SZ')}/{_utc(event.ends_at, '%Y%m%dT%H%M%SZ')}",
            "ctz": event.timezone,
            "details": self._details(event),
            "location": self._location(event),
        }
        return f"{GOOGLE_TEMPLATE}?{urlencode(query)}"

    def outlook(self, event: Any) -> str:
        query = {
            "path": "/calendar/action/compose",
            "rru": "addevent",
            "subject": event.title,
            "startdt": _utc(event.starts_at, "%Y-%m-%dT%H:%M:%SZ"),
            "enddt": _utc(event.ends_at, "%Y-%m-%dT%H:%M:%SZ"),
            "body": self._details(event),
            "location": self._location(event),
        }
        return f"{OUTLOOK_COMPOSE}?{urlencode(query)}"


@pass_context
def calendar_links(context: Any) -> CalendarLinks:
    """Jinja global: ``{% set cal = calendar_links() %}``; absolute URLs come from settings.base_url."""
    return CalendarLinks(context["request"].app.state.settings.base_url)
