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


def not_modified(request: Request, etag: str, last_modified: dt.datetime | None = None, *,
                 other_tags: tuple[str, ...] = ()) -> bool:
    """RFC 9110 13.2.2: If-None-Match decides when present (weak comparison); If-Modified-Since only
    without it, and only when the resource has a Last-Modified. ``other_tags``: the same content's other
    representations (its gzip one), whose copies are just as current."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags or not tags.isdisjoint(other_tags)
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


def accepts_gzip(request: Request) -> bool:
    """Accept-Encoding names gzip (or *) without q=0 (RFC 9110 12.5.3)."""
    accepted = {}
    for item in request.headers.get("accept-encoding", "").lower().split(","):
        coding, _, parameters = item.partition(";")
        quality = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        accepted[coding.strip()] = quality
    quality = accepted.get("gzip", accepted.get("x-gzip", accepted.get("*", 0.0)))
    return quality > 0


def gzip_etag(etag: str) -> str:
    """The ETag of the gzip representation: another representation needs another strong validator."""
    return etag[:-1] + '-gzip"'


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
    gzipped: Callable[[], Awaitable[bytes]] | None = None,
) -> Response:
    """304 when the client's copy is current, else the rendered body (none for HEAD, with its length).

    ``headers`` go on every answer, 304 included (Cache-Control, Vary, ...); ``body_headers`` only on a full
    one (Content-Disposition). ``gzipped``, when given, returns the body gzip-compressed (kept by the caller,
    so it is compressed once, not per request): a client that accepts gzip gets that, under its own ETag."""
    all_headers = {"ETag": etag, **(headers or {})}
    other_tags: tuple[str, ...] = ()
    compressed = False
    if gzipped is not None:
        compressed = accepts_gzip(request)
        other_tags = (etag, gzip_etag(etag))
        all_headers["ETag"] = other_tags[compressed]
        vary = all_headers.get("Vary")
        all_headers["Vary"] = f"{vary}, Accept-Encoding" if vary else "Accept-Encoding"
    if last_modified is not None:
        all_headers["Last-Modified"] = format_datetime(_utc(last_modified), usegmt=True)
    if not_modified(request, etag, last_modified, other_tags=other_tags):
        return Response(content=b"", status_code=304, headers=all_headers)
    if compressed:
        assert gzipped is not None
        body = await gzipped()
        all_headers["Content-Encoding"] = "gzip"
    else:
        body = await render()
    all_headers.update(body_headers or {})
    if request.method == HttpMethod.HEAD:
        all_headers["Content-Length"] = str(len(body))
        body = b""
    return Response(content=body, headers=all_headers, media_type=media_type)
