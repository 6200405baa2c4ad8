"""E-mail from the running site reaches a loopback SMTP server, and its links open in the browser.

The attendee journeys (register, confirmation, manage link, cancel, waitlist promotion) build on this.
"""

from __future__ import annotations

import pytest

from tests.browser.actions import expect, links_in

pytestmark = pytest.mark.browser


def test_mail_queued_by_the_site_is_delivered_and_its_link_opens_in_the_browser(site, page):
    from tests.conftest import make_event

    email = site.organiser()

    async def announce(session):
        from sqlalchemy import select

        from events_app.accounts.models import Account
        from events_app.notify.services import enqueue_email
        from events_app.settings import Settings

        organiser = await session.scalar(select(Account).where(Account.email == email))
        event = await make_event(session, organiser, title="讲座：开放科学 / Lecture on Open Science",
                                 starts_at="2031-03-05T14:00", ends_at="2031-03-05T15:30")
        await enqueue_email(
            session, to="王小明 <wang@example.cn>", subject=f"Invitation: {event.title}",
            text_body=f"Dear 王小明,\n\nsee {site.url(f'/events/{event.slug}')}\n",
            settings=Settings(base_url=site.url("").rstrip("/")),
        )

    site.arrange(announce)

    [message] = site.wait_for_mail("wang@example.cn")
    assert message["Subject"] == "Invitation: 讲座：开放科学 / Lecture on Open Science"
    [link] = links_in(message)
    assert link.startswith(site.url("/events/"))

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("讲座：开放科学 / Lecture on Open Science")
