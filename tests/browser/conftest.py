"""Browser fixtures: Debian's Chromium driven by Playwright against a real server process on loopback.

Everything here is synchronous (Playwright's sync API) and lives in this folder only, so it never shares an
event loop with the async fixtures of tests/conftest.py. Without Chromium, Playwright or axe-core the tests skip
with the reason in the summary — unless EVENTS_REQUIRE_BROWSER=1 (CI), where they fail instead.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TypeVar

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.browser.actions import forget_csp_violations, watch_csp_violations
from tests.browser.live import (
    INSTALL_HINT,
    LiveServer,
    axe_source,
    copy_database,
    drop_database,
    fresh_database,
    launch_chromium,
    run_in_database,
)
from tests.conftest import SmtpSink, free_port, make_account, wipe

T = TypeVar("T")

REQUIRE_BROWSER = os.environ.get("EVENTS_REQUIRE_BROWSER", "").strip().lower() in {"1", "true", "yes", "on"}
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
_skip_reasons: set[str] = set()


def unavailable(reason: str, hint: str = INSTALL_HINT) -> None:
    """Skips, with how to fix it — or fails, where the browser is required (CI)."""
    message = f"{reason}; {hint}"
    if REQUIRE_BROWSER:
        pytest.fail(f"EVENTS_REQUIRE_BROWSER=1 but {message}", pytrace=False)
    _skip_reasons.add(message)
    pytest.skip(message)


def pytest_terminal_summary(terminalreporter) -> None:
    for reason in sorted(_skip_reasons):
        terminalreporter.write_line(f"browser tests skipped: {reason}", yellow=True)


# One Chromium per worker: each test has a context of its own (cookies, storage), so nothing carries over.
# It asks for database_url so that is set up first: on PostgreSQL that runs asyncio.run, which cannot run on
# this thread once Playwright's event loop does.
@pytest.fixture(scope="session")
def browser(database_url: str) -> Iterator:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the Python package playwright is not installed", "pip install -e '.[test]' (make test does)")
    playwright = sync_playwright().start()
    try:
        chromium = launch_chromium(playwright)
    except Exception as exc:
        playwright.stop()
        unavailable(f"Chromium cannot start ({str(exc).splitlines()[0]})")
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture(scope="module")
def axe_script() -> str:
    try:
        return axe_source()
    except FileNotFoundError as exc:
        unavailable(str(exc))


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink(free_port()).start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def migrated_database(browser, tmp_path_factory, database_url: str) -> Iterator[str]:
    """The schema as the migrations build it, once per worker; each module's server gets a copy."""
    postgres_url = database_url if database_url.startswith("postgresql") else None
    template_url = fresh_database(postgres_url, tmp_path_factory.mktemp("template") / "template.db",
                                  suffix="browser_template")
    yield template_url
    drop_database(template_url)


@pytest.fixture(scope="module")
def live_server(migrated_database: str, smtp: SmtpSink, tmp_path_factory,
                database_url: str) -> Iterator[LiveServer]:
    """A server process of the module's own: what it keeps in memory (caches, rate-limit counters) starts empty."""
    workdir = tmp_path_factory.mktemp("live")
    # On PostgreSQL, a sibling of this worker's test database (each xdist worker has its own).
    postgres_url = database_url if database_url.startswith("postgresql") else None
    database_url = copy_database(migrated_database, postgres_url, workdir / "live.db")
    server = LiveServer(database_url, smtp_url=f"smtp://127.0.0.1:{smtp.port}", workdir=workdir).start()
    yield server
    server.stop()
    drop_database(database_url)


@dataclass
class Site:
    """The running site with empty tables, and ways to arrange data in it through the services."""

    server: LiveServer
    smtp: SmtpSink

    def url(self, path: str = "/") -> str:
        return self.server.url(path)

    def arrange(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        return run_in_database(self.server.database_url, work)

    def organiser(self, email: str = "organiser@example.org", *, admin: bool = False) -> str:
        self.arrange(lambda session: make_account(session, email, admin=admin))
        return email

    def wait_for_mail(self, address: str, *, count: int = 1, timeout: float = 20.0) -> list[EmailMessage]:
        """Mail reaches the sink through the server's own delivery worker (it polls the outbox every 2 s)."""
        deadline = time.monotonic() + timeout
        while len(self.smtp.to(address)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"no e-mail to {address} within {timeout} s:\n{self.server.log()}")
            time.sleep(0.2)
        return self.smtp.to(address)

    def demo(self) -> None:
        from events_app.demo import load_demo_data

        self.arrange(lambda session: load_demo_data(session, only_if_empty=False))


@pytest.fixture
def site(live_server: LiveServer, smtp: SmtpSink) -> Site:
    wipe(live_server.database_url)
    smtp.messages.clear()
    smtp.envelopes.clear()
    return Site(live_server, smtp)


def _new_page(browser, live_server: LiveServer, **options):
    options = {"viewport": DESKTOP, "locale": "en-GB", **options}
    context = browser.new_context(base_url=live_server.base_url, **options)
    context.set_default_timeout(10_000)
    new_page = context.new_page()
    watch_csp_violations(context, new_page)
    return context, new_page


def _close(context, page) -> None:
    # A journey that ends with a report from the Content-Security-Policy fails: a style or script the policy
    # stops would silently break the page for people.
    reports = forget_csp_violations(page)
    context.close()
    assert reports == [], "the Content-Security-Policy blocked something:\n" + "\n".join(reports)


@pytest.fixture
def page(browser, live_server: LiveServer) -> Iterator:
    context, new_page = _new_page(browser, live_server)
    yield new_page
    _close(context, new_page)


@pytest.fixture
def page_without_javascript(browser, live_server: LiveServer) -> Iterator:
    context, new_page = _new_page(browser, live_server, java_script_enabled=False)
    new_page.set_content("<title>no script</title><script>document.title = 'script ran'</script>")
    assert new_page.title() == "no script", "JavaScript is still enabled in this context"
    yield new_page
    _close(context, new_page)


@pytest.fixture
def phone_page(browser, live_server: LiveServer) -> Iterator:
    context, new_page = _new_page(browser, live_server, viewport=PHONE, is_mobile=True, has_touch=True)
    yield new_page
    _close(context, new_page)

