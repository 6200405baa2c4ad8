"""Issue 16 through the pages: an organiser opens a call, someone submits with a PDF and follows it through the
private link, an external reviewer reviews (double-blind), the committee decides; who may not, is refused."""

from __future__ import annotations

import datetime as dt
import re
from email import message_from_bytes, policy

from sqlalchemy import select

from events_app.calls.models import Call, Review, Submission, SubmissionState
from events_app.events.models import Event
from events_app.notify.models import OutboxMessage
from tests.calls_helpers import PDF, local, make_call, submit
from tests.conftest import csrf_token_from, login, make_account, make_event, post_form


async def mailed_links(db, to: str) -> list[str]:
    rows = (await db.scalars(select(OutboxMessage).where(OutboxMessage.to_address == to)
                             .execution_options(populate_existing=True))).all()
    links = []
    for row in rows:
        body = message_from_bytes(row.raw, policy=policy.default).get_body(("plain",)).get_content()
        links += re.findall(r"http://testserver\.local(/\S+)", body)
    return links


async def test_an_organiser_opens_a_call_and_someone_submits_with_a_pdf(client, db, organiser, settings):
    event = await make_event(db, organiser, title="Symposium on Catalysis", kind="conference",
                             starts_at="2030-03-04T08:00", ends_at="2030-03-06T18:00")
    await login(client, organiser.email)
    now = dt.datetime.now(dt.UTC)
    form = {"kind": "abstracts", "title": "Call for abstracts", "opens_at": "", "closes_at": "2030-01-01T12:00",
            "tracks": "Catalysis\nMaterials", "max_abstract_chars": "2000", "co_authors_allowed": "on",
            "fields": "Extended abstract | file | required | pdf | 2", "criteria": "Relevance | 1 | 5"}
    refused = await post_form(client, f"/organiser/events/{event.slug}/calls/new", form)
    assert refused.status_code == 400 and "This field is required." in refused.text  # opens_at, kept input
    assert "Catalysis\nMaterials" in refused.text
    form["opens_at"] = local(now - dt.timedelta(hours=1))
    created = await post_form(client, f"/organiser/events/{event.slug}/calls/new", form)
    assert created.status_code in (302, 303), created.text
    call = (await db.scalars(select(Call))).one()
    assert call.fields[0]["kind"] == "file" and call.fields[0]["max_mb"] == 2
    assert call.closes_at == dt.datetime(2030, 1, 1, 4, 0, tzinfo=dt.UTC)  # 12:00 in Asia/Shanghai

    client.cookies.clear()
    page = await client.get(f"/calls/{call.id}")
    assert page.status_code == 200 and "Extended abstract" in page.text
    token = csrf_token_from(page.text)
    fields = {"_csrf_token": token, "name": "王芳", "email": "wang.fang@example.cn", "affiliation": "北京大学",
              "title": "Catalysts at scale", "abstract": "We scale <b>catalysts</b>.", "track": "Catalysis"}
    bad = await client.post(f"/calls/{call.id}", data=fields,
                            files={"files.extended-abstract": ("abstract.pdf", b"GIF89a not a pdf", "application/pdf")})
    assert bad.status_code == 400 and "Upload one of: PDF." in bad.text and "王芳" in bad.text
    done = await client.post(f"/calls/{call.id}", data=fields,
                             files={"files.extended-abstract": ("abstract.pdf", PDF, "application/pdf")})
    assert done.status_code == 200 and "wang.fang@example.cn" in done.text
    [link] = await mailed_links(db, "wang.fang@example.cn")
    assert link not in done.text  # the private link goes by e-mail only
    own = await client.get(link)
    assert own.status_code == 200 and "王芳" in own.text and "&lt;b&gt;catalysts" in own.text
    pdf_link = re.search(r'href="(/calls/submissions/[^"]+/files/\d+)"', own.text)
    assert pdf_link and (await client.get(pdf_link.group(1))).content == PDF
    withdrawn = await post_form(client, link, {"action": "withdraw"})
    assert withdrawn.status_code in (302, 303)
    assert (await db.scalars(select(Submission).execution_options(populate_existing=True))).one().state == \
        SubmissionState.WITHDRAWN


async def test_submitting_after_the_deadline_is_refused_on_the_page(client, db, organiser, settings):
    call = await make_call(db, organiser, opens_in=-dt.timedelta(days=2), closes_in=dt.timedelta(days=1))
    page = await client.get(f"/calls/{call.id}")
    call.closes_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)  # the deadline passes while the form is open
    await db.commit()
    late = await client.post(f"/calls/{call.id}", data={
        "_csrf_token": csrf_token_from(page.text), "name": "Late Comer", "email": "late@example.org",
        "title": "Late", "abstract": "Late.", "track": "Catalysis"})
    assert late.status_code == 400 and "This call closed on" in late.text
    assert (await db.scalars(select(Submission))).all() == []
    assert "Submit</button>" not in (await client.get(f"/calls/{call.id}")).text


