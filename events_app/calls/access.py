"""Who may see what of a call: each answer in one place, for the pages, the API and file downloads alike.

- A call is managed (edited, its committee view, decisions, reviewers appointed) by its event's managers.
- A reviewer sees only their own call, and in it only the submissions they may review: not withdrawn, in one of
  their tracks (if they have tracks), and without a conflict of interest: a reviewer never sees a submission
  they are an author of (same person or same address) or one with an author of their own affiliation, nor one
  they declared a conflict on. Whatever a reviewer may not see answers 404, as if it did not exist.
- With double-blind review (``Call.blind_authors``) what a reviewer is shown carries no author's name,
  affiliation or address (``reviewer_view``); with ``blind_reviewers`` the other reviews carry no reviewer name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.exceptions import NotFoundException
from sqlalchemy import ColumnElement, and_, exists, func, not_, or_, select, true

from events_app.calls.models import Call, Review, Reviewer, Submission, SubmissionPerson, SubmissionState
from events_app.events.access import ensure_may_manage_event, may_manage_event
from events_app.events.models import Event
from events_app.registration.mail import hash_token
from events_app.speakers.models import Person

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from events_app.accounts.models import Account


def normalised_affiliation(text: str) -> str:
    return " ".join((text or "").split()).casefold()


async def managed_call(session: AsyncSession, account: Account | None, call_id: int) -> tuple[Call, Event]:
    """The call and its event, for its event's managers; 404 for whoever may not see the event, 403 otherwise."""
    call = await session.get(Call, call_id)
    event = await session.get(Event, call.event_id) if call is not None else None
    if call is None or event is None:
        raise NotFoundException("No such call.")
    ensure_may_manage_event(account, event)
    return call, event


def may_manage_call(account: Account | None, event: Event) -> bool:
    return may_manage_event(account, event)


def reviewable_by(reviewer: Reviewer) -> ColumnElement[bool]:
    """A condition on Submission: what this reviewer may see and review."""
    author = and_(SubmissionPerson.submission_id == Submission.id, Person.id == SubmissionPerson.person_id)
    own = or_(Person.id == reviewer.person_id) if reviewer.person_id else Person.id.is_(None)
    if reviewer.email:
        own = or_(own, func.lower(Person.email) == reviewer.email.lower())
    affiliation = normalised_affiliation(reviewer.affiliation)
    conflicts = [exists().where(author, own)]
    if affiliation:
        # Compared case-folded; whitespace inside is kept as typed by the database, trimmed at both ends.
        conflicts.append(exists().where(author, func.lower(func.trim(Person.affiliation)) == affiliation))
    conflicts.append(exists().where(Review.submission_id == Submission.id, Review.reviewer_id == reviewer.id,
                                    Review.conflict.is_(True)))
    tracks = Submission.track.in_(reviewer.tracks) if reviewer.tracks else true()
    return and_(Submission.call_id == reviewer.call_id, Submission.state != SubmissionState.WITHDRAWN, tracks,
                not_(or_(*conflicts)))


async def reviewer_by_token(session: AsyncSession, token: str) -> Reviewer:
    if not token or len(token) > 200:
        raise NotFoundException("No such reviewer.")
    reviewer = await session.scalar(select(Reviewer).where(Reviewer.token_hash == hash_token(token)))
    if reviewer is None:
        raise NotFoundException("No such reviewer.")
    return reviewer


async def reviewer_for_account(session: AsyncSession, account: Account | None, call_id: int) -> Reviewer:
    """The account's appointment to this call (404 when it has none: a reviewer of one call cannot see another)."""
    if account is None or account.id is None:
        raise NotFoundException("No such call.")
    reviewer = await session.scalar(select(Reviewer).where(Reviewer.call_id == call_id,
                                                           Reviewer.account_id == account.id))
    if reviewer is None:
        raise NotFoundException("No such call.")
    return reviewer


async def appointments_of(session: AsyncSession, account: Account) -> list[tuple[Reviewer, Call, Event, int, int]]:
    """The calls an organiser account reviews, newest event first: each with what it may review and has reviewed."""
    rows = (await session.execute(
        select(Reviewer, Call, Event).join(Call, Call.id == Reviewer.call_id).join(Event, Event.id == Call.event_id)
        .where(Reviewer.account_id == account.id).order_by(Event.starts_at.desc(), Call.id))).all()
    appointments = []
    for reviewer, call, event in rows:
        to_review = await session.scalar(select(func.count()).select_from(Submission).where(reviewable_by(reviewer)))
        own_reviews = select(Review.submission_id).where(Review.reviewer_id == reviewer.id).scalar_subquery()
        reviewed = await session.scalar(select(func.count()).select_from(Submission).where(
            reviewable_by(reviewer), Submission.id.in_(own_reviews)))
        appointments.append((reviewer, call, event, to_review or 0, reviewed or 0))
    return appointments


async def submissions_for_reviewer(session: AsyncSession, reviewer: Reviewer) -> list[Submission]:
    return list(await session.scalars(
        select(Submission).where(reviewable_by(reviewer)).order_by(Submission.submitted_at, Submission.id)))


async def submission_for_reviewer(session: AsyncSession, reviewer: Reviewer, submission_id: int) -> Submission:
    submission = await session.scalar(select(Submission).where(Submission.id == submission_id,
                                                               reviewable_by(reviewer)))
    if submission is None:
        raise NotFoundException("No such submission.")
    return submission


def author_lines(submission: Submission) -> list[dict[str, str]]:
    return [{"name": sp.person.full_name, "affiliation": sp.person.affiliation, "country": sp.person.country}
            for sp in submission.people]


def reviewer_view(call: Call, submission: Submission) -> dict[str, Any]:
    """What a reviewer is shown of a submission, in pages and the API: no author at all when double-blind."""
    view: dict[str, Any] = {
        "id": submission.id, "title": submission.title, "abstract": submission.abstract,
        "track": submission.track, "language": submission.language, "answers": dict(submission.answers or {}),
    }
    if not call.blind_authors:
        view["authors"] = author_lines(submission)
    return view
