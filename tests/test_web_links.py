"""Links are built by reversing named routes (web/urls.py): every link on the demo programme's pages leads
somewhere, and the public URLs people have bookmarked and subscribed to stay exactly what they were."""

from __future__ import annotations

import re

import pytest

from events_app.app import create_app
from events_app.demo import load_demo_data
from events_app.routes import build_route_table, named_paths, route_handlers
from events_app.settings import Settings
from events_app.web.urls import RouteTable, absolute_url, url_path
from tests.conftest import login, make_account
from tests.crawl import HOST, LINK, crawl, site_links

# ---- the public URLs, pinned ----------------------------------------------------------------------------------
PUBLIC_URLS = [
    (("home",), {}, "/"),
    (("past",), {}, "/past"),
    (("event",), {"slug": "open-science-2030"}, "/events/open-science-2030"),
    (("event_feed",), {"slug": "open-science-2030"}, "/events/open-science-2030.ics"),
    (("event_feed",), {"slug": "open-science-2030", "talks": 0}, "/events/open-science-2030.ics?talks=0"),
    (("programme",), {"slug": "s"}, "/events/s/programme"),
    (("schedule_xml",), {"slug": "s"}, "/events/s/schedule.xml"),
    (("schedule_json",), {"slug": "s"}, "/events/s/schedule.json"),
    (("registration_form",), {"slug": "s"}, "/events/s/register"),
    (("calendar_feed",), {}, "/calendar.ics"),
    (("calendar_feed",), {"kind": "lecture", "series": "x"}, "/calendar.ics?kind=lecture&series=x"),
    (("series",), {"slug": "x"}, "/series/x"),
    (("series_feed",), {"slug": "x"}, "/series/x.ics"),
    (("speaker",), {"person_id": 7}, "/speakers/7"),
    (("speaker_feed",), {"person_id": 7}, "/speakers/7.ics"),
    (("speaker_photo",), {"person_id": 7}, "/speakers/7/photo"),
    (("personal_calendar_feed",), {"token": "abc_DEF-1"}, "/my/calendar/abc_DEF-1.ics"),
    (("registration_manage",), {"token": "t"}, "/registrations/t"),
    (("registration_withdraw",), {"token": "t"}, "/registrations/t/withdraw"),
    (("invitation",), {"token": "t"}, "/invitations/t"),
    (("registration_export",), {"slug": "s"}, "/organiser/events/s/registrations/export.csv"),
    (("speaker_csv",), {"slug": "s"}, "/organiser/events/s/speakers.csv"),
    (("login",), {"next": "/organiser/events/s"}, "/login?next=/organiser/events/s"),
    (("static",), {"file_path": "style.css"}, "/static/style.css"),
]


@pytest.fixture(scope="module")
def table() -> RouteTable:
    return build_route_table(Settings(base_url="https://events.example.org/"))


@pytest.mark.parametrize(("name", "params", "expected"), PUBLIC_URLS, ids=[u[2] for u in PUBLIC_URLS])
def test_public_urls_stay_the_same(table: RouteTable, name, params, expected):
    assert table.path(name[0], **params) == expected


def test_absolute_urls_start_with_the_configured_base_url(table: RouteTable):
    assert table.absolute("event", slug="a") == "https://events.example.org/events/a"
    assert absolute_url("registration_manage", token="t", base_url="http://x.test/") == "http://x.test/registrations/t"


def test_parameters_are_escaped_and_unknown_names_fail_loudly(table: RouteTable):
    assert table.path("event", slug="a b/c") == "/events/a%20b%2Fc"
    with pytest.raises(KeyError):
        table.path("no_such_route")
    with pytest.raises(KeyError):
        table.path("event")  # the slug is missing


def test_every_route_has_a_name_and_the_table_matches_the_app(settings):
    app = create_app(settings)  # not the shared one, to which some tests add routes of their own
    handlers = route_handlers()
    table = build_route_table(Settings(), handlers)
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if route.path.startswith("/schema") or "OPTIONS" in handler.http_methods:
                continue
            assert handler.name, f"{sorted(handler.http_methods)} {route.path} has no name"
            if "/" not in handler.name:
                assert table.routes[handler.name].template == route.path
    assert named_paths(handlers)["event"] == "/events/{slug:str}"