async def test_an_external_reviewer_reviews_double_blind_through_the_private_link(client, db, organiser, settings):
    call = await make_call(db, organiser, blind_authors=True)
    submission, _ = await submit(db, settings, call, name="Zhang Wei", email="zhang.wei@example.cn",
                                 affiliation="Tsinghua University")
    other_call = await make_call(db, organiser, title="Another call")
    hidden, _ = await submit(db, settings, other_call, name="Li Na", email="li.na@example.cn")
    await login(client, organiser.email)
    appointed = await post_form(client, f"/organiser/calls/{call.id}/reviewers",
                                {"name": "Ada Lovelace", "email": "ada@example.org", "affiliation": "Analytical"},
                                action=f"/organiser/calls/{call.id}/reviewers")
    assert appointed.status_code in (302, 303), appointed.text
    client.cookies.clear()
    [link] = await mailed_links(db, "ada@example.org")
    home = await client.get(link)
    assert home.status_code == 200 and "Catalysts at scale" in home.text
    page = await client.get(f"{link}/{submission.id}")
    assert page.status_code == 200
    for name in ("Zhang Wei", "Tsinghua", "zhang.wei"):
        assert name not in home.text and name not in page.text
    assert (await client.get(f"{link}/{hidden.id}")).status_code == 404  # another call's submission
    assert (await client.get(f"/organiser/calls/{other_call.id}", follow_redirects=False)).status_code in (302, 303)  # no account
    bad = await post_form(client, f"{link}/{submission.id}", {"scores.relevance": "9", "scores.quality": "3"})
    assert bad.status_code == 400 and "Give a score from 1 to 5." in bad.text
    saved = await post_form(client, f"{link}/{submission.id}", {"scores.relevance": "4", "scores.quality": "5",
                                                                "comment_committee": "Strong."})
    assert saved.status_code in (302, 303)
    review = (await db.scalars(select(Review))).one()
    assert review.scores == {"relevance": 4, "quality": 5}


async def test_only_the_events_managers_run_the_call(client, db, organiser, settings):
    call = await make_call(db, organiser)
    assert (await client.get(f"/organiser/calls/{call.id}", follow_redirects=False)).status_code in (302, 303)
    stranger = await make_account(db, "stranger@example.org")
    await login(client, stranger.email)
    for path in (f"/organiser/calls/{call.id}", f"/organiser/calls/{call.id}/reviewers",
                 f"/organiser/calls/{call.id}/submissions.csv", f"/organiser/calls/{call.id}/edit",
                 f"/organiser/reviews/{call.id}/"):
        response = await client.get(path)
        assert response.status_code in (403, 404), (path, response.status_code)


async def test_the_committee_decides_in_bulk_and_mails_the_decisions(client, db, organiser, settings):
    call = await make_call(db, organiser)
    first, _ = await submit(db, settings, call)
    second, _ = await submit(db, settings, call, name="Li Na", email="li.na@example.cn", title="Second")
    await login(client, organiser.email)
    page = await client.get(f"/organiser/calls/{call.id}?sort=spread&state=submitted&track=Catalysis")
    assert page.status_code == 200 and "Catalysts at scale" in page.text and "Second" in page.text
    decided = await client.post(f"/organiser/calls/{call.id}/decide", data={
        "_csrf_token": csrf_token_from(page.text), "submission_ids": [str(first.id), str(second.id)],
        "decision": "rejected"}, follow_redirects=False)
    assert decided.status_code in (302, 303)
    mailed = await client.post(f"/organiser/calls/{call.id}/mail", data={
        "_csrf_token": csrf_token_from(page.text), "note_rejected": "We had many submissions."},
        follow_redirects=False)
    assert mailed.status_code in (302, 303)
    rows = (await db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "call_decision_rejected"))).all()
    assert sorted(r.to_address for r in rows) == ["li.na@example.cn", "wang.fang@example.cn"]
    csv = await client.get(f"/organiser/calls/{call.id}/submissions.csv")
    assert csv.status_code == 200 and csv.text.splitlines()[0].endswith("submitted_at")


async def test_the_public_event_page_links_the_calls_open_now(client, db, organiser, settings):
    call = await make_call(db, organiser)
    event = await db.get(Event, call.event_id)
    await make_call(db, organiser, event=event, title="Closed call", opens_in=-dt.timedelta(days=9),
                    closes_in=-dt.timedelta(days=1))
    page = await client.get(f"/events/{event.slug}")  # type: ignore[union-attr]
    assert page.status_code == 200
    assert f'href="/calls/{call.id}"' in page.text and "Closed call" not in page.text
    zh = await client.get(f"/events/{event.slug}?lang=zh")  # type: ignore[union-attr]
    assert "摘要征集与申请" in zh.text and "截止" in zh.text


async def test_an_organiser_account_finds_the_calls_it_reviews_under_reviews(client, db, organiser, settings):
    from events_app.calls import services

    call = await make_call(db, organiser)
    other_call = await make_call(db, organiser, title="Exchange programme", kind="applications")
    event = await db.get(Event, call.event_id)
    await submit(db, settings, call)
    second, _ = await submit(db, settings, call, name="Li Na", email="li.na@example.cn", title="Second")
    reviewer_account = await make_account(db, "ada@example.org")
    await services.appoint_reviewer(db, settings, call, event, {"account_id": reviewer_account.id})
    await db.commit()
    await login(client, reviewer_account.email)
    page = await client.get("/organiser/reviews")
    assert page.status_code == 200 and 'href="/organiser/reviews"' in page.text  # the area's menu links to it
    assert f'href="/organiser/reviews/{call.id}"' in page.text and "Call for abstracts" in page.text
    assert "0 of 2" in page.text and "Exchange programme" not in page.text  # only its own appointments
    saved = await post_form(client, f"/organiser/reviews/{call.id}/{second.id}",
                            {"scores.relevance": "4", "scores.quality": "5"})
    assert saved.status_code in (302, 303)
    assert "1 of 2" in (await client.get("/organiser/reviews")).text
    # An organiser who reviews nothing sees that, and no call; without a login the page is closed.
    await login(client, organiser.email)
    mine = await client.get("/organiser/reviews")
    assert "You are not a reviewer of any call." in mine.text and f"/organiser/reviews/{other_call.id}" not in mine.text
    client.cookies.clear()
    assert (await client.get("/organiser/reviews", follow_redirects=False)).status_code in (302, 303)
