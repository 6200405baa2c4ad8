"""Call pages, split by reader: the public call and the submitter's private link; reviewers (by private link or
organiser account); the organisers' call form, committee view, decisions and reviewers. Rules live in
services.py, who may see what in access.py."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from litestar.plugins.flash import flash
from litestar.response import File, Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.calls import access, services
from events_app.calls.models import (
    Call,
    CallKind,
    Review,
    Reviewer,
    Submission,
    SubmissionFile,
    SubmissionState,
)
from events_app.core.i18n import gettext as _
from events_app.core.timefmt import local_input_value
from events_app.core.validation import Conflict, ValidationFailed, parse_id
from events_app.events.models import Event
from events_app.events.services import EventService
from events_app.registration.models import QuestionKind
from events_app.registration.questions import questions_from_text, questions_to_text
from events_app.settings import Settings
from events_app.web.auth import provide_organiser, requires_login
from events_app.web.forms import form_page, read_form
from events_app.web.urls import redirect_to

NO_STORE = {"Cache-Control": "private, no-store"}


# ---- forms <-> service data -------------------------------------------------------------------------------------
def fields_from_text(text: str, existing: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The registration questions' lines, plus `label | file | required | pdf; docx | 10` for uploads."""
    keys = {f["label"]: f["key"] for f in existing}
    fields: list[dict[str, Any]] = []
    for line in (text or "").splitlines():
        parts = [p.strip() for p in line.split("|")] + ["", "", "", ""]
        if parts[1] == "file":
            fields.append({"label": parts[0], "kind": "file", "required": parts[2].lower() in ("required", "yes"),
                           "types": [t.strip() for t in parts[3].split(";") if t.strip()] or ["pdf"],
                           "max_mb": parts[4] or 10, "key": keys.get(parts[0])})
        elif line.strip():
            fields.extend(questions_from_text(line, existing))
    return fields


def fields_to_text(fields: list[dict[str, Any]]) -> str:
    lines = []
    for f in fields:
        if f.get("kind") == "file":
            lines.append(" | ".join([f["label"], "file", "required" if f["required"] else "optional",
                                     "; ".join(f["types"]), str(f["max_mb"])]))
        else:
            lines.append(questions_to_text([f]))
    return "\n".join(lines)


def criteria_from_text(text: str) -> list[dict[str, Any]]:
    rows = []
    for line in (text or "").splitlines():
        if line.strip():
            parts = [p.strip() for p in line.split("|")] + ["", ""]
            rows.append({"label": parts[0], "min": parts[1] or 1, "max": parts[2] or 5})
    return rows


def call_data(values: dict[str, Any], call: Call | None) -> dict[str, Any]:
    data = dict(values)
    data["fields"] = fields_from_text(values.get("fields", ""), list(call.fields) if call else [])
    data["criteria"] = criteria_from_text(values.get("criteria", ""))
    return data


def call_values(call: Call, event: Event) -> dict[str, Any]:
    return {
        "kind": call.kind.value, "title": call.title, "description": call.description,
        "opens_at": local_input_value(call.opens_at, event.timezone),
        "closes_at": local_input_value(call.closes_at, event.timezone),
        "fields": fields_to_text(list(call.fields or [])), "tracks": "\n".join(call.tracks or []),
        "max_abstract_chars": str(call.max_abstract_chars), "co_authors_allowed": call.co_authors_allowed,
        "languages": ", ".join(call.languages or []),
        "criteria": "\n".join(f"{c['label']} | {c['min']} | {c['max']}" for c in call.criteria or []),
        "blind_authors": call.blind_authors, "blind_reviewers": call.blind_reviewers,
    }


async def read_submission_form(request: Request, call: Call) -> tuple[dict[str, Any], dict[str, bytes | None]]:
    questions = services.questions_of(call)
    multi = tuple(f"answers.{q['key']}" for q in questions if q["kind"] == QuestionKind.MULTIPLE_CHOICE)
    values = await read_form(request, multi=multi)
    form = await request.form()
    uploads: dict[str, bytes | None] = {}
    for spec in services.file_fields_of(call):
        upload = form.get(f"files.{spec['key']}")
        if isinstance(upload, UploadFile) and upload.filename:
            # Read one byte past the limit at most: the size check needs no more, and memory stays bounded.
            uploads[spec["key"]] = await upload.read(spec["max_mb"] * 1024 * 1024 + 1)
    return values, uploads


