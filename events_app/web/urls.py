"""One way to build links: by reversing a named route, never by writing the path out.

``url_path("event", slug=s)`` -> ``/events/s``; ``absolute_url(...)`` prefixes the configured base URL (e-mails,
feeds, the worker and the CLI have no request to take it from); ``redirect_to(...)`` answers with a redirect.
Path parameters are filled in (percent-encoded); any other keyword becomes the query string, None left out.
Templates call the Jinja global ``url_for`` (web/templating.py), the same as ``url_path``.

The table is drawn from the route list of the composition root (events_app/routes.py) plus the file routes
(web/file_routes.py, ``/events/{slug}.ics``), and handed over explicitly: create_app keeps it in
``app.state.routes`` and installs it with ``use_routes`` for code that runs without a request (services, mail);
the CLI and the worker, which build no app, install the same table from the same list. A renamed or removed
route then fails loudly (KeyError) instead of linking to a 404.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from litestar.response import Redirect

_PARAMETER = re.compile(r"{(\w+):(\w+)}")


@dataclass(frozen=True)
class RoutePath:
    """A route's path split into literal text and parameters: "/events/{slug:str}/programme"."""

    name: str
    template: str
    parts: tuple[str | tuple[str, str], ...]  # text, or (parameter, Litestar type name)
    parameters: frozenset[str]

    @classmethod
    def parse(cls, name: str, template: str) -> RoutePath:
        parts: list[str | tuple[str, str]] = []
        position = 0
        for match in _PARAMETER.finditer(template):
            if match.start() > position:
                parts.append(template[position:match.start()])
            parts.append((match[1], match[2]))
            position = match.end()
        if position < len(template):
            parts.append(template[position:])
        return cls(name, template, tuple(parts), frozenset(p[0] for p in parts if isinstance(p, tuple)))

    def with_suffix(self, name: str, suffix: str) -> RoutePath:
        return RoutePath(name, self.template + suffix, (*self.parts, suffix), self.parameters)

    def fill(self, params: Mapping[str, Any]) -> str:
        pieces = []
        for part in self.parts:
            if isinstance(part, str):
                pieces.append(part)
                continue
            parameter, kind = part
            if parameter not in params or params[parameter] is None:
                raise KeyError(f"route {self.name!r} ({self.template}) needs {parameter!r}")
            value = params[parameter]
            # A "path" parameter keeps its slashes (/static/{file_path:path}); any other is one segment.
            pieces.append(quote(str(value), safe="/" if kind == "path" else ""))
        return "".join(pieces) or "/"


@dataclass(frozen=True)
class RouteTable:
    """Paths of the named routes and the site's base URL (settings.base_url)."""

    routes: Mapping[str, RoutePath]
    base_url: str = ""

    def path(self, name: str, /, **params: Any) -> str:
        route = self.routes[name]
        path = route.fill(params)
        query = {key: value for key, value in params.items() if key not in route.parameters and value is not None}
        return f"{path}?{urlencode(query, doseq=True, safe='/')}" if query else path

    def absolute(self, name: str, /, **params: Any) -> str:
        return self.base_url + self.path(name, **params)


_installed: RouteTable | None = None


def use_routes(table: RouteTable) -> RouteTable:
    """Hands the table to the code that builds links without a request (services, mail, the worker)."""
    global _installed
    _installed = table
    return table


def route_table() -> RouteTable:
    if _installed is None:
        raise RuntimeError("no route table: create_app (or the CLI) installs it with web.urls.use_routes")
    return _installed


def url_path(name: str, /, **params: Any) -> str:
    return route_table().path(name, **params)


def absolute_url(name: str, /, *, base_url: str | None = None, **params: Any) -> str:
    """``base_url`` when the caller holds its own settings (a service given them); else the table's."""
    table = route_table()
    return (table.base_url if base_url is None else base_url.rstrip("/")) + table.path(name, **params)


def redirect_to(name: str, /, **params: Any) -> Redirect:
    return Redirect(path=url_path(name, **params))