def test_no_template_writes_a_site_path_by_hand():
    from events_app.settings import PROJECT_ROOT

    by_hand = []
    for template in sorted((PROJECT_ROOT / "templates").rglob("*.html")):
        for attribute, value in LINK.findall(template.read_text()):
            if value.startswith("/") and value != "/schema":  # the API reference has no route name of ours
                by_hand.append(f"{template.name}: {attribute}={value}")
    assert by_hand == []


# ---- every link on the demo programme resolves ----------------------------------------------------------------
async def _crawl(client, start: list[str], *, limit: int = 400) -> tuple[set[str], set[str]]:
    """The pages reachable from `start` (each answered 200) and the form actions seen on them."""
    pages, actions = await crawl(client, start, limit=limit)
    return set(start) | set(pages) | {link for page in pages for _, link in
                                      site_links(pages[page], f"http://{HOST}{page}")}, actions


async def _check_actions(client, actions: set[str]) -> None:
    # Without a CSRF token a real form route answers 403; a path no route serves would answer 404 or 405.
    for action in sorted(actions):
        if action.split("?")[0] in ("/", "/past"):  # the listing's filter form (GET)
            continue
        response = await client.post(action, data={}, follow_redirects=False)
        assert response.status_code == 403, (action, response.status_code)


async def test_every_link_on_the_public_demo_pages_resolves(app, client, db):
    await load_demo_data(db, only_if_empty=False)
    await db.commit()
    seen, actions = await _crawl(client, ["/", "/past"])
    assert any(p.endswith(".ics") for p in seen) and any("/programme" in p for p in seen)
    assert any(p.startswith("/speakers/") for p in seen) and any(p.startswith("/series/") for p in seen)
    assert any(p.startswith("/calls/") for p in seen)  # the conference's call for abstracts is open
    await _check_actions(client, actions)


async def test_every_link_in_the_organiser_area_resolves(app, client, db):
    await load_demo_data(db, only_if_empty=False)
    await make_account(db, "admin@example.org", admin=True)
    await login(client, "admin@example.org")
    seen, actions = await _crawl(client, ["/organiser"])
    assert any(p.endswith("/timetable") for p in seen) and any(p.endswith("export.csv") for p in seen)
    assert any(p.startswith("/organiser/calls/") for p in seen)
    await _check_actions(client, {a for a in actions if a != url_path("logout")})


async def test_pinned_public_urls_answer_for_the_demo_programme(app, client, db):
    await load_demo_data(db, only_if_empty=False)
    await db.commit()
    home = (await client.get("/")).text
    slug = re.search(r'href="/events/([a-z0-9-]+)"', home)[1]
    series = re.search(r'href="/series/([a-z0-9-]+)"', home)[1]
    event_page = (await client.get(f"/events/{slug}")).text
    speaker = re.search(r'href="/speakers/(\d+)"', event_page)
    urls = [f"/events/{slug}", f"/events/{slug}.ics", f"/events/{slug}.ics?talks=0", "/calendar.ics",
            f"/series/{series}", f"/series/{series}.ics"]
    if speaker:
        urls += [f"/speakers/{speaker[1]}", f"/speakers/{speaker[1]}.ics"]
    for url in urls:
        response = await client.get(url)
        assert response.status_code == 200, url
        assert ("text/calendar" in response.headers["content-type"]) == (".ics" in url), url
        if ".ics" in url:
            assert "set-cookie" not in response.headers, url  # files are cached publicly: no CSRF cookie


async def test_files_and_pages_share_a_route_without_changing_what_either_answers(app, client, db):
    await load_demo_data(db, only_if_empty=False)
    await db.commit()
    slug = re.search(r'href="/events/([a-z0-9-]+)"', (await client.get("/")).text)[1]
    assert (await client.head(f"/events/{slug}.ics")).status_code == 200
    assert (await client.head(f"/events/{slug}")).status_code == 405  # pages answer GET only, as before
    assert (await client.get("/events/no-such-event.ics")).status_code == 404
    assert (await client.get("/speakers/not-a-number")).status_code == 404
    assert (await client.get("/speakers/not-a-number.ics")).status_code == 404
    assert (await client.get("/my/calendar/some-token")).status_code == 404
    assert (await client.get("/my/calendar/some-token.ics")).status_code == 404
