"""Every route of the site in one list, and the table of their paths for building links (web/urls.py).

Part of the composition root: create_app serves these handlers, and the CLI and the worker, which build no app,
take the same table from here, so a link in an e-mail is built exactly as one on a page.
"""

from __future__ import annotations

from litestar import Router
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from events_app.settings import PROJECT_ROOT, Settings
from events_app.web.file_routes import FileRoute
from events_app.web.urls import RoutePath, RouteTable


def route_handlers() -> list[ControllerRouterHandler]:
    from events_app.accounts.controllers import route_handlers as account_routes
    from events_app.api import api_router
    from events_app.calendar.feeds import route_handlers as calendar_routes
    from events_app.calls.controllers import route_handlers as call_routes
    from events_app.documents.controllers import route_handlers as document_routes
    from events_app.events.controllers import route_handlers as event_routes
    from events_app.registration.controllers import route_handlers as registration_routes
    from events_app.registration.mail_pages import route_handlers as mail_routes
    from events_app.schedule.controllers import route_handlers as schedule_routes
    from events_app.schedule.material_pages import route_handlers as material_routes
    from events_app.speakers.controllers import route_handlers as speaker_routes
    from events_app.web.health import healthz

    return [
        healthz,
        *event_routes,
        *speaker_routes,
        *schedule_routes,
        *material_routes,
        *account_routes,
        *registration_routes,
        *mail_routes,
        *calendar_routes,
        *document_routes,
        *call_routes,
        api_router,
        create_static_files_router(path="/static", directories=[PROJECT_ROOT / "static"], include_in_schema=False),
    ]


def file_routes() -> list[FileRoute]:
    """Files served on a page's route (web/file_routes.py): /events/{slug}.ics and the other feeds."""
    from events_app.calendar.feeds import feed_files
    from events_app.registration.controllers import personal_feed_files

    return [*feed_files, *personal_feed_files]


def named_paths(handlers: list[ControllerRouterHandler]) -> dict[str, str]:
    """Name -> path template of every named handler, as Litestar registers them (prefixes joined)."""
    paths = {}
    for route in Router(path="/", route_handlers=handlers).routes:
        for handler in getattr(route, "route_handlers", ()):
            if handler.name and "/" not in handler.name:  # "static/head": Litestar's own HEAD twin
                paths[handler.name] = route.path
    return paths


def build_route_table(settings: Settings, handlers: list[ControllerRouterHandler] | None = None,
                      files: list[FileRoute] | None = None) -> RouteTable:
    handlers = route_handlers() if handlers is None else handlers
    files = file_routes() if files is None else files
    routes = {name: RoutePath.parse(name, path) for name, path in named_paths(handlers).items()}
    for file_route in files:
        routes[file_route.name] = routes[file_route.route].with_suffix(file_route.name, file_route.suffix)
    return RouteTable(routes, settings.base_url.rstrip("/"))
