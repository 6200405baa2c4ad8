"""The calls' JSON API with organiser tokens: the committee lists submissions (with mean scores) and reviews,
decides and mails decisions; an organiser account appointed as reviewer lists what it may review (double-blind
and conflicts of interest applied, by the same rule as the pages: access.py) and sends its review."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post, put
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.calls import access, services
from events_app.calls.models import Call, Submission
from events_app.calls.schemas import (
    AuthorOut,
    CallIn,
    CallOut,
    DecisionIn,
    DecisionOut,
    MailDecisionsIn,
    MailDecisionsOut,
    ReviewIn,
    ReviewOut,
    SubmissionOut,
    call_out,
)
from events_app.events.models import Event
from events_app.events.services import EventService
from events_app.settings import Settings
from events_app.web.auth import provide_api_account


async def _call(session: AsyncSession, call_id: int) -> tuple[Call, Event]:
    call = await session.get(Call, call_id)
    event = await session.get(Event, call.event_id) if call is not None else None
    if call is None or event is None:
        raise NotFoundException("No such call.")
    return call, event


def _reviewer_out(call: Call, submission: Submission) -> SubmissionOut:
    view = access.reviewer_view(call, submission)  # no "authors" key at all when double-blind
    authors = view.pop("authors", None)
    return SubmissionOut(**view, authors=None if authors is None else [AuthorOut(**a) for a in authors])


class CallApi(Controller):
    path = "/calls/{call_id:int}"
    tags = ["calls"]
    dependencies = {"account": Provide(provide_api_account)}

    @put("/", summary="Change the call: every field, as when it was opened (organisers)", name="api_call_update")
    async def update(self, call_id: int, data: CallIn, account: Account, db_session: AsyncSession) -> CallOut:
        call, event = await access.managed_call(db_session, account, call_id)
        return call_out(await services.update_call(db_session, event, call, msgspec.structs.asdict(data)))

    @get("/submissions", summary="Submissions: all, with mean scores (organisers); or those you may review "
                                 "(reviewers: no authors when double-blind)", name="api_call_submissions")
    async def submissions(self, call_id: int, account: Account, db_session: AsyncSession,
                          track: str | None = None,
                          state_filter: Annotated[str | None, Parameter(query="state")] = None,
                          sort: str = "mean") -> list[SubmissionOut]:
        call, event = await _call(db_session, call_id)
        if not access.may_manage_call(account, event):
            reviewer = await access.reviewer_for_account(db_session, account, call.id)
            return [_reviewer_out(call, s) for s in await access.submissions_for_reviewer(db_session, reviewer)]
        ranked = await services.committee(db_session, call, track=track or None, state=state_filter or None,
                                          sort=sort if sort in services.SORTS else "mean")
        return [SubmissionOut(
            id=r.submission.id, title=r.submission.title, abstract=r.submission.abstract, track=r.submission.track,
            language=r.submission.language, answers=dict(r.submission.answers or {}), state=r.submission.state.value,
            authors=[AuthorOut(**a) for a in r.authors], email=r.submission.email,
            submitted_at=r.submission.submitted_at, mean_score=r.mean, spread=r.spread, review_count=r.count,
        ) for r in ranked]

    @get("/submissions/export", summary="Submissions with mean scores as CSV (formula-safe; organisers)",
         media_type="text/csv; charset=utf-8", name="api_call_export")
    async def export(self, call_id: int, account: Account, db_session: AsyncSession) -> Response[str]:
        call, _event = await access.managed_call(db_session, account, call_id)
        return Response(await services.submissions_csv(db_session, call), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="call-{call.id}-submissions.csv"'})

    @get("/reviews", summary="Every review of the call, with its reviewer (organisers)", name="api_call_reviews")
    async def reviews(self, call_id: int, account: Account, db_session: AsyncSession) -> list[ReviewOut]:
        call, _event = await access.managed_call(db_session, account, call_id)
        ranked = await services.committee(db_session, call, sort="submitted")
        return [ReviewOut(id=review.id, submission_id=review.submission_id, scores=dict(review.scores),
                          conflict=review.conflict, comment_committee=review.comment_committee,
                          comment_author=review.comment_author, reviewer=reviewer.name)
                for r in ranked for review, reviewer in r.reviews]

    @put("/submissions/{submission_id:int}/review", summary="Your review of a submission (appointed reviewers)",
         name="api_call_review")
    async def review(self, call_id: int, submission_id: int, data: ReviewIn, account: Account,
                     db_session: AsyncSession) -> ReviewOut:
        call, _event = await _call(db_session, call_id)
        reviewer = await access.reviewer_for_account(db_session, account, call.id)
        submission = await access.submission_for_reviewer(db_session, reviewer, submission_id)
        review = await services.save_review(db_session, call, reviewer, submission, {
            "scores": data.scores, "comment_committee": data.comment_committee,
            "comment_author": data.comment_author, "conflict": data.conflict})
        return ReviewOut(id=review.id, submission_id=submission.id, scores=dict(review.scores),
                         conflict=review.conflict, comment_committee=review.comment_committee,
                         comment_author=review.comment_author)

    @post("/decisions", status_code=200, summary="Accept, accept as poster, waitlist or reject submissions "
                                                 "(organisers)", name="api_call_decide")
    async def decide(self, call_id: int, data: DecisionIn, account: Account, db_session: AsyncSession,
                     settings: Settings) -> DecisionOut:
        call, event = await access.managed_call(db_session, account, call_id)
        return DecisionOut(changed=await services.decide(db_session, settings, call, event, data.submission_ids,
                                                         data.decision))

    @post("/decisions/mail", status_code=200, summary="Mail every decision not mailed yet (organisers)",
          name="api_call_mail")
    async def mail(self, call_id: int, data: MailDecisionsIn, account: Account, db_session: AsyncSession,
                   settings: Settings) -> MailDecisionsOut:
        call, event = await access.managed_call(db_session, account, call_id)
        return MailDecisionsOut(mailed=await services.mail_decisions(
            db_session, settings, call, event, with_comments=data.with_comments, notes=data.notes))


class EventCallApi(Controller):
    path = "/events/{slug:str}/calls"
    tags = ["calls"]
    dependencies = {"account": Provide(provide_api_account)}

    @get("/", summary="The event's calls (organisers)", name="api_event_calls")
    async def list_calls(self, slug: str, account: Account, db_session: AsyncSession) -> list[CallOut]:
        event = await EventService(session=db_session).managed_by_slug(slug, account)
        return [call_out(c) for c in await services.calls_of_event(db_session, event)]

    @post("/", summary="Open a call on the event (its managers)", name="api_event_call_create")
    async def create_call(self, slug: str, data: CallIn, account: Account, db_session: AsyncSession) -> CallOut:
        event = await EventService(session=db_session).managed_by_slug(slug, account)
        return call_out(await services.create_call(db_session, event, msgspec.structs.asdict(data)))


__all__ = ["CallApi", "EventCallApi"]
