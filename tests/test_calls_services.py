"""Issue 16, the rules without HTTP: the call's window, people as shared records, reviewers' access and conflicts
of interest, the committee's ranking, decisions and their mail."""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes, policy

import pytest
from sqlalchemy import func, select

from events_app.calls import access, services
from events_app.calls.models import Submission, SubmissionFile, SubmissionState
from events_app.core.validation import ValidationFailed
from events_app.events.models import Event
from events_app.notify.models import OutboxMessage
from events_app.speakers.models import Person
from tests.calls_helpers import PDF, make_call, submit


async def event_of(db, call) -> Event:
    event = await db.get(Event, call.event_id)
    assert event is not None
    return event


async def test_submitting_after_the_deadline_is_refused_and_stores_nothing(db, organiser, settings):
    call = await make_call(db, organiser, opens_in=-dt.timedelta(days=10), closes_in=-dt.timedelta(minutes=1))
    with pytest.raises(services.CallClosed) as refused:
        await submit(db, settings, call)
    assert "closed" in refused.value.message
    assert refused.value.errors == {"call": refused.value.message}
    assert await db.scalar(select(func.count()).select_from(Submission)) == 0
    early = await make_call(db, organiser, opens_in=dt.timedelta(days=1), closes_in=dt.timedelta(days=2))
    with pytest.raises(services.CallClosed, match="opens on"):
        await submit(db, settings, early)


async def test_the_submitter_gets_a_private_link_and_may_edit_until_the_deadline(db, organiser, settings):
    call = await make_call(db, organiser)
    submission, token = await submit(db, settings, call)
    mail = (await db.scalars(select(OutboxMessage))).all()
    assert [m.to_address for m in mail] == ["wang.fang@example.cn"]
    assert token not in submission.token_hash
    found, found_call, event = await services.submission_by_token(db, token)
    assert found.id == submission.id
    await services.update_submission(db, settings, found_call, event, found,
                                     {"title": "Catalysts at larger scale", "abstract": "Bigger.", "track": "Materials"})
    await db.commit()
    assert found.title == "Catalysts at larger scale" and found.track == "Materials"
    found_call.closes_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    with pytest.raises(services.CallClosed):
        await services.update_submission(db, settings, found_call, event, found, {"title": "Too late"})
    await services.withdraw(db, found)
    assert found.state == SubmissionState.WITHDRAWN


async def test_the_abstract_is_bounded_and_the_track_must_be_the_calls(db, organiser, settings):
    call = await make_call(db, organiser, max_abstract_chars=100)
    with pytest.raises(ValidationFailed) as refused:
        await submit(db, settings, call, abstract="x" * 101, track="Astrology", title="T\x00")
    assert set(refused.value.errors) == {"abstract", "track", "title"}


async def test_co_authors_are_the_existing_person_records_matched_by_address(db, organiser, settings):
    returning = Person(full_name="Zhang Wei", email="Zhang.Wei@example.cn", affiliation="Tsinghua University")
    db.add(returning)
    await db.commit()
    call = await make_call(db, organiser)
    submission, _token = await submit(db, settings, call, co_authors=[
        {"name": "Z. Wei", "email": "zhang.wei@EXAMPLE.cn", "affiliation": "Somewhere else"},
        {"name": "Amélie Dubois", "email": "amelie@example.fr", "affiliation": "CNRS"},
    ])
    people = [sp.person for sp in submission.people]
    assert [p.full_name for p in people] == ["Wang Fang", "Zhang Wei", "Amélie Dubois"]
    assert people[1].id == returning.id and people[1].affiliation == "Tsinghua University"  # a stranger changes nothing
    assert await db.scalar(select(func.count()).select_from(Person)) == 3


