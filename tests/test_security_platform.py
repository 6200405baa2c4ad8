"""Security of the platform (issue #10): secrets, sessions, CSRF, headers, logs, rate limits, passwords, outages.

Each test performs the attack over HTTP, the way the issue's attacker did, and expects it to fail.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import subprocess
import sys
import threading
import time
import uuid

import httpx
import pytest
from click.testing import CliRunner
from litestar.middleware.session.client_side import ClientSideSessionBackend, CookieBackendConfig
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from events_app.accounts.models import Account
from events_app.app import create_app
from events_app.events.models import Event, EventStatus
from events_app.settings import PROJECT_ROOT, Settings
from tests.conftest import (
    TEST_PASSWORD,
    csrf_token_from,
    free_port,
    login,
    make_account,
    make_event,
    post_form,
)
from tests.registration_helpers import make_registration_event, register

OLD_DEVELOPMENT_KEY = "dev-insecure-secret-change-me"
SESSION_COOKIE = "events_session"


def forged_session_cookie(secret_key: str, data: dict) -> str:
    """What an attacker who knows the key builds offline: the app's own cookie format, encrypted with the
    session key the app derives from EVENTS_SECRET_KEY."""
    session_key = hashlib.sha256(("session:" + secret_key).encode()).digest()
    backend = ClientSideSessionBackend(CookieBackendConfig(secret=session_key, key=SESSION_COOKIE))
    return b"".join(backend.dump_data(data)).decode()


async def try_forged_admin_session(app_settings: Settings, admin_id: int, known_key: str) -> None:
    """Builds the app as a starter would; if it starts, tries the offline-forged admin cookie on it."""
    try:
        app = create_app(app_settings)
    except Exception as refusal:  # the app must refuse to start with such a key, naming the variable
        assert "EVENTS_SECRET_KEY" in str(refusal)
        return
    cookie = forged_session_cookie(known_key, {"account_id": admin_id, "session_version": 0,
                                               "login_at": int(time.time())})
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as attacker:
        attacker.cookies.set(SESSION_COOKIE, cookie)
        response = await attacker.get("/organiser/accounts/", follow_redirects=False)
    assert response.status_code != 200, "an admin session forged offline opened the accounts page"


# ---- 1. forged sessions from the development secret ----------------------------------------------------------


async def test_without_a_secret_key_the_app_refuses_to_start_so_no_admin_cookie_can_be_forged(
    db, admin, settings, monkeypatch
):
    monkeypatch.delenv("EVENTS_SECRET_KEY", raising=False)
    app_settings = Settings.from_env(database_url=settings.database_url, media_dir=settings.media_dir)
    await try_forged_admin_session(app_settings, admin.id, OLD_DEVELOPMENT_KEY)


async def test_the_published_development_key_is_refused(db, admin, settings, monkeypatch):
    monkeypatch.setenv("EVENTS_SECRET_KEY", OLD_DEVELOPMENT_KEY)
    app_settings = Settings.from_env(database_url=settings.database_url, media_dir=settings.media_dir)
    await try_forged_admin_session(app_settings, admin.id, OLD_DEVELOPMENT_KEY)


async def test_a_key_shorter_than_32_bytes_is_refused(db, admin, settings):
    short_key = "only-31-bytes-long-0123456789ab"
    assert len(short_key.encode()) == 31
    await try_forged_admin_session(
        Settings(database_url=settings.database_url, secret_key=short_key), admin.id, short_key
    )


def test_uvicorn_refuses_to_serve_the_app_without_a_key(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "EVENTS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"}
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "events_app.app:app", "--port", str(free_port())],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "EVENTS_SECRET_KEY is not set" in result.stderr


def test_the_worker_refuses_a_short_key(monkeypatch, tmp_path):
    from events_app.cli import main

    monkeypatch.setenv("EVENTS_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("EVENTS_SECRET_KEY", "short")
    result = CliRunner().invoke(main, ["worker", "--once"])
    assert result.exit_code != 0
    assert "at least 32" in result.output


def test_events_app_run_on_a_public_address_without_a_key_refuses(monkeypatch):
    import uvicorn

    from events_app.cli import main

    monkeypatch.delenv("EVENTS_SECRET_KEY", raising=False)
    served = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: served.append(kwargs))
    result = CliRunner().invoke(main, ["run", "--host", "0.0.0.0"])
    assert result.exit_code != 0 and "EVENTS_SECRET_KEY is not set" in result.output
    assert served == []


def test_events_app_run_on_loopback_makes_a_development_key_once_and_keeps_it(monkeypatch, tmp_path):
    import os

    import uvicorn

    from events_app import cli

    key_file = tmp_path / ".secret_key"
    monkeypatch.setattr(cli, "DEVELOPMENT_KEY_FILE", key_file)
    served = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: served.append(kwargs))
    keys = []
    for _ in range(2):
        monkeypatch.delenv("EVENTS_SECRET_KEY", raising=False)
        result = CliRunner().invoke(cli.main, ["run", "--host", "127.0.0.1"])
        assert result.exit_code == 0, result.output
        keys.append(os.environ["EVENTS_SECRET_KEY"])
    assert keys[0] == keys[1] == key_file.read_text().strip()
    assert len(keys[0].encode()) >= 32
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert ".secret_key" in (PROJECT_ROOT / ".gitignore").read_text().split()
    # the access log of `events-app run` redacts private links (item 12)
    assert served[0]["log_config"]["loggers"]["uvicorn.access"]["filters"] == ["redact_private_links"]


# ---- 4 and 5. CSRF exclusions matched inside event slugs -----------------------------------------------------

SLUG_TITLES = ["API Summit", "Calendar Day", "Schema Workshop", "Healthz Clinic"]


@pytest.mark.parametrize("title", SLUG_TITLES)
async def test_organiser_forms_of_an_event_named_like_an_excluded_path_refuse_cross_site_posts(
    client, db, organiser, title
):
    victim = await make_account(db, "victim@example.org")
    event = await make_event(db, organiser, title=title, publish=False)
    await login(client, organiser.email)
    base = f"/organiser/events/{event.slug}"
    # A page on another site posts the forms; the browser adds the session cookie, not the CSRF token.
    attacks = [
        (f"{base}/status", {"status": "published"}),
        (f"{base}/managers", {"email": victim.email}),
        (f"{base}/edit", {"title": "Defaced", "kind": "lecture", "timezone": "UTC",
                          "starts_at": "2030-03-05T14:00", "ends_at": "2030-03-05T15:30"}),
    ]
    for path, data in attacks:
        response = await client.post(path, data=data, follow_redirects=False)
        assert response.status_code == 403, (path, response.status_code)
    status, stored_title = (await db.execute(select(Event.status, Event.title).where(Event.id == event.id))).one()
    assert status == EventStatus.DRAFT and stored_title == title


async def test_only_the_routes_that_need_no_csrf_check_skip_it(client, db, organiser):
    event = await make_event(db, organiser, title="API Summit")
    for path in ("/api/events", "/healthz", "/schema/openapi.json", "/calendar.ics", f"/events/{event.slug}.ics"):
        response = await client.get(path)
        assert response.status_code == 200 and "set-cookie" not in response.headers, path
    for path in (f"/events/{event.slug}", "/login"):
        response = await client.get(path)
        assert "csrftoken=" in response.headers["set-cookie"], path
        client.cookies.clear()


@pytest.mark.parametrize("title", SLUG_TITLES)
async def test_public_pages_of_an_event_named_like_an_excluded_path_work(client, db, organiser, title):
    event = await make_event(db, organiser, title=title)
    for _ in range(3):  # rendered, then served from the page cache
        page = await client.get(f"/events/{event.slug}")
        assert page.status_code == 200, page.text[:300]
        assert title in page.text
        home = await client.get("/")
        assert home.status_code == 200 and title in home.text


async def test_a_registration_form_on_the_api_summit_page_carries_a_working_csrf_token(client, db, organiser,
                                                                                         settings):
    event = await make_registration_event(db, organiser, settings, event_overrides={"title": "API Summit"})
    for _visitor in range(2):  # a new visitor each time; the second page comes from the cache, with its own token
        client.cookies = httpx.Cookies()
        page = await client.get(f"/events/{event.slug}")
        assert page.status_code == 200
        token = csrf_token_from(page.text)
        assert token == client.cookies["csrftoken"]
    response = await client.post(f"/events/{event.slug}/register", follow_redirects=False, data={
        "name": "Ada", "email": "ada@example.org", "_csrf_token": token,
    })
    assert response.status_code == 200 and "ada@example.org" in response.text, response.text[:300]  # accepted


# ---- 8. sessions that can be revoked -------------------------------------------------------------------------


# Other browsers are other cookie jars taken in turn by the one test client: one app, one event loop (clients
# of their own would share the app's connection pool across event loops, which PostgreSQL drivers refuse).


async def log_in_elsewhere(client, email: str) -> str:
    """Logs in from another browser; answers that browser's session cookie."""
    saved = client.cookies
    client.cookies = httpx.Cookies()
    try:
        await login(client, email)
        return client.cookies[SESSION_COOKIE]
    finally:
        client.cookies = saved