def submission_data(values: dict[str, Any], call: Call) -> dict[str, Any]:
    data = dict(values)
    data["answers"] = {q["key"]: values.get(f"answers.{q['key']}") for q in services.questions_of(call)}
    return data


def submission_values(submission: Submission) -> dict[str, Any]:
    values: dict[str, Any] = {"title": submission.title, "abstract": submission.abstract,
                              "track": submission.track, "language": submission.language}
    for key, value in (submission.answers or {}).items():
        values[f"answers.{key}"] = value
    values["co_authors"] = "\n".join(" | ".join([sp.person.full_name, sp.person.email, sp.person.affiliation])
                                     for sp in submission.people[1:])
    return values


def file_response(settings: Settings, row: SubmissionFile) -> File:
    path = services.stored_file(settings, row)
    if path is None:
        raise NotFoundException("No such file.")
    inline = row.content_type == "application/pdf"
    return File(path=path, media_type=row.content_type, filename=path.name,
                content_disposition_type="inline" if inline else "attachment", headers=NO_STORE)


async def file_of_submission(session: AsyncSession, submission: Submission, file_id: int) -> SubmissionFile:
    row = await session.get(SubmissionFile, file_id)
    if row is None or row.submission_id != submission.id:
        raise NotFoundException("No such file.")
    return row


# ---- the public call and the submitter's link ------------------------------------------------------------------
class CallPages(Controller):
    include_in_schema = False

    async def _page(self, session: AsyncSession, call: Call, event: Event, *, values: dict[str, Any] | None = None,
                    errors: dict[str, str] | None = None, status: int | None = None) -> Template:
        return form_page("calls/call.html", errors=errors, status=status, call=call, event=event,
                         closed=services.closed_reason(call, event), values=values or {},
                         questions=services.questions_of(call), file_fields=services.file_fields_of(call))

    @get("/calls/{call_id:int}", name="call")
    async def show(self, call_id: int, db_session: AsyncSession) -> Template:
        call, event = await services.public_call(db_session, call_id)
        return await self._page(db_session, call, event)

    @post("/calls/{call_id:int}", name="call_submit")
    async def submit(self, request: Request, call_id: int, db_session: AsyncSession,
                     settings: Settings) -> Template:
        call, event = await services.public_call(db_session, call_id)
        values, uploads = await read_submission_form(request, call)
        try:
            submission, _token = await services.submit(db_session, settings, call, event,
                                                       submission_data(values, call), uploads)
        except ValidationFailed as exc:
            return await self._page(db_session, call, event, values=values, errors=exc.errors)
        # The link goes by e-mail only: whoever typed an address must not get a link to act as its owner.
        return Template(template_name="calls/received.html", context={"call": call, "event": event,
                                                                      "email": submission.email})

    async def _own(self, session: AsyncSession, submission: Submission, call: Call, event: Event, *,
                   values: dict[str, Any] | None = None, errors: dict[str, str] | None = None) -> Template:
        files = (await services.files_of(session, [submission.id])).get(submission.id, [])
        editable = submission.state == SubmissionState.SUBMITTED and not services.closed_reason(call, event)
        return form_page("calls/submission.html", errors=errors, call=call, event=event, submission=submission,
                         values=values or submission_values(submission), files=files, editable=editable,
                         questions=services.questions_of(call), file_fields=services.file_fields_of(call),
                         states=services.decision_labels(), authors=access.author_lines(submission))

    @get("/calls/submissions/{token:str}", name="submission_manage")
    async def own(self, token: str, db_session: AsyncSession) -> Template:
        submission, call, event = await services.submission_by_token(db_session, token)
        return await self._own(db_session, submission, call, event)

    @post("/calls/submissions/{token:str}", name="submission_update")
    async def update(self, request: Request, token: str, db_session: AsyncSession,
                     settings: Settings) -> Template | Redirect:
        submission, call, event = await services.submission_by_token(db_session, token)
        values, uploads = await read_submission_form(request, call)
        try:
            if values.get("action") == "withdraw":
                await services.withdraw(db_session, submission)
                flash(request, _("Your submission is withdrawn."), "success")
            else:
                await services.update_submission(db_session, settings, call, event, submission,
                                                 submission_data(values, call), uploads)
                flash(request, _("Your changes are saved."), "success")
        except ValidationFailed as exc:
            return await self._own(db_session, submission, call, event, values=values, errors=exc.errors)
        return redirect_to("submission_manage", token=token)

    @get("/calls/submissions/{token:str}/files/{file_id:int}", name="submission_own_file")
    async def own_file(self, token: str, file_id: int, db_session: AsyncSession, settings: Settings) -> File:
        submission, _call, _event = await services.submission_by_token(db_session, token)
        return file_response(settings, await file_of_submission(db_session, submission, file_id))


