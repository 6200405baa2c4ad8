"""One conditional-GET helper (web/conditional_get.py) in front of every cacheable response: each answers 304 to
a client whose copy is current, and HEAD with the headers and length of the body but no body."""

from __future__ import annotations

import re

import pytest

from events_app.demo import load_demo_data


@pytest.fixture
async def cacheable_urls(app, client, db) -> dict[str, str]:
    await load_demo_data(db, only_if_empty=False)
    await db.commit()
    home = (await client.get("/")).text
    series = re.search(r'href="/series/([a-z0-9-]+)"', home)[1]
    # An event with a programme (the conference): its page links to the programme by room and time.
    for slug in re.findall(r'href="/events/([a-z0-9-]+)"', home):
        page = (await client.get(f"/events/{slug}")).text
        if f"/events/{slug}/programme" in page:
            break
    else:
        pytest.fail("the demo programme has no conference with a programme")
    speaker = re.search(r'href="/speakers/(\d+)"', page)[1]
    return {
        "all events feed": "/calendar.ics",
        "event feed": f"/events/{slug}.ics",
        "event download": f"/events/{slug}.ics?talks=0",
        "series feed": f"/series/{series}.ics",
        "speaker feed": f"/speakers/{speaker}.ics",
        "programme": f"/events/{slug}/programme",
        "frab xml": f"/events/{slug}/schedule.xml",
        "frab json": f"/events/{slug}/schedule.json",
    }


NAMES = ["all events feed", "event feed", "event download", "series feed", "speaker feed", "programme",
         "frab xml", "frab json"]


@pytest.mark.parametrize("name", NAMES)
async def test_a_current_copy_gets_304_without_a_body(client, cacheable_urls, name):
    url = cacheable_urls[name]
    first = await client.get(url)
    assert first.status_code == 200 and first.content
    etag = first.headers["etag"]
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == first.headers["cache-control"]
    weak = await client.get(url, headers={"If-None-Match": f'"other", W/{etag}'})
    assert weak.status_code == 304
    stale = await client.get(url, headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200 and stale.content == first.content


@pytest.mark.parametrize("name", NAMES)
async def test_head_answers_the_headers_and_length_without_the_body(client, cacheable_urls, name):
    url = cacheable_urls[name]
    full = await client.get(url)
    head = await client.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == full.headers["etag"]
    assert head.headers["content-type"] == full.headers["content-type"]
    # The length GET sends: of the gzip body when the client accepts gzip (feeds), as httpx does by default.
    assert head.headers["content-length"] == full.headers["content-length"]
    identity = {"Accept-Encoding": "identity"}
    assert int((await client.head(url, headers=identity)).headers["content-length"]) == len(full.content)
    assert (await client.head(url, headers={"If-None-Match": full.headers["etag"]})).status_code == 304


@pytest.mark.parametrize("name", ["all events feed", "event feed", "series feed", "speaker feed"])
async def test_feeds_also_answer_if_modified_since(client, cacheable_urls, name):
    url = cacheable_urls[name]
    first = await client.get(url)
    last_modified = first.headers["last-modified"]
    assert (await client.get(url, headers={"If-Modified-Since": last_modified})).status_code == 304
    older = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert (await client.get(url, headers={"If-Modified-Since": older})).status_code == 200
    # If-None-Match decides when both are sent (RFC 9110 13.2.2).
    both = await client.get(url, headers={"If-Modified-Since": last_modified, "If-None-Match": '"stale"'})
    assert both.status_code == 200
