"""Issue 16 in a real browser: someone submits an abstract with a PDF to a double-blind call, an external
reviewer reviews it through the private link from the e-mail, the organiser accepts it, and the talk waits
unscheduled in the timetable editor with the returning speaker's own record. axe on every page of the way."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.browser.actions import (
    axe_violations,
    expect,
    links_in,
    log_in,
    page_width,
    unlabelled_fields,
    wider_than_viewport,
)
from tests.browser.conftest import PHONE
from tests.calls_helpers import PDF

pytestmark = pytest.mark.browser

TITLE = "Multilingual metadata at scale"


def arrange_call(site) -> dict:
    email = site.organiser()

    async def arrange(session):
        from sqlalchemy import select

        from events_app.accounts.models import Account
        from events_app.calls import services
        from events_app.speakers.models import Person
        from tests.conftest import make_event

        organiser = await session.scalar(select(Account).where(Account.email == email))
        event = await make_event(session, organiser, title="Conference on Open Metadata", kind="conference",
                                 starts_at="2031-05-12T09:00", ends_at="2031-05-13T17:00")
        now = dt.datetime.now(dt.UTC)
        call = await services.create_call(session, event, {
            "kind": "abstracts", "title": "Call for abstracts", "opens_at": (now - dt.timedelta(days=1)).isoformat(),
            "closes_at": (now + dt.timedelta(days=30)).isoformat(), "tracks": ["Metadata", "Infrastructure"],
            "co_authors_allowed": True, "blind_authors": True,
            "fields": [{"label": "Extended abstract", "kind": "file", "required": True, "types": ["pdf"],
                        "max_mb": 2}],
        })
        # She spoke here before: her record is the one the talk must link, not a copy.
        returning = Person(full_name="王小明", email="wang.xiaoming@example.cn", affiliation="Peking University Library")
        session.add(returning)
        await session.commit()
        return {"call": call.id, "slug": event.slug, "organiser": email, "person": returning.id}

    return site.arrange(arrange)


def no_axe_problems(page, axe_script: str) -> None:
    assert axe_violations(page, axe_script) == [], page.url
    assert unlabelled_fields(page) == [], page.url


def test_abstract_submitted_with_a_pdf_reviewed_by_an_invited_reviewer_accepted_and_waiting_unscheduled(
        site, page, axe_script: str):
    arranged = arrange_call(site)

    # The submitter: no account, a PDF, and the private link by e-mail.
    page.goto(f"/calls/{arranged['call']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Call for abstracts")
    no_axe_problems(page, axe_script)
    page.set_viewport_size(PHONE)
    page.reload()
    assert page_width(page) <= PHONE["width"], wider_than_viewport(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_label("Name").fill("王小明")
    page.get_by_label("E-mail").fill("wang.xiaoming@example.cn")
    page.get_by_label("Affiliation").fill("Peking University Library")
    page.get_by_label("Title").fill(TITLE)
    page.get_by_role("textbox", name="Abstract").fill("How we describe 20 million records in six languages.")
    page.get_by_label("Track").select_option("Metadata")
    page.get_by_label("Extended abstract").set_input_files(
        {"name": "extended.pdf", "mimeType": "application/pdf", "buffer": PDF})
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    [mail] = site.wait_for_mail("wang.xiaoming@example.cn")
    [own_link] = [link for link in links_in(mail) if "/calls/submissions/" in link]
    page.goto(own_link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your submission")
    no_axe_problems(page, axe_script)

    # The organiser appoints an external reviewer.
    log_in(page, arranged["organiser"])
    page.goto(f"/organiser/events/{arranged['slug']}/calls")
    no_axe_problems(page, axe_script)
    page.get_by_role("link", name="Call for abstracts").first.click()
    no_axe_problems(page, axe_script)
    page.get_by_role("link", name="Reviewers").click()
    no_axe_problems(page, axe_script)
    page.get_by_label("Name").fill("Anna Müller")
    page.get_by_label("E-mail").fill("anna.mueller@example.de")
    page.get_by_label("Affiliation").fill("TIB Hannover")
    page.get_by_role("button", name="Appoint").click()
    expect(page.get_by_role("status")).to_contain_text("Anna Müller reviews this call.")
    page.goto(f"/organiser/calls/{arranged['call']}/edit")
    no_axe_problems(page, axe_script)
    page.get_by_role("button", name="Log out").click()

    # The reviewer: only the private link; double-blind, so no author anywhere.
    [invitation] = site.wait_for_mail("anna.mueller@example.de")
    [review_link] = [link for link in links_in(invitation) if "/review/" in link]
    page.goto(review_link)
    no_axe_problems(page, axe_script)
    page.get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    no_axe_problems(page, axe_script)
    assert "王小明" not in page.content() and "Peking" not in page.content()
    expect(page.get_by_role("link", name=re.compile("extended-abstract"))).to_be_visible()
    page.get_by_label("Relevance").fill("5")
    page.get_by_label("Quality").fill("4")
    page.get_by_label("Comment to the committee").fill("Clear, and the data is public.")
    page.get_by_role("button", name="Save review").click()
    expect(page.get_by_role("status")).to_contain_text("Your review is saved.")
    expect(page.get_by_role("cell", name="Done")).to_be_visible()

    # The committee accepts it; the talk waits unscheduled, with her existing record as its speaker.
    log_in(page, arranged["organiser"])
    page.goto(f"/organiser/calls/{arranged['call']}")
    row = page.get_by_role("row", name=re.compile(TITLE))
    expect(row).to_contain_text("4.50")
    page.get_by_label(f"Choose {TITLE}").check()
    page.get_by_label("Decision for the chosen submissions").select_option("accepted")
    page.get_by_role("button", name="Decide").click()
    expect(page.get_by_role("status")).to_contain_text("Submissions decided: 1.")
    expect(row).to_contain_text("Accepted")
    page.goto(f"/organiser/events/{arranged['slug']}/timetable")
    unscheduled = page.locator("section", has=page.get_by_role("heading", name=re.compile("To be scheduled")))
    expect(unscheduled).to_contain_text(TITLE)
    expect(unscheduled).to_contain_text("王小明")

    async def speakers_of_talk(session):
        from sqlalchemy import select

        from events_app.schedule.models import Talk, TalkSpeaker

        talk_id = await session.scalar(select(Talk.id).where(Talk.title == TITLE))
        return list(await session.scalars(select(TalkSpeaker.person_id).where(TalkSpeaker.talk_id == talk_id)))

    assert site.arrange(speakers_of_talk) == [arranged["person"]]