# ---- reviewers ---------------------------------------------------------------------------------------------------
async def _review_list(session: AsyncSession, reviewer: Reviewer, links: dict[str, Any]) -> Template:
    call = await session.get(Call, reviewer.call_id)
    assert call is not None
    event = await session.get(Event, call.event_id)
    submissions = await access.submissions_for_reviewer(session, reviewer)
    reviewed = set(await session.scalars(select(Review.submission_id).where(
        Review.reviewer_id == reviewer.id)))
    rows = [(access.reviewer_view(call, s), s.id in reviewed) for s in submissions]
    return Template(template_name="calls/review_list.html",
                    context={"call": call, "event": event, "reviewer": reviewer, "rows": rows, **links},
                    headers=NO_STORE)


async def _review_page(session: AsyncSession, reviewer: Reviewer, submission_id: int, links: dict[str, Any], *,
                       values: dict[str, Any] | None = None, errors: dict[str, str] | None = None) -> Template:
    call = await session.get(Call, reviewer.call_id)
    assert call is not None
    event = await session.get(Event, call.event_id)
    submission = await access.submission_for_reviewer(session, reviewer, submission_id)
    mine = await services.review_of(session, reviewer, submission)
    if values is None:
        values = {"comment_committee": mine.comment_committee if mine else "",
                  "comment_author": mine.comment_author if mine else ""}
        for key, score in (mine.scores if mine else {}).items():
            values[f"scores.{key}"] = str(score)
    others = services.other_reviews_view(call, (await services.reviews_of(session, [submission.id])).get(
        submission.id, []), reviewer) if mine else []
    files = (await services.files_of(session, [submission.id])).get(submission.id, [])
    return form_page("calls/review.html", errors=errors, call=call, event=event, reviewer=reviewer,
                     view=access.reviewer_view(call, submission), values=values, others=others, files=files,
                     reviewed=mine is not None, **links)


async def _review_save(request: Request, session: AsyncSession, reviewer: Reviewer, submission_id: int,
                       links: dict[str, Any]) -> Template | None:
    call = await session.get(Call, reviewer.call_id)
    assert call is not None
    submission = await access.submission_for_reviewer(session, reviewer, submission_id)
    values = await read_form(request)
    try:
        await services.save_review(session, call, reviewer, submission, values)
    except ValidationFailed as exc:
        return await _review_page(session, reviewer, submission_id, links, values=values, errors=exc.errors)
    flash(request, _("Your review is saved."), "success")
    return None


class ReviewPages(Controller):
    """External reviewers: reached only through the private link in their e-mail; it opens their call alone."""

    include_in_schema = False
    path = "/review/{token:str}"

    @staticmethod
    def links(token: str) -> dict[str, Any]:
        return {"link_name": "review_submission", "link_args": {"token": token},
                "list_name": "review_home", "file_name": "review_file"}

    @get("/", name="review_home")
    async def home(self, token: str, db_session: AsyncSession) -> Template:
        reviewer = await access.reviewer_by_token(db_session, token)
        return await _review_list(db_session, reviewer, self.links(token))

    @get("/{submission_id:int}", name="review_submission")
    async def page(self, token: str, submission_id: int, db_session: AsyncSession) -> Template:
        reviewer = await access.reviewer_by_token(db_session, token)
        return await _review_page(db_session, reviewer, submission_id, self.links(token))

    @post("/{submission_id:int}", name="review_save")
    async def save(self, request: Request, token: str, submission_id: int,
                   db_session: AsyncSession) -> Template | Redirect:
        reviewer = await access.reviewer_by_token(db_session, token)
        page = await _review_save(request, db_session, reviewer, submission_id, self.links(token))
        return page or redirect_to("review_home", token=token)

    @get("/{submission_id:int}/files/{file_id:int}", name="review_file")
    async def file(self, token: str, submission_id: int, file_id: int, db_session: AsyncSession,
                   settings: Settings) -> File:
        reviewer = await access.reviewer_by_token(db_session, token)
        submission = await access.submission_for_reviewer(db_session, reviewer, submission_id)
        return file_response(settings, await file_of_submission(db_session, submission, file_id))