async def is_logged_in(client) -> bool:
    response = await client.get("/organiser/account/", follow_redirects=False)
    return response.status_code == 200


async def works(client, session_cookie: str) -> bool:
    """Someone holding this session cookie (another device, or an attacker who copied it) opens a page."""
    saved = client.cookies
    client.cookies = httpx.Cookies({SESSION_COOKIE: session_cookie})
    try:
        return await is_logged_in(client)
    finally:
        client.cookies = saved


async def test_a_cookie_copied_before_logout_no_longer_works_after_it(client, organiser):
    await login(client, organiser.email)
    stolen = client.cookies[SESSION_COOKIE]
    assert await works(client, stolen)
    await post_form(client, "/organiser/account/", {}, action="/logout")
    assert not await is_logged_in(client)
    assert not await works(client, stolen)


async def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(client, organiser):
    laptop = await log_in_elsewhere(client, organiser.email)
    await login(client, organiser.email)
    before_the_change = client.cookies[SESSION_COOKIE]
    response = await post_form(client, "/organiser/account/", {
        "current_password": TEST_PASSWORD, "new_password": "a-new-and-long-passphrase",
    }, action="/organiser/account/password")
    assert response.status_code in (302, 303)
    assert await is_logged_in(client)
    assert not await works(client, laptop)
    assert not await works(client, before_the_change)


