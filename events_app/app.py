"""Application factory: ``create_app(settings)``; the module-level ``app`` reads EVENTS_* variables."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar, MediaType, Request, Response, Router, get
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.plugins.flash import FlashConfig, FlashPlugin
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from sqlalchemy import text

from events_app.cli import EventsCLIPlugin
from events_app.core.crypto import configure_data_keys
from events_app.core.outages import RETRY_AFTER_SECONDS, is_outage
from events_app.core.rate_limits import store_registry
from events_app.core.secret_key import check_secret_key
from events_app.core.security_headers import SecurityHeaders
from events_app.db import sqlalchemy_config
from events_app.settings import PROJECT_ROOT, Settings
from events_app.web.auth import SESSION_MAX_AGE
from events_app.web.edge import check_request_input
from events_app.web.errors import exception_handlers
from events_app.web.forms import CSRF_EXEMPT
from events_app.web.locale import LocaleMiddleware
from events_app.web.page_cache import (
    PageCache,
    page_cache_lifespan,
    release_page_flight,
    serve_cached_page,
    store_rendered_page,
)
from events_app.web.templating import template_engine

# A Litestar lifespan hook: entered at start-up, left at shutdown.
Lifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]


@get("/healthz", media_type=MediaType.JSON, include_in_schema=False, opt=CSRF_EXEMPT)
async def healthz(request: Request, db: int = 0) -> Response[dict[str, str]]:
    """Load balancer check; ?db=1 also proves the database answers (503 with Retry-After when it does not)."""
    if db:
        config = request.app.state.db_config
        try:
            async with config.get_session() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:
            if not is_outage(exc):
                raise
            return Response({"status": "unavailable", "database": "unavailable"}, status_code=503,
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        return Response({"status": "ok", "database": "ok"})
    return Response({"status": "ok"})


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


def data_key_check(db_config: SQLAlchemyAsyncConfig) -> Lifespan:
    """Refuses to start when encrypted personal data is stored and the configured keys cannot read it."""

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        from events_app.core.crypto import encrypted_columns, ensure_data_key_opens_stored_data
        from events_app.models import metadata

        if encrypted_columns(metadata):  # no query at all until a model declares an encrypted column
            async with db_config.get_session() as session:
                await ensure_data_key_opens_stored_data(session, metadata)
        yield

    return lifespan


def provide_settings(state: State) -> Settings:
    return state.settings


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    check_secret_key(settings.secret_key)  # a forgeable session key must never serve a request
    from events_app.wiring import wire

    wire()  # domains hear each other's announcements; before the template environment is built
    from events_app.accounts.controllers import route_handlers as account_routes
    from events_app.api import api_router
    from events_app.calendar.feeds import route_handlers as calendar_routes
    from events_app.calendar.feeds import serve_feed_paths
    from events_app.events.controllers import route_handlers as event_routes
    from events_app.registration.controllers import registration_rate_limit
    from events_app.registration.controllers import route_handlers as registration_routes
    from events_app.registration.mail_pages import route_handlers as mail_routes
    from events_app.schedule.controllers import route_handlers as schedule_routes
    from events_app.schedule.material_pages import route_handlers as material_routes
    from events_app.speakers.controllers import route_handlers as speaker_routes

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
    # No path patterns: routes that need no CSRF check say so themselves (opt=CSRF_EXEMPT).
    csrf_config = CSRFConfig(
        secret=settings.csrf_secret,
        cookie_name="csrftoken",
        header_name="x-csrftoken",
        cookie_secure=settings.is_https,
        cookie_samesite="lax",
    )
    stores, redis_store = store_registry(settings.redis_url, settings.redis_namespace)
    static_dir = PROJECT_ROOT / "static"
    template_config = TemplateConfig(instance=template_engine(settings.templates_dir))
    page_cache = PageCache(seconds=settings.page_cache_seconds, needs_listener=not settings.is_sqlite,
                           seat_lag_seconds=settings.page_cache_seat_lag_seconds)
    lifespan = [
        dispose_engine_on_shutdown(db_config),
        data_key_check(db_config),
        page_cache_lifespan(page_cache, settings.database_url),
    ]
    if settings.run_worker_in_process:
        lifespan.append(in_process_worker(settings))
    if redis_store is not None:
        lifespan.append(lambda _app: redis_store)  # closes the connection pool on shutdown
    application = Litestar(
        route_handlers=[
            healthz,
            *event_routes,
            *speaker_routes,
            *schedule_routes,
            *material_routes,
            *account_routes,
            *registration_routes,
            *mail_routes,
            *calendar_routes,
            api_router,
            create_static_files_router(path="/static", directories=[static_dir], include_in_schema=False),
        ],
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
        state=State({"settings": settings, "db_config": db_config, "page_cache": page_cache}),
        lifespan=lifespan,
        before_request=serve_cached_page,
        after_request=store_rendered_page,
        after_exception=[release_page_flight],
        debug=settings.debug,
    )
    serve_feed_paths(application)
    application.asgi_handler = SecurityHeaders(application.asgi_handler, https=settings.is_https)
    return application


def __getattr__(name: str) -> Litestar:
    # `events_app.app:app` is built on first access, so importing this module (tests, CLI) stays side-effect free.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