class AccountReviewPages(Controller):
    """Reviewers with an organiser account: the same pages, found by the account's appointment to the call."""

    include_in_schema = False
    path = "/organiser/reviews/{call_id:int}"
    guards = [requires_login]
    dependencies = {"organiser": Provide(provide_organiser)}

    @staticmethod
    def links(call_id: int) -> dict[str, Any]:
        return {"link_name": "account_review_submission", "link_args": {"call_id": call_id},
                "list_name": "account_review_home", "file_name": "account_review_file"}

    @get("/", name="account_review_home")
    async def home(self, call_id: int, organiser: Account, db_session: AsyncSession) -> Template:
        reviewer = await access.reviewer_for_account(db_session, organiser, call_id)
        return await _review_list(db_session, reviewer, self.links(call_id))

    @get("/{submission_id:int}", name="account_review_submission")
    async def page(self, call_id: int, submission_id: int, organiser: Account, db_session: AsyncSession) -> Template:
        reviewer = await access.reviewer_for_account(db_session, organiser, call_id)
        return await _review_page(db_session, reviewer, submission_id, self.links(call_id))

    @post("/{submission_id:int}", name="account_review_save")
    async def save(self, request: Request, call_id: int, submission_id: int, organiser: Account,
                   db_session: AsyncSession) -> Template | Redirect:
        reviewer = await access.reviewer_for_account(db_session, organiser, call_id)
        page = await _review_save(request, db_session, reviewer, submission_id, self.links(call_id))
        return page or redirect_to("account_review_home", call_id=call_id)

    @get("/{submission_id:int}/files/{file_id:int}", name="account_review_file")
    async def file(self, call_id: int, submission_id: int, file_id: int, organiser: Account,
                   db_session: AsyncSession, settings: Settings) -> File:
        reviewer = await access.reviewer_for_account(db_session, organiser, call_id)
        submission = await access.submission_for_reviewer(db_session, reviewer, submission_id)
        return file_response(settings, await file_of_submission(db_session, submission, file_id))


@get("/organiser/reviews", name="my_reviews", guards=[requires_login], include_in_schema=False,
     dependencies={"organiser": Provide(provide_organiser)})
async def my_reviews(organiser: Account, db_session: AsyncSession) -> Template:
    """Where an organiser account finds the calls it reviews, without the appointment mail at hand."""
    appointments = await access.appointments_of(db_session, organiser)
    return Template(template_name="calls/my_reviews.html",
                    context={"organiser": organiser, "appointments": appointments}, headers=NO_STORE)


# ---- organisers ---------------------------------------------------------------------------------------------------
def kind_options() -> list[tuple[str, str]]:
    return [(CallKind.ABSTRACTS.value, _("Abstracts (proposals of talks)")),
            (CallKind.APPLICATIONS.value, _("Applications (to take part)"))]