async def test_uploads_are_checked_by_content_and_size(db, organiser, settings):
    call = await make_call(db, organiser, kind="applications", fields=[
        {"label": "CV", "kind": "file", "required": True, "types": ["pdf"], "max_mb": 1},
        {"label": "Motivation", "kind": "long_text", "required": True}])
    with pytest.raises(ValidationFailed) as refused:
        await submit(db, settings, call, uploads={"cv": b"MZ\x90\x00 not a pdf"}, answers={"motivation": ""})
    assert set(refused.value.errors) == {"files.cv", "answers.motivation"}
    with pytest.raises(ValidationFailed, match="at most 1 MB"):
        await submit(db, settings, call, uploads={"cv": PDF + b"0" * (1024 * 1024)}, answers={"motivation": "Yes"})
    submission, _token = await submit(db, settings, call, uploads={"cv": PDF}, answers={"motivation": "Yes"})
    stored = (await db.scalars(select(SubmissionFile))).one()
    assert stored.content_type == "application/pdf" and stored.size == len(PDF)
    path = services.stored_file(settings, stored)
    assert path is not None and path.read_bytes() == PDF and "submissions" in str(path)
    assert submission.answers == {"motivation": "Yes"}


async def reviewer(db, settings, call, **data):
    event = await event_of(db, call)
    found, token = await services.appoint_reviewer(db, settings, call, event, data)
    await db.commit()
    return found, token


async def test_a_conflict_of_interest_hides_the_submission_from_that_reviewer(db, organiser, settings):
    call = await make_call(db, organiser)
    same_place, _ = await submit(db, settings, call, affiliation="Peking University")
    own, _ = await submit(db, settings, call, name="Ada Lovelace", email="ada@example.org", affiliation="Analytical")
    other, _ = await submit(db, settings, call, name="Li Na", email="li.na@example.cn", affiliation="Fudan University")
    colleague, _ = await reviewer(db, settings, call, name="Chen Jie", email="chen@example.cn",
                                  affiliation="  peking university ")
    author, _ = await reviewer(db, settings, call, name="Ada Lovelace", email="ADA@example.org")
    assert {s.id for s in await access.submissions_for_reviewer(db, colleague)} == {own.id, other.id}
    assert {s.id for s in await access.submissions_for_reviewer(db, author)} == {same_place.id, other.id}
    with pytest.raises(Exception, match="No such submission"):
        await access.submission_for_reviewer(db, colleague, same_place.id)
    # A conflict the reviewer declares hides it too, and the review counts for nothing.
    await services.save_review(db, call, colleague, other, {"conflict": "on"})
    await db.commit()
    assert {s.id for s in await access.submissions_for_reviewer(db, colleague)} == {own.id}
    assert (await services.committee(db, call))[0].count == 0


async def test_a_reviewer_of_one_call_cannot_see_another(db, organiser, settings):
    first = await make_call(db, organiser)
    second = await make_call(db, organiser, event=await event_of(db, first), title="Second call")
    hidden, _ = await submit(db, settings, second, name="Li Na", email="li.na@example.cn", affiliation="Fudan")
    appointed, token = await reviewer(db, settings, first, name="Chen Jie", email="chen@example.cn")
    assert token and (await access.reviewer_by_token(db, token)).id == appointed.id
    assert await access.submissions_for_reviewer(db, appointed) == []
    with pytest.raises(Exception, match="No such submission"):
        await access.submission_for_reviewer(db, appointed, hidden.id)


async def test_a_reviewer_per_track_sees_only_that_track(db, organiser, settings):
    call = await make_call(db, organiser)
    catalysis, _ = await submit(db, settings, call)
    await submit(db, settings, call, name="Li Na", email="li.na@example.cn", affiliation="Fudan", track="Materials")
    appointed, _ = await reviewer(db, settings, call, name="Chen Jie", email="chen@example.cn", tracks=["Catalysis"])
    assert [s.id for s in await access.submissions_for_reviewer(db, appointed)] == [catalysis.id]


async def test_double_blind_review_shows_no_author(db, organiser, settings):
    call = await make_call(db, organiser, blind_authors=True)
    submission, _ = await submit(db, settings, call, name="王芳", email="wang.fang@example.cn")
    view = access.reviewer_view(call, submission)
    assert "authors" not in view and "王芳" not in repr(view) and "Peking" not in repr(view)
    call.blind_authors = False
    assert access.reviewer_view(call, submission)["authors"][0]["name"] == "王芳"