async def test_logging_out_other_devices_keeps_this_one(client, organiser):
    laptop = await log_in_elsewhere(client, organiser.email)
    await login(client, organiser.email)
    response = await post_form(client, "/organiser/account/", {}, action="/organiser/account/sessions/end")
    assert response.status_code in (302, 303)
    assert await is_logged_in(client)
    assert not await works(client, laptop)


async def test_an_admin_logs_an_organiser_out_everywhere(client, admin, organiser):
    laptop = await log_in_elsewhere(client, organiser.email)
    phone = await log_in_elsewhere(client, organiser.email)
    await login(client, admin.email)
    response = await post_form(client, "/organiser/accounts/", {},
                               action=f"/organiser/accounts/{organiser.id}/sessions/end")
    assert response.status_code in (302, 303)
    assert not await works(client, laptop) and not await works(client, phone)
    assert await is_logged_in(client)
    assert await works(client, await log_in_elsewhere(client, organiser.email))  # logging in again works


async def test_deactivation_ends_sessions_for_good_even_after_reactivation(client, db, admin, organiser):
    laptop = await log_in_elsewhere(client, organiser.email)
    await login(client, admin.email)
    for _ in range(2):  # deactivate, then activate again
        response = await post_form(client, "/organiser/accounts/", {},
                                   action=f"/organiser/accounts/{organiser.id}/active")
        assert response.status_code in (302, 303)
    assert await db.scalar(select(Account.is_active).where(Account.id == organiser.id))
    assert not await works(client, laptop)


