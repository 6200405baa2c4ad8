"""Files named after a page: ``/events/{slug}.ics`` beside the page ``/events/{slug}``.

Litestar matches whole path segments, so ``/events/{slug}.ics`` cannot be a route of its own: ``{slug}`` would
take ``x.ics`` first, and a parameter cannot be followed by text within its segment. Instead of rewriting the
path before routing (hidden routes under an internal prefix, nothing to reverse), the page's route owns the whole
segment and, when the segment ends in a registered suffix, hands the request to that file's handler:

    @route("/events/{slug:str}", http_method=PAGE_OR_FILE, name="event")
    async def event_page(self, request, slug, ...):
        if (file := await serve_file(request, slug, session)) is not None:
            return file

The page's domain does not know who serves its files (events does not import calendar): the composition root
registers the ``FileRoute`` values of every domain (``use_file_routes``), and reverses them like any route
(``url_path("event_feed", slug=s)`` -> ``/events/s.ics``, web/urls.py).

A file must not get the CSRF cookie its page sets (feeds are cached publicly), yet Litestar decides CSRF by
route, not by request: ``csrf_exempt_pattern`` matches exactly the file URLs, whose routes answer only GET and
HEAD, so no state-changing request is ever exempted.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from litestar.enums import HttpMethod
from litestar.exceptions import MethodNotAllowedException, NotFoundException
from sqlalchemy.ext.asyncio import AsyncSession

# The methods of a route that serves a page (GET) and files named after it (GET and HEAD).
PAGE_OR_FILE = [HttpMethod.GET, HttpMethod.HEAD]

# (request, the segment without its suffix, the request's database session) -> the file
FileHandler = Callable[[Request, str, AsyncSession], Awaitable[Response]]


@dataclass(frozen=True)
class FileRoute:
    name: str  # reversed like a route name: url_path(name, **the route's parameters)
    route: str  # the named route whose last segment carries the file name: "event" (/events/{slug:str})
    suffix: str  # ".ics"
    serve: FileHandler


def _registered(request: Request) -> Mapping[str, Mapping[str, FileRoute]]:
    return request.app.state.get("file_routes", {})


def use_file_routes(state: MutableMapping[str, Any], file_routes: Iterable[FileRoute]) -> None:
    by_route: dict[str, dict[str, FileRoute]] = {}
    for file_route in file_routes:
        by_route.setdefault(file_route.route, {})[file_route.suffix] = file_route
    state["file_routes"] = by_route


def _file_route(request: Request, segment: str) -> FileRoute | None:
    for suffix, file_route in _registered(request).get(request.route_handler.name or "", {}).items():
        if segment.endswith(suffix) and len(segment) > len(suffix):
            return file_route
    return None


def is_file_request(request: Request) -> bool:
    """A file on a page's route (/events/x.ics), which the page cache must leave alone: it is no page."""
    return _file_route(request, request.scope["path"].rsplit("/", 1)[-1]) is not None


async def serve_file(request: Request, segment: str, session: AsyncSession) -> Response | None:
    """The file when ``segment`` ends in a suffix registered for this route; None for the page itself (which
    answers GET only, as before)."""
    file_route = _file_route(request, segment)
    if file_route is not None:
        return await file_route.serve(request, segment[: -len(file_route.suffix)], session)
    if request.method != HttpMethod.GET:
        raise MethodNotAllowedException()
    return None


async def serve_file_only(request: Request, segment: str, session: AsyncSession) -> Response:
    """For a route that has files and no page (/my/calendar/{token}.ics)."""
    response = await serve_file(request, segment, session)
    if response is None:
        raise NotFoundException()
    return response


def csrf_exempt_pattern(routes: Mapping[str, str], file_routes: Iterable[FileRoute]) -> str | None:
    """A regular expression matching the file URLs only: route paths (by name) with their last parameter
    replaced by one segment plus the suffix, anchored at both ends."""
    patterns = []
    for file_route in file_routes:
        path = routes[file_route.route]
        head, _parameter = path.rsplit("{", 1)
        patterns.append(re.escape(head) + r"[^/]+" + re.escape(file_route.suffix))
    return f"^(?:{'|'.join(sorted(set(patterns)))})$" if patterns else None
