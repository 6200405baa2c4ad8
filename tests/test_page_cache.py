"""Public pages are kept rendered for anonymous visitors, and never shown stale after a change is committed."""

from __future__ import annotations

import asyncio
import re

import pytest
from litestar import get
from litestar.response import Template
from litestar.testing import AsyncTestClient

from events_app.web import page_cache
from tests.conftest import TEST_PASSWORD, csrf_token_from, make_event, post_form
from tests.test_query_counts import counted_statements


async def served_from_memory(app, client, url: str):
    """GETs `url` until a second GET reads nothing from the database; returns (first, second) response. On
    PostgreSQL nothing is kept until the listener is connected, and the notification of the test's own setup
    commit may still be on its way (it empties the cache when it lands)."""
    for _ in range(100):
        first = await client.get(url)
        with counted_statements(app) as statements:
            again = await client.get(url)
        if not statements:
            return first, again
        await asyncio.sleep(0.05)
    raise AssertionError(f"{url} was never served from memory: {statements}")


async def test_repeat_anonymous_visits_of_an_event_page_cost_no_queries(app, client, db, organiser):
    event = await make_event(db, organiser, title="Open Science Lecture")
    first, again = await served_from_memory(app, client, f"/events/{event.slug}")
    assert again.status_code == 200 and again.text == first.text


async def test_visitors_see_an_organisers_change_at_once(app, client, db, organiser):
    from events_app.events.services import EventService

    event = await make_event(db, organiser, title="Open Science Lecture")
    assert "Open Science Lecture" in (await client.get(f"/events/{event.slug}")).text
    assert "Open Science Lecture" in (await client.get("/")).text

    await EventService(session=db).update_event(event, {"title": "Open Science Lecture (new room)"})
    await db.commit()

    assert "Open Science Lecture (new room)" in (await client.get(f"/events/{event.slug}")).text
    assert "Open Science Lecture (new room)" in (await client.get("/")).text


async def test_a_rolled_back_change_keeps_the_page(app, client, db, organiser):
    from events_app.events.services import EventService

    event = await make_event(db, organiser, title="Open Science Lecture")
    url = f"/events/{event.slug}"
    await served_from_memory(app, client, url)
    await EventService(session=db).update_event(event, {"title": "Never saved"})
    await db.rollback()
    with counted_statements(app) as statements:
        page = await client.get(url)
    assert "Never saved" not in page.text and statements == []


async def test_logged_in_organisers_always_get_a_fresh_page(app, client, db, organiser):
    event = await make_event(db, organiser, title="Open Science Lecture")
    await client.get(f"/events/{event.slug}")  # kept for anonymous visitors
    logged_in = await post_form(client, "/login", {"email": organiser.email, "password": TEST_PASSWORD},
                                follow_redirects=False)
    assert logged_in.status_code in (302, 303)
    page = await client.get(f"/events/{event.slug}")
    # Rendered for them, not the anonymous visitors' copy (which offers the login).
    assert "Organiser area" in page.text and "Organiser login" not in page.text


async def test_pages_in_each_language_are_kept_apart(client, db, organiser):
    await make_event(db, organiser, title="Open Science Lecture")
    assert 'lang="en"' in (await client.get("/")).text
    assert 'lang="zh"' in (await client.get("/", headers={"accept-language": "zh-CN"})).text
    assert 'lang="en"' in (await client.get("/")).text


async def test_each_visitor_gets_a_form_with_their_own_csrf_token(app, monkeypatch):
    @get("/test-cached-form", name="test_cached_form")
    async def cached_form() -> Template:
        return Template(template_name="accounts/login.html", context={"values": {}, "errors": {}})

    app.register(cached_form)
    monkeypatch.setattr(page_cache, "CACHED_ROUTES", page_cache.CACHED_ROUTES | {"test_cached_form"})
    tokens = []
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as first, \
            AsyncTestClient(app=app, base_url="http://testserver.local") as second:
        for visitor in (first, second, first):
            page = await visitor.get("/test-cached-form")
            token = csrf_token_from(page.text)
            assert token == visitor.cookies["csrftoken"]
            tokens.append(token)
        # the second visitor's page came from memory, with their own token put in
        assert tokens[0] != tokens[1] and tokens[0] == tokens[2]
        response = await second.post("/login", data={"email": "nobody@example.org", "password": "x",
                                                      "_csrf_token": tokens[1]})
        assert response.status_code != 403


