"""The edge: every routed request's path, query and body are checked once, before any handler or service.

This applies core/text.py to what handlers never see as text fields: path parameters (slugs, tokens, ids),
query parameters and raw JSON or form bodies. Handlers still bound their own numbers (``web/params.py``) and
services still check every field (``web/validation.py``); this is the floor beneath them, so no route can
hand PostgreSQL a NUL or a driver an integer past 64 bits.
"""

from __future__ import annotations

import json
from pathlib import PurePath

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException, ValidationException
from litestar.handlers import BaseRouteHandler

from events_app.core.i18n import gettext as _
from events_app.core.text import find_nul, has_control
from events_app.core.validation import MAX_ID, ValidationFailed

# No slug, token or id in this app is longer; a longer path segment names nothing.
MAX_PATH_PARAM = 300
# No query value in this app needs more (searches are held to 200 by their handlers).
MAX_QUERY_VALUE = 1000
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _query_error(field: str, message: str) -> ValidationException:
    return ValidationException(detail=message, extra=[{"key": field, "source": "query", "message": message}])


async def check_request_input(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    """An app-wide guard (it runs after routing, so path parameters are typed, and before any handler)."""
    for value in connection.path_params.values():
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and not 0 <= value <= MAX_ID:
            # An id no row can have: the honest answer is that there is nothing here.
            raise NotFoundException("No such item.")
        text = str(value) if isinstance(value, str | PurePath) else ""
        if has_control(text) or len(text) > MAX_PATH_PARAM:
            raise NotFoundException("No such item.")
    for name, value in connection.query_params.multi_items():
        if has_control(name):
            raise _query_error("query", _("The address contains a character that is not allowed."))
        if has_control(value):
            raise _query_error(name, _("Contains a character that is not allowed."))
        if len(value) > MAX_QUERY_VALUE:
            raise _query_error(name, _("At most %(n)s characters.", n=MAX_QUERY_VALUE))
    if isinstance(connection, Request) and connection.method in WRITE_METHODS:
        await _check_body(connection)


async def _check_body(request: Request) -> None:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    field: str | None = None
    if content_type == "application/json" or content_type.endswith("+json"):
        body = await request.body()  # kept by Litestar for the handler's own decoding
        if b"\\u0000" in body:  # cheap test first: the registration rush must not parse every body twice
            try:
                field = find_nul(json.loads(body))
            except ValueError:
                return  # not JSON: the handler's decoder answers 400 itself
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()  # likewise kept for the handler
        field = next((key for key, value in form.multi_items() if isinstance(value, str) and "\x00" in value), None)
    if field is not None:
        raise ValidationFailed({field: _("Contains a character that is not allowed (NUL).")})