async def test_only_admins_log_others_out(client, admin, organiser):
    await login(client, organiser.email)
    response = await post_form(client, "/organiser/account/", {},
                               action=f"/organiser/accounts/{admin.id}/sessions/end")
    assert response.status_code == 403


async def test_a_session_ends_fourteen_days_after_login_however_often_it_is_used(client, organiser, settings):
    fifteen_days_ago = int(time.time()) - 15 * 24 * 3600
    cookie = forged_session_cookie(settings.secret_key, {
        "account_id": organiser.id, "session_version": 0, "login_at": fifteen_days_ago,
    })
    assert not await works(client, cookie)
    fresh = forged_session_cookie(settings.secret_key, {
        "account_id": organiser.id, "session_version": 0, "login_at": int(time.time()),
    })
    assert await works(client, fresh)  # the same cookie, young: the check above is the age


# ---- 12. private links in access logs ------------------------------------------------------------------------


async def test_the_access_log_never_holds_private_link_tokens(db, organiser, settings, tmp_path):
    event = await make_registration_event(db, organiser, settings)
    registration = await register(db, settings, event, "Ada")
    port = free_port()
    log_path = tmp_path / "access.log"
    env = {"EVENTS_DATABASE_URL": settings.database_url, "EVENTS_SECRET_KEY": settings.secret_key,
           "EVENTS_BASE_URL": f"http://127.0.0.1:{port}", "PATH": "/usr/bin:/bin"}
    # As documented for production: uvicorn with the shipped logging configuration.
    with log_path.open("wb") as log:
        server = subprocess.Popen(  # noqa: ASYNC220 - starting it is quick; the test then talks to it
            [sys.executable, "-m", "uvicorn", "events_app.app:app", "--port", str(port),
             "--log-config", str(PROJECT_ROOT / "docs" / "uvicorn-logging.json")],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            from events_app.devserver import stop_server, wait_until_up

            base = f"http://127.0.0.1:{port}"
            wait_until_up(base, server)
            async with httpx.AsyncClient(base_url=base) as visitor:
                assert (await visitor.get(f"/registrations/{registration.token}")).status_code == 200
                await visitor.get(f"/registrations/{registration.token}/withdraw")
                await visitor.get("/invitations/some-secret-invitation-token")
                await visitor.get("/my/calendar/some-secret-feed-token.ics")
        finally:
            stop_server(server)
    logged = log_path.read_text()
    assert "GET /registrations/[redacted] HTTP/1.1" in logged
    assert "/registrations/[redacted]/withdraw" in logged
    for secret in (registration.token, "some-secret-invitation-token", "some-secret-feed-token"):
        assert secret not in logged


def test_the_documented_logging_configuration_is_the_one_events_app_run_uses():
    from events_app.core.log_redaction import redact_path, uvicorn_log_config

    documented = json.loads((PROJECT_ROOT / "docs" / "uvicorn-logging.json").read_text())
    assert documented == json.loads(json.dumps(uvicorn_log_config()))
    assert redact_path("/organiser/events/x/registrations/3/approve") == "/organiser/events/x/registrations/3/approve"
    assert redact_path("/registrations/abc?x=1") == "/registrations/[redacted]?x=1"


# ---- the database cannot be reached ---------------------------------------------------------------------------

UNREACHABLE = {
    "postgresql": "postgresql+asyncpg://postgres@127.0.0.1:{port}/nowhere",
    "sqlite": "sqlite+aiosqlite:///{missing}/events.db",
}


@pytest.mark.parametrize("kind", sorted(UNREACHABLE))
async def test_pages_and_api_answer_503_with_retry_after_when_the_database_is_unreachable(kind, settings, tmp_path):
    url = UNREACHABLE[kind].format(port=free_port(), missing=tmp_path / "no" / "such" / "folder")
    app = create_app(Settings(database_url=url, secret_key=settings.secret_key, page_cache_seconds=0,
                              base_url=settings.base_url))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as visitor:
        for path in ("/", "/events/some-lecture", "/api/events", "/calendar.ics"):
            response = await visitor.get(path)
            assert response.status_code == 503, (path, response.status_code)
            assert int(response.headers["retry-after"]) > 0
        assert (await visitor.get("/api/events")).json()["detail"].startswith("Service temporarily unavailable")
        health = await visitor.get("/healthz", params={"db": 1})
        assert health.status_code == 503 and health.json()["database"] == "unavailable"
        assert "retry-after" in health.headers
        assert (await visitor.get("/healthz")).status_code == 200  # the process itself is fine
        login_page = await visitor.get("/login")
        response = await visitor.post("/login", data={
            "email": "a@example.org", "password": "whatever-long", "_csrf_token": csrf_token_from(login_page.text),
        })
        assert response.status_code == 503


# ---- rate limits shared through Redis ----------------------------------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_namespace():
    try:
        import redis
    except ImportError:
        pytest.skip("the redis package is not installed")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.RedisError:
        pytest.skip(f"no Redis answers at {REDIS_URL}")
    namespace = f"test-sec-platform-{uuid.uuid4().hex[:12]}"
    yield namespace
    keys = list(client.scan_iter(f"{namespace}*"))
    if keys:
        client.delete(*keys)
    client.close()


async def test_two_processes_sharing_redis_allow_the_registration_limit_once_not_twice(
    db, organiser, settings, redis_namespace
):
    from dataclasses import replace

    event = await make_registration_event(db, organiser, settings, capacity=100)
    shared = replace(settings, redis_url=REDIS_URL, redis_namespace=redis_namespace, registration_rate_limit=5)
    first_app, second_app = create_app(shared), create_app(shared)
    async with AsyncTestClient(app=first_app) as first, AsyncTestClient(app=second_app) as second:
        responses = await asyncio.gather(*(
            (first, second)[n % 2].post(f"/api/events/{event.slug}/registrations",
                                        json={"name": f"Person {n}", "email": f"person{n}@example.org"})
            for n in range(14)
        ))
    statuses = [r.status_code for r in responses]
    assert statuses.count(202) == 5, statuses
    assert statuses.count(429) == 9, statuses


async def test_two_processes_sharing_redis_allow_twenty_logins_a_minute_in_all(
    db, organiser, settings, redis_namespace
):
    from dataclasses import replace

    shared = replace(settings, redis_url=REDIS_URL, redis_namespace=redis_namespace)
    async with AsyncTestClient(app=create_app(shared)) as first, AsyncTestClient(app=create_app(shared)) as second:
        tokens = {}
        for client in (first, second):
            tokens[id(client)] = csrf_token_from((await client.get("/login")).text)
        statuses = []
        for n in range(24):
            client = (first, second)[n % 2]
            response = await client.post("/login", data={
                "email": organiser.email, "password": "wrong-password", "_csrf_token": tokens[id(client)],
            })
            statuses.append(response.status_code)
    assert statuses.count(401) == 20 and statuses.count(429) == 4, statuses


# ---- passwords -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("password, message", [
    ("Password123!", "most common"),
    ("qwertyuiop", "most common"),
    ("dragon2024!!", "most common"),
    ("newcomer@example.org!", "e-mail address"),
    ("my-newcomer-password", "e-mail address"),
    ("short", "at least 10"),
])
async def test_an_admin_cannot_give_a_new_account_a_weak_password(client, db, admin, password, message):
    await login(client, admin.email)
    response = await post_form(client, "/organiser/accounts/", {
        "email": "newcomer@example.org", "full_name": "New", "password": password, "role": "organiser",
    }, action="/organiser/accounts")
    assert response.status_code == 400
    assert message in response.text
    assert await db.scalar(select(Account).where(Account.email == "newcomer@example.org")) is None