async def test_a_change_committed_by_another_process_clears_the_page(app, client, db, organiser, database_url, is_postgres):
    if not is_postgres:
        pytest.skip("cross-process notification is PostgreSQL's LISTEN/NOTIFY")
    import asyncpg

    event = await make_event(db, organiser, title="Open Science Lecture")
    await client.get(f"/events/{event.slug}")
    # Another process (here: a bare connection, no ORM) changes the title and says so, as the app's writes do.
    connection = await asyncpg.connect(page_cache.asyncpg_dsn(database_url))
    try:
        async with connection.transaction():
            await connection.execute("UPDATE event SET title = 'Renamed elsewhere' WHERE id = $1", event.id)
            await connection.execute(f"NOTIFY {page_cache.CHANNEL}")
    finally:
        await connection.close()
    for _ in range(50):
        page = await client.get(f"/events/{event.slug}")
        if "Renamed elsewhere" in page.text:
            break
        await asyncio.sleep(0.02)
    assert re.search(r"<h1>Renamed elsewhere</h1>", page.text)


async def test_committed_writes_are_announced_to_other_workers_and_reads_are_not(db, organiser, database_url, is_postgres):
    if not is_postgres:
        pytest.skip("cross-process notification is PostgreSQL's LISTEN/NOTIFY")
    import asyncpg

    from events_app.events.services import EventService

    event = await make_event(db, organiser, title="Open Science Lecture")
    heard: list[str] = []
    listener = await asyncpg.connect(page_cache.asyncpg_dsn(database_url))
    await listener.add_listener(page_cache.CHANNEL, lambda _c, _pid, channel, _payload: heard.append(channel))
    try:
        await EventService(session=db).public_by_slug(event.slug)
        await db.commit()  # a read-only transaction says nothing
        await asyncio.sleep(0.1)
        assert heard == []
        await EventService(session=db).update_event(event, {"title": "Open Science Lecture, moved"})
        await db.commit()
        for _ in range(50):
            if heard:
                break
            await asyncio.sleep(0.02)
        assert heard == [page_cache.CHANNEL]
    finally:
        await listener.close()


async def test_a_kept_page_expires_because_upcoming_depends_on_the_clock():
    cache = page_cache.PageCache(seconds=0.05, needs_listener=False)
    key = ("/", b"", "en")
    cache.put(key, "<p>upcoming</p>", page_cache.current_generation())
    assert cache.get(key).body == "<p>upcoming</p>"
    await asyncio.sleep(0.08)
    assert cache.get(key) is None


async def test_a_page_rendered_while_a_write_committed_is_not_kept():
    cache = page_cache.PageCache(seconds=30, needs_listener=False)
    key = ("/", b"", "en")
    cache.get(key)  # the request starts: nothing kept yet
    started_at = cache.generation
    page_cache.pages_changed()  # someone commits while the page renders
    cache.put(key, "<p>maybe stale</p>", started_at)
    assert cache.get(key) is None


# ---- fine-grained invalidation: a write clears what it changed --------------------------------------------


def seats_left(page: str) -> str:
    found = re.search(r'<span class="seats">([^<]*)', page)
    return found.group(1) if found else ""


async def test_a_registration_leaves_other_pages_and_refreshes_its_event_page(app, client, db, organiser, settings):
    from tests.registration_helpers import make_registration_event

    event = await make_registration_event(db, organiser, settings, capacity=10)
    other = await make_event(db, organiser, title="Another lecture")
    url = f"/events/{event.slug}"
    app.state.page_cache.seat_lag_seconds = 60  # the lag is for other processes: this one reads its own writes
    before = (await client.get(url)).text
    # Kept once the setup's own notifications have landed (PostgreSQL: they arrive asynchronously).
    await served_from_memory(app, client, "/")
    await served_from_memory(app, client, f"/events/{other.slug}")
    assert "10 seats left" in seats_left(before)

    answer = await client.post(f"/api/events/{event.slug}/registrations", json={"name": "Ana", "email": "ana@example.org"})
    assert answer.status_code in (201, 202)

    with counted_statements(app) as statements:
        home = await client.get("/")
        other_page = await client.get(f"/events/{other.slug}")
    assert statements == [], "a registration changes only its event's page"
    assert home.status_code == other_page.status_code == 200
    assert "9 seats left" in seats_left((await client.get(url)).text)


