"""Conditional GET and HEAD for every cacheable response (calendar feeds, the programme, its exports).

The caller computes its validators cheaply (an ETag, and a Last-Modified when it knows one) and passes the
expensive part as ``render``: a client whose copy is current gets 304 without anything being rendered, HEAD
gets the headers and the length without the body.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from email.utils import format_datetime, parsedate_to_datetime

from litestar import Request, Response
from litestar.enums import HttpMethod

# The methods of a cacheable route: @route(path, http_method=CACHEABLE_METHODS)
CACHEABLE_METHODS = [HttpMethod.GET, HttpMethod.HEAD]


def not_modified(request: Request, etag: str, last_modified: dt.datetime | None = None) -> bool:
    """RFC 9110 13.2.2: If-None-Match decides when present (weak comparison); If-Modified-Since only
    without it, and only when the resource has a Last-Modified."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since and last_modified is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        return _utc(last_modified).replace(microsecond=0) <= since
    return False


def _utc(instant: dt.datetime) -> dt.datetime:
    return instant.replace(tzinfo=dt.UTC) if instant.tzinfo is None else instant.astimezone(dt.UTC)


async def conditional_response(
    request: Request,
    *,
    etag: str,
    render: Callable[[], Awaitable[bytes]],
    media_type: str,
    headers: Mapping[str, str] | None = None,
    body_headers: Mapping[str, str] | None = None,
    last_modified: dt.datetime | None = None,
) -> Response:
    """304 when the client's copy is current, else the rendered body (none for HEAD, with its length).

    ``headers`` go on every answer, 304 included (Cache-Control, Vary, ...); ``body_headers`` only on a full
    one (Content-Disposition)."""
    all_headers = {"ETag": etag, **(headers or {})}
    if last_modified is not None:
        all_headers["Last-Modified"] = format_datetime(_utc(last_modified), usegmt=True)
    if not_modified(request, etag, last_modified):
        return Response(content=b"", status_code=304, headers=all_headers)
    body = await render()
    all_headers.update(body_headers or {})
    if request.method == HttpMethod.HEAD:
        all_headers["Content-Length"] = str(len(body))
        body = b""
    return Response(content=body, headers=all_headers, media_type=media_type)
