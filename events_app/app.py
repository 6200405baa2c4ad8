"""Application factory: ``create_app(settings)``; the module-level ``app`` reads EVENTS_* variables."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar, Router
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.plugins.flash import FlashConfig, FlashPlugin
from litestar.template.config import TemplateConfig
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.cli import EventsCLIPlugin
from events_app.core.crypto import configure_data_keys
from events_app.core.gc_pause import tune_for_serving
from events_app.core.outages import is_outage
from events_app.core.rate_limits import store_registry
from events_app.core.secret_key import check_secret_key
from events_app.core.security_headers import SecurityHeaders
from events_app.db import create_engine, sqlalchemy_config
from events_app.settings import Settings
from events_app.web.auth import SESSION_MAX_AGE
from events_app.web.edge import check_request_input
from events_app.web.errors import exception_handlers
from events_app.web.file_routes import csrf_exempt_pattern, use_file_routes
from events_app.web.forms import CSRF_EXEMPT
from events_app.web.fragments import FragmentCache
from events_app.web.locale import LocaleMiddleware
from events_app.web.page_cache import (
    PageCache,
    page_cache_lifespan,
    release_page_flight,
    serve_cached_page,
    store_rendered_page,
)
from events_app.web.templating import template_engine
from events_app.web.urls import use_routes


@asynccontextmanager
async def collector_tuned(_app: Litestar) -> AsyncIterator[None]:
    """The garbage collector set for serving once the app is built (core/gc_pause.py)."""
    tune_for_serving()
    yield


# A Litestar lifespan hook: entered at start-up, left at shutdown.
Lifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]


logger = logging.getLogger(__name__)

def in_process_worker(settings: Settings) -> Lifespan:
    """For the embedded default (`make run`): deliver the outbox inside the web process."""

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        import asyncio

        from events_app.notify.worker import run_worker

        stop = asyncio.Event()
        task = asyncio.create_task(run_worker(settings, stop=stop))
        try:
            yield
        finally:
            stop.set()
            await task

    return lifespan


def dispose_engine_on_shutdown(db_config: SQLAlchemyAsyncConfig) -> Lifespan:
    """Closes the pool when the app stops, on the loop that opened it.

    Advanced Alchemy 1.12's plugin disposes only the first config's engine of a process (a later config's
    app-state key is made unique, e.g. ``db_engine_1``, but the shutdown checks for ``db_engine``), so a second
    app in one process (tests, the CLI) would keep connections bound to a closed event loop.
    """

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await db_config.get_engine().dispose()

    return lifespan


def data_key_check(settings: Settings) -> Lifespan:
    """Refuses to start when encrypted personal data is stored and the configured keys cannot read it."""

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        from events_app.core.crypto import encrypted_columns, ensure_data_key_opens_stored_data
        from events_app.models import metadata

        if encrypted_columns(metadata):  # no query at all until a model declares an encrypted column
            # A connection of its own, closed at once: one left in the request pool would belong to the event loop
            # of the start-up, which need not be the one that serves requests (a test client's portal thread).
            engine = create_engine(settings, pooled=False)
            try:
                async with AsyncSession(engine) as session:
                    await ensure_data_key_opens_stored_data(session, metadata)
            except Exception as exc:
                # A database that cannot be reached now must not stop the start: pages answer 503 until it is
                # back (core/outages.py), and a wrong key then fails on the first read instead.
                if not is_outage(exc):
                    raise
                logger.warning("data key check skipped: the database is unreachable (%s)", exc)
            finally:
                await engine.dispose()
        yield

    return lifespan


def provide_settings(state: State) -> Settings:
    return state.settings


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    check_secret_key(settings.secret_key)  # a forgeable session key must never serve a request
    from events_app.wiring import wire

    wire()  # domains hear each other's announcements; before the template environment is built
    from events_app.registration.controllers import registration_rate_limit
    from events_app.routes import build_route_table, file_routes, route_handlers

    handlers = route_handlers()
    files = file_routes()
    routes = build_route_table(settings, handlers, files)
    configure_data_keys(settings.data_key, settings.data_keys_old)
    db_config = sqlalchemy_config(settings)
    session_config = CookieBackendConfig(
        secret=settings.session_key,
        key="events_session",
        max_age=SESSION_MAX_AGE,
        secure=settings.is_https,
        samesite="lax",
        httponly=True,
    )
    # Routes that need no CSRF check say so themselves (opt=CSRF_EXEMPT). The one path pattern matches exactly the
    # files served on a page's route (/events/{slug}.ics: GET and HEAD only), which must not set the cookie.
    csrf_config = CSRFConfig(
        exclude=csrf_exempt_pattern({name: route.template for name, route in routes.routes.items()}, files),
        secret=settings.csrf_secret,
        cookie_name="csrftoken",
        header_name="x-csrftoken",
        cookie_secure=settings.is_https,
        cookie_samesite="lax",
    )
    stores, redis_store = store_registry(settings.redis_url, settings.redis_namespace)
    template_config = TemplateConfig(instance=template_engine(settings.templates_dir))
    page_cache = PageCache(seconds=settings.page_cache_seconds, needs_listener=not settings.is_sqlite,
                           seat_lag_seconds=settings.page_cache_seat_lag_seconds)
    lifespan = [
        collector_tuned,
        dispose_engine_on_shutdown(db_config),
        data_key_check(settings),
        page_cache_lifespan(page_cache, settings.database_url, fragments=settings.fragment_cache_seconds > 0),
    ]
    if settings.run_worker_in_process:
        lifespan.append(in_process_worker(settings))
    if redis_store is not None:
        lifespan.append(lambda _app: redis_store)  # closes the connection pool on shutdown
    application = Litestar(
        route_handlers=handlers,
        plugins=[
            SQLAlchemyPlugin(config=db_config),
            FlashPlugin(config=FlashConfig(template_config=template_config)),
            EventsCLIPlugin(),
        ],
        middleware=[LocaleMiddleware(), session_config.middleware, *registration_rate_limit(settings)],
        # Paths, queries and bodies are checked against one input policy before any handler (web/edge.py).
        guards=[check_request_input],
        csrf_config=csrf_config,
        stores=stores,
        template_config=template_config,
        openapi_config=OpenAPIConfig(
            title="International Programme Events API",
            version="1.0.0",
            path="/schema",
            openapi_router=Router("/schema", route_handlers=[], include_in_schema=False, opt=CSRF_EXEMPT),
            render_plugins=[ScalarRenderPlugin()],
            description="Events, series, speakers and talks. Reads are public; changes need "
            "'Authorization: Bearer <token>' (create one on your account page or with `events-app create-token`).",
        ),
        exception_handlers=exception_handlers,
        dependencies={"settings": Provide(provide_settings, sync_to_thread=False)},
        state=State({"settings": settings, "db_config": db_config, "page_cache": page_cache, "routes": routes,
                     "fragments": FragmentCache(seconds=settings.fragment_cache_seconds)}),
        lifespan=lifespan,
        before_request=serve_cached_page,
        after_request=store_rendered_page,
        after_exception=[release_page_flight],
        debug=settings.debug,
    )
    use_file_routes(application.state, files)
    use_routes(routes)  # for code that builds links without a request: services, mail (web/urls.py)
    application.asgi_handler = SecurityHeaders(application.asgi_handler, https=settings.is_https)
    return application


def __getattr__(name: str) -> Litestar:
    # `events_app.app:app` is built on first access, so importing this module (tests, CLI) stays side-effect free.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
