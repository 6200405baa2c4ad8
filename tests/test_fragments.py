"""Parts of public pages kept rendered (web/fragments.py) when the page itself is rendered on every request:
what they show changes at once, seat counts show this process's registrations at once (and another's within the
seat lag), languages and escaping are kept."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import re

import pytest

from events_app.settings import Settings
from tests.conftest import make_event
from tests.registration_helpers import make_registration_event, register
from tests.test_query_counts import counted_statements


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, page_cache_seconds=0)  # every request renders the page


async def settled_statements(app, client, url: str, expected: int) -> tuple[list[str], str]:
    """The statements of a request for `url` once the notifications of the arrangement's commits have arrived
    (on PostgreSQL they reach the app's listener asynchronously and drop what was kept before)."""
    for _ in range(20):
        with counted_statements(app) as statements:
            page = await client.get(url)
        if len(statements) == expected:
            break
        await asyncio.sleep(0.1)
    return statements, page.text


def without_csrf(html: str) -> str:
    return re.sub(r'value="[^"]{40,}"', 'value="token"', html)


async def add_talk(db, event, title: str) -> None:
    from events_app.schedule.services import TalkService

    start = event.starts_at + dt.timedelta(hours=1)
    await TalkService(session=db).create_talk(event, {
        "title": title, "starts_at": start.astimezone(event.zone).replace(tzinfo=None).isoformat(),
        "ends_at": (start + dt.timedelta(minutes=30)).astimezone(event.zone).replace(tzinfo=None).isoformat(),
    })
    await db.commit()


async def test_an_event_page_rendered_again_reads_no_programme_and_reads_the_same(app, client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=50)
    await add_talk(db, event, "Catalysis at scale")
    with counted_statements(app) as first_statements:
        first = await client.get(f"/events/{event.slug}")
    # Read again: nothing where every process's writes are heard (PostgreSQL: the event's row and the seat
    # counts are kept too); on SQLite the event's row and the seat counts. Never the programme, the materials
    # or the calls (kept).
    again_read = 0 if app.state.page_cache.needs_listener else 2
    statements, again = await settled_statements(app, client, f"/events/{event.slug}", again_read)
    assert "Catalysis at scale" in again and 'name="country"' in again
    assert without_csrf(again) == without_csrf(first.text)
    assert len(statements) == again_read < len(first_statements), statements
    assert not any("talk_speaker" in statement.lower() for statement in statements), statements


async def test_a_new_talk_and_a_renamed_event_show_at_once(client, db, organiser, settings):
    from events_app.events.services import EventService

    event = await make_registration_event(db, organiser, settings, capacity=50)
    await client.get(f"/events/{event.slug}")
    await add_talk(db, event, "A talk added later")
    assert "A talk added later" in (await client.get(f"/events/{event.slug}")).text
    await EventService(session=db).update_event(event, {"title": "Renamed <Lecture>"})
    await db.commit()
    for url in (f"/events/{event.slug}", "/"):
        page = (await client.get(url)).text
        assert "Renamed &lt;Lecture&gt;" in page and "Renamed <Lecture>" not in page


async def test_a_registration_shows_in_the_seat_counts_at_once_while_the_programme_is_kept(app, client, db, organiser,
                                                                                          settings):
    event = await make_registration_event(db, organiser, settings, capacity=2)
    await add_talk(db, event, "Catalysis at scale")
    first = await client.get(f"/events/{event.slug}")
    assert "2 seats left" in first.text
    # On PostgreSQL the notification of add_talk's commit may land after that request and drop the programme
    # it kept; the registration below must find it kept.
    await settled_statements(app, client, f"/events/{event.slug}", 0 if app.state.page_cache.needs_listener else 2)
    await register(db, settings, event, "Ada")
    with counted_statements(app) as statements:
        page = (await client.get(f"/events/{event.slug}")).text
    assert "1 seat left" in page and "Catalysis at scale" in page
    assert not any("talk_speaker" in statement.lower() for statement in statements), statements
    await register(db, settings, event, "Grace")
    page = (await client.get(f"/events/{event.slug}")).text
    assert "Join the waitlist" in page and "Catalysis at scale" in page


async def test_a_new_registration_question_shows_at_once(client, db, organiser, settings):
    from events_app.registration.services import RegistrationService

    event = await make_registration_event(db, organiser, settings, capacity=50)
    assert "Dietary needs" not in (await client.get(f"/events/{event.slug}")).text
    await RegistrationService(db, settings).update_settings(event, {"questions": [
        {"key": "diet", "label": "Dietary needs", "kind": "short_text", "required": False, "options": []}]})
    await db.commit()
    assert "Dietary needs" in (await client.get(f"/events/{event.slug}")).text


async def test_each_language_gets_its_own_fragments(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=50)
    await make_event(db, organiser, title="Second lecture")
    english = (await client.get(f"/events/{event.slug}")).text
    chinese = (await client.get(f"/events/{event.slug}?lang=zh")).text
    assert "Add to your calendar" in english and "Add to your calendar" not in chinese
    assert '<option value="DE">Germany</option>' in english and '<option value="DE">德国</option>' in chinese
    assert 'lang="zh"' in (await client.get("/?lang=zh")).text
    assert "Upcoming" in (await client.get("/?lang=en")).text


async def test_the_home_page_rendered_again_reads_only_the_events_and_a_new_series_shows_at_once(app, client, db,
                                                                                                organiser):
    from events_app.events.services import SeriesService

    await make_event(db, organiser, title="Open Science Lecture")
    first = await client.get("/")
    # The menus are kept; so are the listing's keys and total where every process's writes are heard.
    expected = 0 if app.state.page_cache.needs_listener else 1
    statements, again = await settled_statements(app, client, "/", expected)
    assert len(statements) == expected and "Open Science Lecture" in again
    assert without_csrf(again) == without_csrf(first.text)
    await SeriesService(session=db).create_series({"title": "Distinguished <Lectures>"}, creator=organiser)
    await db.commit()
    assert "Distinguished &lt;Lectures&gt;</option>" in (await client.get("/")).text


def test_a_fragment_read_before_a_change_that_committed_during_the_request_is_not_kept():
    from types import SimpleNamespace

    from events_app.web import page_cache
    from events_app.web.fragments import FragmentCache, cached_fragment

    fragments = FragmentCache(seconds=30)
    state = {"fragments": fragments, "page_cache": page_cache.PageCache(seconds=0, needs_listener=False)}
    context = {"request": SimpleNamespace(app=SimpleNamespace(state=state))}
    render = cached_fragment  # a plain function under the Jinja marker
    started = page_cache._request_started.set(page_cache.state_at_request_start())
    try:
        page_cache.pages_changed()  # someone commits after this request read its data
        assert render(context, "event-more", 1, caller=lambda: "<p>old</p>") == "<p>old</p>"
        assert fragments.fragments == {}
    finally:
        page_cache._request_started.reset(started)
    assert render(context, "event-more", 1, caller=lambda: "<p>new</p>") == "<p>new</p>"
    assert render(context, "event-more", 1, caller=lambda: "<p>not rendered</p>") == "<p>new</p>"


async def test_seat_counts_read_for_an_event_page_are_kept_for_the_seat_lag_after_another_process_registers(
        app, client, db, organiser, settings, is_postgres, monkeypatch):
    from events_app.web import page_cache

    if not is_postgres:
        pytest.skip("seat counts are kept only where every process's writes are heard (PostgreSQL's LISTEN)")
    event = await make_registration_event(db, organiser, settings, capacity=2)
    app.state.page_cache.seat_lag_seconds = 0.5
    url = f"/events/{event.slug}"
    await settled_statements(app, client, url, 0)
    heard_here = page_cache.apply_changes

    def heard_from_another_process_only(changes, *, own=False):
        if not own:  # the NOTIFY of the commit, as every other process hears it
            heard_here(changes)

    monkeypatch.setattr(page_cache, "apply_changes", heard_from_another_process_only)
    heard_before = page_cache._seats_changed.get(event.id, 0.0)
    await register(db, settings, event, "Ada")
    for _ in range(50):  # the notification reaches the app's listener
        if page_cache._seats_changed.get(event.id, 0.0) > heard_before:
            break
        await asyncio.sleep(0.02)
    with counted_statements(app) as statements:
        page = (await client.get(url)).text
    assert statements == [] and "2 seats left" in page  # within the lag: the counts read before
    await asyncio.sleep(0.6)
    with counted_statements(app) as statements:
        page = (await client.get(url)).text
    assert len(statements) == 1 and "1 seat left" in page  # after it: read again, and kept again
    with counted_statements(app) as statements:
        assert "1 seat left" in (await client.get(url)).text
    assert statements == []


async def test_a_kept_listing_drops_an_event_the_moment_it_ends(client, db, organiser):
    ending = await make_event(db, organiser, title="Ending Lecture")
    await make_event(db, organiser, title="Later Lecture")
    now = dt.datetime.now(dt.UTC)
    ending.starts_at, ending.ends_at = now - dt.timedelta(hours=1), now + dt.timedelta(seconds=1.5)  # ending soon
    await db.commit()
    for _ in range(3):  # kept (on PostgreSQL: the listing's keys and total) until the first of them ends
        assert "Ending Lecture" in (await client.get("/")).text
        assert (await client.get("/api/events")).json()["total"] == 2
    await asyncio.sleep(max(0.0, (ending.ends_at - dt.datetime.now(dt.UTC)).total_seconds()) + 0.1)
    home = (await client.get("/")).text
    assert "Ending Lecture" not in home and "Later Lecture" in home
    listed = (await client.get("/api/events")).json()
    assert listed["total"] == 1 and [e["title"] for e in listed["items"]] == ["Later Lecture"]