async def test_a_common_password_is_refused_on_password_change(client, organiser):
    await login(client, organiser.email)
    response = await post_form(client, "/organiser/account/", {
        "current_password": TEST_PASSWORD, "new_password": "1q2w3e4r5t6y",
    }, action="/organiser/account/password")
    assert response.status_code == 400 and "most common" in response.text


async def test_password_hashing_runs_off_the_event_loop(client, organiser, monkeypatch):
    from events_app.accounts import passwords

    threads = []

    class RecordingHasher(type(passwords.password_hasher)):
        def verify(self, *args):
            threads.append(threading.current_thread() is threading.main_thread())
            return super().verify(*args)

    monkeypatch.setattr(passwords, "password_hasher", RecordingHasher())
    await login(client, organiser.email)
    await post_form(client, "/login", {"email": "nobody@example.org", "password": "whatever-long"})
    assert threads == [False, False]


# ---- response headers ------------------------------------------------------------------------------------------


async def test_every_page_forbids_inline_script_framing_sniffing_and_cross_site_referers(client, db, organiser,
                                                                                          settings):
    event = await make_registration_event(db, organiser, settings)
    registration = await register(db, settings, event, "Ada")
    for path in ("/", "/", f"/events/{event.slug}", f"/registrations/{registration.token}", "/login",
                 "/no-such-page"):
        response = await client.get(path)
        assert response.headers["content-type"].startswith("text/html"), path
        policy = dict(
            (directive.split(" ", 1) + [""])[:2] for directive in response.headers["content-security-policy"].split("; ")
        )
        assert policy["script-src"] == "'self'", path
        assert "unsafe-inline" not in policy["default-src"]
        assert policy["frame-ancestors"] == "'none'"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in response.headers  # http: HSTS would be ignored anyway
    api = await client.get("/api/events")
    assert api.headers["x-content-type-options"] == "nosniff"
    assert api.headers["content-security-policy"].startswith("default-src 'none'")