class OrganiserCallPages(Controller):
    include_in_schema = False
    guards = [requires_login]
    dependencies = {"organiser": Provide(provide_organiser)}

    @get("/organiser/events/{slug:str}/calls", name="event_calls")
    async def list_calls(self, slug: str, organiser: Account, db_session: AsyncSession) -> Template:
        event = await EventService(session=db_session).managed_by_slug(slug, organiser)
        return Template(template_name="calls/organiser_list.html", context={
            "event": event, "calls": await services.calls_of_event(db_session, event), "organiser": organiser})

    def _form(self, event: Event, call: Call | None, values: dict[str, Any], errors: dict[str, str] | None = None
              ) -> Template:
        return form_page("calls/call_form.html", errors=errors, event=event, call=call, values=values,
                         kinds=kind_options())

    @get("/organiser/events/{slug:str}/calls/new", name="call_new")
    async def new(self, slug: str, organiser: Account, db_session: AsyncSession) -> Template:
        event = await EventService(session=db_session).managed_by_slug(slug, organiser)
        return self._form(event, None, {"kind": "abstracts", "co_authors_allowed": True, "blind_reviewers": True,
                                        "max_abstract_chars": "3000",
                                        "criteria": "Relevance | 1 | 5\nQuality | 1 | 5"})

    @post("/organiser/events/{slug:str}/calls/new", name="call_create")
    async def create(self, request: Request, slug: str, organiser: Account,
                     db_session: AsyncSession) -> Template | Redirect:
        event = await EventService(session=db_session).managed_by_slug(slug, organiser)
        values = await read_form(request)
        try:
            call = await services.create_call(db_session, event, call_data(values, None))
        except ValidationFailed as exc:
            return self._form(event, None, values, exc.errors)
        flash(request, _("The call is saved."), "success")
        return redirect_to("call_committee", call_id=call.id)

    @get("/organiser/calls/{call_id:int}/edit", name="call_edit")
    async def edit(self, call_id: int, organiser: Account, db_session: AsyncSession) -> Template:
        call, event = await access.managed_call(db_session, organiser, call_id)
        return self._form(event, call, call_values(call, event))

    @post("/organiser/calls/{call_id:int}/edit", name="call_update")
    async def update(self, request: Request, call_id: int, organiser: Account,
                     db_session: AsyncSession) -> Template | Redirect:
        call, event = await access.managed_call(db_session, organiser, call_id)
        values = await read_form(request)
        try:
            await services.update_call(db_session, event, call, call_data(values, call))
        except ValidationFailed as exc:
            return self._form(event, call, values, exc.errors)
        flash(request, _("The call is saved."), "success")
        return redirect_to("call_committee", call_id=call.id)

    @get("/organiser/calls/{call_id:int}", name="call_committee")
    async def committee(self, call_id: int, organiser: Account, db_session: AsyncSession,
                        track: str | None = None,
                        state_filter: Annotated[str | None, Parameter(query="state")] = None,
                        sort: str = "mean") -> Template:
        call, event = await access.managed_call(db_session, organiser, call_id)
        track = track if track in call.tracks else None
        state = state_filter if state_filter in services.decision_labels() else None
        sort = sort if sort in services.SORTS else "mean"
        ranked = await services.committee(db_session, call, track=track, state=state, sort=sort)
        undecided_mail = sum(1 for r in await services.committee(db_session, call, sort="submitted")
                             if r.submission.state.value in {d.value for d in services.DECISIONS}
                             and r.submission.decision_mailed_at is None)
        return Template(template_name="calls/committee.html", context={
            "call": call, "event": event, "ranked": ranked, "track": track or "", "state": state or "", "sort": sort,
            "states": services.decision_labels(), "to_mail": undecided_mail, "organiser": organiser,
            "decisions": [d.value for d in services.DECISIONS
                          if call.kind == CallKind.ABSTRACTS or d != SubmissionState.POSTER]},
            headers=NO_STORE)

    @post("/organiser/calls/{call_id:int}/decide", name="call_decide")
    async def decide(self, request: Request, call_id: int, organiser: Account, db_session: AsyncSession,
                     settings: Settings) -> Redirect:
        call, event = await access.managed_call(db_session, organiser, call_id)
        values = await read_form(request, multi=("submission_ids",))
        ids = [i for i in (parse_id(v) for v in values.get("submission_ids", [])) if i is not None]
        try:
            changed = await services.decide(db_session, settings, call, event, ids, str(values.get("decision", "")))
        except ValidationFailed as exc:
            flash(request, "; ".join(exc.errors.values()), "error")
        else:
            flash(request, _("Submissions decided: %(n)s.", n=changed), "success")
        return redirect_to("call_committee", call_id=call.id)

    @post("/organiser/calls/{call_id:int}/mail", name="call_mail")
    async def mail(self, request: Request, call_id: int, organiser: Account, db_session: AsyncSession,
                   settings: Settings) -> Redirect:
        call, event = await access.managed_call(db_session, organiser, call_id)
        values = await read_form(request)
        notes = {d.value: values.get(f"note_{d.value}", "") for d in services.DECISIONS}
        try:
            sent = await services.mail_decisions(db_session, settings, call, event, notes=notes,
                                                 with_comments=services.is_true(values.get("with_comments")))
        except ValidationFailed as exc:
            flash(request, "; ".join(exc.errors.values()), "error")
        else:
            flash(request, _("%(n)s decisions are being mailed.", n=sent), "success")
        return redirect_to("call_committee", call_id=call.id)

    @get("/organiser/calls/{call_id:int}/submissions/{submission_id:int}", name="call_submission")
    async def submission(self, call_id: int, submission_id: int, organiser: Account,
                         db_session: AsyncSession) -> Template:
        call, event = await access.managed_call(db_session, organiser, call_id)
        submission = await db_session.get(Submission, submission_id)
        if submission is None or submission.call_id != call.id:
            raise NotFoundException("No such submission.")
        return Template(template_name="calls/organiser_submission.html", context={
            "call": call, "event": event, "submission": submission, "authors": access.author_lines(submission),
            "reviews": (await services.reviews_of(db_session, [submission.id])).get(submission.id, []),
            "files": (await services.files_of(db_session, [submission.id])).get(submission.id, []),
            "states": services.decision_labels()}, headers=NO_STORE)

    @get("/organiser/calls/{call_id:int}/files/{file_id:int}", name="call_file")
    async def file(self, call_id: int, file_id: int, organiser: Account, db_session: AsyncSession,
                   settings: Settings) -> File:
        call, _event = await access.managed_call(db_session, organiser, call_id)
        row = await db_session.get(SubmissionFile, file_id)
        submission = await db_session.get(Submission, row.submission_id) if row else None
        if row is None or submission is None or submission.call_id != call.id:
            raise NotFoundException("No such file.")
        return file_response(settings, row)

    @get("/organiser/calls/{call_id:int}/submissions.csv", name="call_csv")
    async def csv(self, call_id: int, organiser: Account, db_session: AsyncSession) -> Response:
        call, _event = await access.managed_call(db_session, organiser, call_id)
        return Response(content=(await services.submissions_csv(db_session, call)).encode("utf-8"),
                        media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="call-{call.id}-submissions.csv"',
                                 **NO_STORE})

    async def _reviewers(self, session: AsyncSession, call: Call, event: Event, *,
                         values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                         status: int | None = None) -> Template:
        accounts = list(await session.scalars(select(Account).where(Account.is_active.is_(True))
                                              .order_by(Account.full_name, Account.email)))
        return form_page("calls/reviewers.html", errors=errors, status=status, call=call, event=event,
                         reviewers=await services.reviewers_of(session, call), accounts=accounts,
                         values=values or {})

    @get("/organiser/calls/{call_id:int}/reviewers", name="call_reviewers")
    async def reviewers(self, call_id: int, organiser: Account, db_session: AsyncSession) -> Template:
        call, event = await access.managed_call(db_session, organiser, call_id)
        return await self._reviewers(db_session, call, event)

    @post("/organiser/calls/{call_id:int}/reviewers", name="call_reviewer_add")
    async def add_reviewer(self, request: Request, call_id: int, organiser: Account, db_session: AsyncSession,
                           settings: Settings) -> Template | Redirect:
        call, event = await access.managed_call(db_session, organiser, call_id)
        values = await read_form(request, multi=("tracks",))
        try:
            reviewer, _token = await services.appoint_reviewer(db_session, settings, call, event, values)
        except ValidationFailed as exc:
            return await self._reviewers(db_session, call, event, values=values, errors=exc.errors)
        except Conflict as exc:
            return await self._reviewers(db_session, call, event, values=values, errors={exc.field: exc.message},
                                         status=409)
        flash(request, _("%(name)s reviews this call.", name=reviewer.name), "success")
        return redirect_to("call_reviewers", call_id=call.id)


route_handlers = [CallPages, ReviewPages, AccountReviewPages, my_reviews, OrganiserCallPages]
