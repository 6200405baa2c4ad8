"""Public iCalendar feeds: the routes (/calendar.ics and the files named after a page). Building, the VEVENT
cache and conditional requests are in serving.py."""

from __future__ import annotations

import datetime as dt

from litestar import Controller, Request, Response, route
from litestar.exceptions import NotFoundException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.calendar import build
from events_app.calendar.models import WithdrawnEvent
from events_app.calendar.services import (
    FeedScope,
    event_entries,
    programme_entries,
    recent_tombstones,
    speaker_entries,
)
from events_app.calendar.serving import (
    conditional_feed,
    feed_cache,
    main_zone,
    render_entries,
    render_events_feed,
)
from events_app.core.i18n import gettext as _
from events_app.events.models import Event, EventKind, EventStatus, Series, kind_label
from events_app.settings import Settings
from events_app.speakers.access import is_public_person
from events_app.speakers.models import Person
from events_app.web.conditional_get import CACHEABLE_METHODS
from events_app.web.file_routes import FileRoute
from events_app.web.forms import CSRF_EXEMPT


# ---- routes ---------------------------------------------------------------------------------------------------
async def _events_feed(
    request: Request, session: AsyncSession, settings: Settings, scope: FeedScope, now: dt.datetime,
    *, name: str, description: str, feed: str, filename: str,
) -> Response:
    async def render() -> bytes:
        return await render_events_feed(
            session, scope, name=name, description=description, settings=settings, now=now,
            cache=feed_cache(request.app),
        )

    return await conditional_feed(request, session, settings, feed=feed, filename=filename, now=now, render=render)


class CalendarFeeds(Controller):
    include_in_schema = False
    opt = CSRF_EXEMPT  # read-only and publicly cached: no CSRF cookie may be set on them

    @route("/calendar.ics", http_method=CACHEABLE_METHODS, name="calendar_feed")
    async def all_events(
        self,
        request: Request,
        db_session: AsyncSession,
        settings: Settings,
        kind: str | None = None,
        series: str | None = None,
    ) -> Response:
        now = dt.datetime.now(dt.UTC)
        try:
            event_kind = EventKind(kind) if kind else None
        except ValueError:
            raise NotFoundException("No such kind of event.") from None
        series_row = None
        if series:
            series_row = await db_session.scalar(select(Series).where(Series.slug == series))
            if series_row is None:
                raise NotFoundException("No such series.")
        scope = FeedScope(kind=event_kind, series_id=series_row.id if series_row else None)
        name = series_row.title if series_row else _("International Programme")
        if event_kind is not None:
            name = f"{name} – {kind_label(event_kind)}"
        return await _events_feed(
            request, db_session, settings, scope, now, name=name,
            description=_("Conferences, workshops and invited lectures of the International Programme."),
            feed=f"all:{event_kind}:{series}", filename="calendar.ics",
        )


# The other feeds are files named after a page (/series/{slug}.ics beside /series/{slug}): served on the page's
# route, which hands them over by suffix (web/file_routes.py); the composition root registers `feed_files`.
async def series_feed(request: Request, slug: str, db_session: AsyncSession) -> Response:
    settings: Settings = request.app.state.settings
    now = dt.datetime.now(dt.UTC)
    series = await db_session.scalar(select(Series).where(Series.slug == slug))
    if series is None:
        raise NotFoundException("No such series.")
    return await _events_feed(
        request, db_session, settings, FeedScope(series_id=series.id), now, name=series.title,
        description=series.description or series.title, feed=f"series:{series.id}", filename=f"{slug}.ics",
    )


async def event_feed(request: Request, slug: str, db_session: AsyncSession) -> Response:
    """?talks=0: the event alone (the page's "Download (.ics)"); by default with its programme."""
    settings: Settings = request.app.state.settings
    talks = request.query_params.get("talks")
    now = dt.datetime.now(dt.UTC)
    # One cheap row before the ETag check; a draft is 404 unless it was published and withdrawn, which
    # answers with its cancellation (as it was when last public).
    row = (await db_session.execute(
        select(Event.id, Event.status, Event.title, Event.summary, Event.timezone,
               WithdrawnEvent.summary.label("withdrawn_summary"))
        .outerjoin(WithdrawnEvent, WithdrawnEvent.event_id == Event.id)
        .where(Event.slug == slug)
    )).first()
    if row is None or (row.status == EventStatus.DRAFT and row.withdrawn_summary is None):
        raise NotFoundException("No such event.")
    with_talks = (talks or "1").lower() not in {"0", "false", "no", "off"}
    if row.status == EventStatus.DRAFT:
        name = description = row.withdrawn_summary
    else:
        name, description = row.title, row.summary or row.title

    async def render() -> bytes:
        event = (await event_entries(db_session, [row.id], now)).get(row.id)
        if event is None:  # withdrawn or published again between the two queries
            raise NotFoundException("No such event.")
        entries, tombstones = await programme_entries(db_session, event, now, with_talks=with_talks)
        calendar = build.feed_calendar(name=name, description=description, settings=settings, zone=event.timezone)
        return await render_entries(
            db_session, calendar, entries, settings=settings, cache=feed_cache(request.app), tombstones=tombstones
        )

    return await conditional_feed(
        request, db_session, settings, feed=f"event:{row.id}:{with_talks}", filename=f"{slug}.ics",
        now=now, render=render,
    )


async def speaker_feed(request: Request, ident: str, db_session: AsyncSession) -> Response:
    settings: Settings = request.app.state.settings
    now = dt.datetime.now(dt.UTC)
    person = await db_session.get(Person, int(ident)) if ident.isdigit() and len(ident) < 19 else None
    # Public speakers (the one rule in speakers/access.py); and, like a cancelled event, someone whose last
    # public talk was deleted keeps a feed while it announces the cancellation, so subscribers see it.
    if person is None or not (
        await is_public_person(db_session, person.id)
        or await recent_tombstones(db_session, now, person_id=person.id)
    ):
        raise NotFoundException("No such speaker.")

    async def render() -> bytes:
        entries, tombstones = await speaker_entries(db_session, person.id, now)
        calendar = build.feed_calendar(
            name=person.display_name, description=_("Talks by %(name)s", name=person.display_name),
            settings=settings, zone=main_zone([e for e in entries if e.kind == "talk"]),
        )
        return await render_entries(
            db_session, calendar, entries, settings=settings, cache=feed_cache(request.app), tombstones=tombstones
        )

    return await conditional_feed(
        request, db_session, settings, feed=f"speaker:{person.id}", filename=f"speaker-{person.id}.ics",
        now=now, render=render,
    )


route_handlers = [CalendarFeeds]
feed_files = [
    FileRoute(name="event_feed", route="event", suffix=".ics", serve=event_feed),
    FileRoute(name="series_feed", route="series", suffix=".ics", serve=series_feed),
    FileRoute(name="speaker_feed", route="speaker", suffix=".ics", serve=speaker_feed),
]
