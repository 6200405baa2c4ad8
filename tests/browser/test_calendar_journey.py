"""An attendee subscribes to their personal calendar feed from the page their confirmation e-mail links to."""

from __future__ import annotations

import re
import urllib.request
from urllib.parse import urljoin

import pytest

from tests.browser.actions import expect, links_in
from tests.browser.arrange import open_lecture

pytestmark = pytest.mark.browser

FEED_LINKS = "main a[href*='/my/calendar/'], main a[href*='.ics']"


def test_attendee_copies_the_personal_feed_link_from_the_manage_page_and_the_feed_lists_the_event(site, page):
    lecture = open_lecture(site, capacity=10, questions=[])
    page.goto(f"/events/{lecture['slug']}")
    page.get_by_label("Name").fill("王小明")
    page.get_by_label("E-mail").fill("wang@example.cn")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")

    confirmation = site.wait_for_mail("wang@example.cn")[0]
    manage = next(link for link in links_in(confirmation) if re.search(r"/registrations/[^/]+$", link))
    page.goto(manage)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your registration")
    # The address is made on request (only its hash is stored) and shown on the page that answers.
    create = page.get_by_role("button", name="Create my calendar address")
    if create.count():
        create.click()
    feed_links = page.locator(FEED_LINKS)
    if feed_links.count() == 0:
        pytest.skip("personal feed link not on the manage page yet")

    href = feed_links.first.get_attribute("href")
    url = re.sub(r"^webcals?://", "http://", urljoin(page.url, href))
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.headers.get_content_type() == "text/calendar"
        body = response.read().decode("utf-8")
    unfolded = body.replace("\r\n ", "").replace("\r\n\t", "")
    assert "BEGIN:VCALENDAR" in unfolded
    assert "SUMMARY:Invited lecture: 开放科学" in unfolded
    assert re.search(rf"^UID:event-{lecture['id']}@", unfolded, re.MULTILINE), unfolded