async def test_a_revalidation_answer_leaves_the_stored_policy_alone(client, db, organiser):
    # Browsers merge a 304's headers into the cached response: a policy on it would replace the page's own.
    event = await make_event(db, organiser)
    first = await client.get(f"/events/{event.slug}.ics")
    again = await client.get(f"/events/{event.slug}.ics", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert "content-security-policy" not in again.headers
    assert again.headers["x-content-type-options"] == "nosniff"


async def test_https_sites_send_hsts(clean_db, settings):
    from dataclasses import replace

    app = create_app(replace(settings, base_url="https://events.example.org"))
    async with AsyncTestClient(app=app, base_url="https://events.example.org") as visitor:
        response = await visitor.get("/")
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert "upgrade-insecure-requests" in response.headers["content-security-policy"]


def test_templates_hold_no_inline_script_or_event_handler_attributes():
    offenders = []
    for template in (PROJECT_ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text, re.I) or re.search(r"\son[a-z]+\s*=", text, re.I):
            offenders.append(str(template.relative_to(PROJECT_ROOT)))
        if "javascript:" in text.lower():
            offenders.append(str(template.relative_to(PROJECT_ROOT)))
    assert offenders == []


def test_static_files_exist_for_every_script_a_template_loads():
    for template in (PROJECT_ROOT / "templates").rglob("*.html"):
        for src in re.findall(r'<script[^>]*\bsrc="([^"]+)"', template.read_text()):
            # Reversed from the route name (test_web_links), or a path written out.
            named = re.fullmatch(r"\{\{ url_for\('static', file_path='([^']+)'\) \}\}", src)
            path = PROJECT_ROOT / "static" / named.group(1) if named else PROJECT_ROOT / src.lstrip("/")
            assert (named or src.startswith("/static/")) and path.exists(), (template, src)