async def test_changed_registration_settings_show_at_once(app, client, db, organiser, settings):
    from events_app.registration.services import RegistrationService
    from tests.registration_helpers import make_registration_event

    event = await make_registration_event(db, organiser, settings, capacity=10)
    app.state.page_cache.seat_lag_seconds = 60
    assert "10 seats left" in seats_left((await client.get(f"/events/{event.slug}")).text)
    await RegistrationService(db, settings).update_settings(event, {"capacity": 25})
    await db.commit()
    assert "25 seats left" in seats_left((await client.get(f"/events/{event.slug}")).text)


def test_notification_payloads_say_what_changed_and_anything_else_changes_everything():
    assert page_cache.decode_changes(page_cache.encode_changes({("seats", 12), ("event", 3)})) == {
        ("seats", 12), ("event", 3)}
    assert page_cache.decode_changes("seats:*") == {("seats", page_cache.ANY_EVENT)}
    assert page_cache.decode_changes("") == {page_cache.ALL}  # what older code and bare NOTIFYs send
    assert page_cache.decode_changes("seats:12 nonsense") == {page_cache.ALL}
    assert page_cache.encode_changes({page_cache.ALL, ("seats", 1)}) == "all"
    many = {("seats", n) for n in range(5000)}
    assert page_cache.encode_changes(many) == "all"


async def test_a_registration_is_announced_to_other_workers_as_its_event_seats_only(client, db, organiser, settings,
                                                                                    database_url, is_postgres):
    if not is_postgres:
        pytest.skip("cross-process notification is PostgreSQL's LISTEN/NOTIFY")
    import asyncpg

    from tests.registration_helpers import make_registration_event

    event = await make_registration_event(db, organiser, settings, capacity=10)
    heard: list[str] = []
    listener = await asyncpg.connect(page_cache.asyncpg_dsn(database_url))
    await listener.add_listener(page_cache.CHANNEL, lambda _c, _pid, _channel, payload: heard.append(payload))
    try:
        answer = await client.post(f"/api/events/{event.slug}/registrations",
                                   json={"name": "Ana", "email": "ana@example.org"})
        assert answer.status_code in (201, 202)
        for _ in range(50):
            if heard:
                break
            await asyncio.sleep(0.02)
        assert heard == [f"seats:{event.id}"]
    finally:
        await listener.close()


async def test_a_registration_announces_its_seats_before_taking_the_event_lock_and_once(app, client, db, organiser,
                                                                                      settings, is_postgres):
    # The lock makes every other process's registrations for the event wait: the announcement is sent before
    # it (PostgreSQL delivers it at commit all the same), not among the statements run while it is held.
    if not is_postgres:
        pytest.skip("NOTIFY is PostgreSQL's")
    from tests.registration_helpers import make_registration_event
    from tests.test_query_counts import counted_statements

    event = await make_registration_event(db, organiser, settings, capacity=10)
    with counted_statements(app) as statements:
        answer = await client.post(f"/api/events/{event.slug}/registrations",
                                   json={"name": "Ana", "email": "ana@example.org"})
    assert answer.status_code in (201, 202)
    notifies = [i for i, statement in enumerate(statements) if statement.startswith("NOTIFY")]
    lock = next(i for i, statement in enumerate(statements) if "FOR UPDATE" in statement)
    assert notifies == [lock - 1], statements
    assert f"'seats:{event.id}'" in statements[notifies[0]]