async def test_the_committee_ranks_by_mean_with_spread_and_count(db, organiser, settings):
    call = await make_call(db, organiser)
    weak, _ = await submit(db, settings, call, title="Weak")
    strong, _ = await submit(db, settings, call, name="Li Na", email="li.na@example.cn", affiliation="Fudan",
                             title="Strong", track="Materials")
    a, _ = await reviewer(db, settings, call, name="A", email="a@example.org")
    b, _ = await reviewer(db, settings, call, name="B", email="b@example.org")
    for who, sub, scores in ((a, weak, (2, 2)), (b, weak, (4, 4)), (a, strong, (5, 5)), (b, strong, (4, 5))):
        await services.save_review(db, call, who, sub, {"scores": {"relevance": scores[0], "quality": scores[1]}})
    await db.commit()
    with pytest.raises(ValidationFailed) as refused:
        await services.save_review(db, call, a, weak, {"scores": {"relevance": 6, "quality": "x"}})
    assert set(refused.value.errors) == {"scores.relevance", "scores.quality"}
    ranked = await services.committee(db, call)
    assert [(r.submission.title, r.mean, r.spread, r.count) for r in ranked] == [
        ("Strong", 4.75, 0.5, 2), ("Weak", 3.0, 2.0, 2)]
    assert [r.submission.title for r in await services.committee(db, call, sort="spread")] == ["Weak", "Strong"]
    assert [r.submission.title for r in await services.committee(db, call, track="Materials")] == ["Strong"]
    csv = await services.submissions_csv(db, call)
    assert "mean_score" in csv.splitlines()[0] and ",4.75," in csv


async def test_decisions_are_mailed_once_with_their_template_and_the_authors_comments(db, organiser, settings):
    call = await make_call(db, organiser)
    event = await event_of(db, call)
    submission, _ = await submit(db, settings, call, title="=HYPERLINK(\"http://evil\")")
    a, _ = await reviewer(db, settings, call, name="A", email="a@example.org")
    await services.save_review(db, call, a, submission, {"scores": {"relevance": 2, "quality": 2},
                                                         "comment_author": "Needs data.",
                                                         "comment_committee": "Secret remark."})
    assert await services.decide(db, settings, call, event, [submission.id], "rejected") == 1
    assert await services.decide(db, settings, call, event, [submission.id], "accepted") == 0  # decided already
    sent = await services.mail_decisions(db, settings, call, event, with_comments=True,
                                         notes={"rejected": "We had 300 submissions."})
    await db.commit()
    assert sent == 1
    assert await services.mail_decisions(db, settings, call, event) == 0
    row = (await db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "call_decision_rejected"))).one()
    body = message_from_bytes(row.raw, policy=policy.default).get_body(("plain",)).get_content()
    assert "Needs data." in body and "We had 300 submissions." in body and "Secret remark." not in body
    assert "'=HYPERLINK" in await services.submissions_csv(db, call)  # formula-safe


async def test_reviewers_names_are_hidden_from_each_other_when_the_call_says_so(db, organiser, settings):
    call = await make_call(db, organiser, blind_reviewers=True)
    submission, _ = await submit(db, settings, call)
    a, _ = await reviewer(db, settings, call, name="Ada Lovelace", email="a@example.org")
    b, _ = await reviewer(db, settings, call, name="Charles Babbage", email="b@example.org")
    for who in (a, b):
        await services.save_review(db, call, who, submission, {"scores": {"relevance": 3, "quality": 3},
                                                               "comment_committee": f"By {who.id}"})
    reviews = (await services.reviews_of(db, [submission.id]))[submission.id]
    shown = services.other_reviews_view(call, reviews, a)
    assert [o["reviewer"] for o in shown] == ["Reviewer 2"] and "Charles" not in repr(shown)
    call.blind_reviewers = False
    assert [o["reviewer"] for o in services.other_reviews_view(call, reviews, a)] == ["Charles Babbage"]


async def test_the_same_reviewer_twice_is_refused_and_tracks_must_be_the_calls(db, organiser, settings):
    from events_app.core.validation import Conflict

    call = await make_call(db, organiser)
    await reviewer(db, settings, call, name="Ada Lovelace", email="ada@example.org")
    with pytest.raises(Conflict):
        await reviewer(db, settings, call, name="Ada L.", email="ADA@example.org")
    await db.rollback()
    await db.refresh(call)
    with pytest.raises(ValidationFailed) as refused:
        await reviewer(db, settings, call, name="Charles", email="c@example.org", tracks=["Astrology"])
    assert set(refused.value.errors) == {"tracks"}
    assert [r.name for r in await services.reviewers_of(db, call)] == ["Ada Lovelace"]