async def test_a_seat_change_heard_from_another_process_refreshes_the_page_after_the_lag(app, client, db, organiser,
                                                                                        settings):
    from tests.registration_helpers import make_registration_event

    event = await make_registration_event(db, organiser, settings, capacity=10)
    app.state.page_cache.seat_lag_seconds = 0.5
    url = f"/events/{event.slug}"
    await served_from_memory(app, client, url)
    page_cache.apply_changes(page_cache.decode_changes(f"seats:{event.id}"))  # as the listener does
    with counted_statements(app) as statements:
        await client.get(url)
    assert statements == []
    await asyncio.sleep(0.6)
    with counted_statements(app) as statements:
        await client.get(url)
    assert statements


# ---- single flight: a page wanted by many at once is rendered once ------------------------------------------


async def test_concurrent_visitors_of_one_uncached_page_share_one_rendering(app, client, monkeypatch):
    import httpx
    from litestar.exceptions import NotFoundException

    renders = {"ok": 0, "missing": 0}

    @get("/test-slow-page", name="test_slow_page")
    async def slow_page() -> Template:
        renders["ok"] += 1
        await asyncio.sleep(0.2)  # every request below arrives while this one renders
        return Template(template_name="errors/error.html", context={"status": 200, "title": "Slow", "detail": ""})

    @get("/test-slow-missing", name="test_slow_missing")
    async def slow_missing() -> Template:
        renders["missing"] += 1
        await asyncio.sleep(0.1)
        raise NotFoundException("No such page.")

    app.register(slow_page)
    app.register(slow_missing)
    monkeypatch.setattr(page_cache, "CACHED_ROUTES", page_cache.CACHED_ROUTES | {"test_slow_page", "test_slow_missing"})
    monkeypatch.setattr(page_cache, "FLIGHT_WAIT_SECONDS", 30.0)
    for _ in range(100):  # `client` started the app, and on PostgreSQL its listener, without which nothing is kept
        if app.state.page_cache.active:
            break
        await asyncio.sleep(0.05)
    # httpx straight on the ASGI app, so the requests really run at the same time.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as many:
        answers = await asyncio.wait_for(asyncio.gather(*(many.get("/test-slow-page") for _ in range(10))), 20)
        assert [a.status_code for a in answers] == [200] * 10 and len({a.text for a in answers}) == 1
        assert renders["ok"] == 1

        # A page that fails releases those waiting for it at once (they try themselves), not after the wait.
        missing = await asyncio.wait_for(asyncio.gather(*(many.get("/test-slow-missing") for _ in range(4))), 10)
        assert [a.status_code for a in missing] == [404] * 4
    assert app.state.page_cache.flights == {}


async def test_the_public_list_of_events_in_the_api_is_kept_and_refreshed_by_a_change(app, client, db, organiser):
    from events_app.events.services import EventService

    event = await make_event(db, organiser, title="Open Science Lecture")
    first, again = await served_from_memory(app, client, "/api/events")
    assert again.content == first.content
    assert again.headers["content-type"].startswith("application/json")
    assert [item["title"] for item in again.json()["items"]] == ["Open Science Lecture"]

    await EventService(session=db).update_event(event, {"title": "Open Science Lecture (new room)"})
    await db.commit()
    assert [item["title"] for item in (await client.get("/api/events")).json()["items"]] == [
        "Open Science Lecture (new room)"]


async def test_an_api_token_holder_gets_a_fresh_list_with_their_drafts(app, client, db, organiser, token):
    await make_event(db, organiser, title="Open Science Lecture")
    await make_event(db, organiser, title="Draft Workshop", publish=False)
    public = await client.get("/api/events")  # kept for anonymous readers
    assert [item["title"] for item in public.json()["items"]] == ["Open Science Lecture"]
    with counted_statements(app) as statements:
        own = await client.get("/api/events", headers={"Authorization": f"Bearer {token}"})
    assert statements, "a token holder's list must be read, not taken from memory"
    assert sorted(item["title"] for item in own.json()["items"]) == ["Draft Workshop", "Open Science Lecture"]
    assert [item["title"] for item in (await client.get("/api/events")).json()["items"]] == ["Open Science Lecture"]


async def test_a_rejected_api_query_is_not_kept(client, db, organiser):
    await make_event(db, organiser, title="Open Science Lecture")
    assert (await client.get("/api/events?limit=0")).status_code == 400
    assert (await client.get("/api/events?limit=0")).status_code == 400
