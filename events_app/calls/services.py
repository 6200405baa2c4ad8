"""The rules of calls, once, for the pages, the API and the tests: opening a call, submitting and editing through
a private link, appointing reviewers, reviewing, the committee's ranking, decisions and their mail.

An accepted abstract becomes an unscheduled talk of the event with its authors as speakers, each invited through
the speakers' private link (profile, photo, travel, visa letter); an accepted application becomes a registration
through the registration service, which decides the seat under the event's lock (confirmed, or waitlisted when
the event is full), so capacity holds however many acceptances arrive at once.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from litestar.exceptions import NotFoundException
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.calls.access import author_lines
from events_app.calls.models import (
    DECISIONS,
    Call,
    CallKind,
    Review,
    Reviewer,
    Submission,
    SubmissionFile,
    SubmissionPerson,
    SubmissionState,
)
from events_app.core.csv_cells import csv_text
from events_app.core.file_metadata import UnreadableDocument, without_author_metadata
from events_app.core.i18n import current_locale, speaking
from events_app.core.i18n import gettext as _
from events_app.core.slugs import slug_base
from events_app.core.timefmt import format_when
from events_app.core.validation import (
    MAX_ID,
    Conflict,
    Errors,
    ValidationFailed,
    clean_country,
    clean_email,
    clean_id,
    clean_text,
)
from events_app.db import rows_affected
from events_app.events.models import Event, EventStatus
from events_app.events.services import parse_instant
from events_app.notify.services import enqueue_templated_email
from events_app.registration.mail import hash_token, new_token
from events_app.registration.questions import clean_answers, clean_questions, normalise_email
from events_app.registration.services import RegistrationService
from events_app.schedule.materials import detect_type
from events_app.schedule.services import TalkService
from events_app.settings import Settings
from events_app.speakers.models import Person
from events_app.speakers.services import InvitationService, PersonService
from events_app.web.urls import absolute_url

FOLDER = "submissions"
MAX_FIELDS = 30
MAX_TRACKS = 30
MAX_CRITERIA = 10
MAX_CO_AUTHORS = 20
MAX_FILE_MB = 20
FILE_TYPES = ("pdf", "docx", "odt", "pptx", "odp", "xlsx", "ods")
DEFAULT_CRITERIA = [{"key": "relevance", "label": "Relevance", "min": 1, "max": 5},
                    {"key": "quality", "label": "Quality", "min": 1, "max": 5}]
OPEN_STATES = (SubmissionState.SUBMITTED, SubmissionState.WAITLISTED)
TRUE_WORDS = (True, 1, "1", "on", "true", "yes")


class CallClosed(ValidationFailed):
    """The call is not open (yet, or any more): nothing is stored."""

    def __init__(self, message: str) -> None:
        super().__init__({"call": message})
        self.message = message


def is_true(value: Any) -> bool:
    return value in TRUE_WORDS or (isinstance(value, str) and value.lower() in ("on", "true", "yes", "1"))


def decision_labels() -> dict[str, str]:
    return {
        SubmissionState.SUBMITTED.value: _("Submitted"),
        SubmissionState.WITHDRAWN.value: _("Withdrawn"),
        SubmissionState.ACCEPTED.value: _("Accepted"),
        SubmissionState.POSTER.value: _("Accepted as a poster"),
        SubmissionState.WAITLISTED.value: _("Waitlisted"),
        SubmissionState.REJECTED.value: _("Rejected"),
    }


# ---- the call ---------------------------------------------------------------------------------------------------
def _clean_lines(errors: Errors, name: str, value: Any, *, limit: int, max_items: int) -> list[str]:
    items = value.splitlines() if isinstance(value, str) else (value or [])
    if not isinstance(items, list):
        errors.add(name, _("Give a list."))
        return []
    cleaned = []
    for item in items:
        text = clean_text(errors, name, item, max_length=limit, multiline=False)
        if text and text not in cleaned:
            cleaned.append(text)
    if len(cleaned) > max_items:
        errors.add(name, _("At most %(n)s entries.", n=max_items))
    return cleaned


def _clean_file_field(errors: Errors, item: Mapping[str, Any], index: int, keys: set[str]) -> dict[str, Any] | None:
    label = clean_text(errors, "fields", item.get("label"), max_length=300, multiline=False)
    if not label:
        errors.add("fields", _("Field %(n)s needs a label.", n=index))
        return None
    raw_types = item.get("types") or item.get("options") or ["pdf"]
    types = [str(t).strip().lower().lstrip(".") for t in raw_types if str(t).strip()]
    if not types or any(t not in FILE_TYPES for t in types):
        errors.add("fields", _("Field %(n)s: allowed file types are %(types)s.", n=index, types=", ".join(FILE_TYPES)))
        return None
    try:
        max_mb = int(item.get("max_mb") or 10)
    except (TypeError, ValueError):
        max_mb = 0
    if not 1 <= max_mb <= MAX_FILE_MB:
        errors.add("fields", _("Field %(n)s: the size limit is 1 to %(m)s MB.", n=index, m=MAX_FILE_MB))
        return None
    key = str(item.get("key") or "") or slug_base(label, f"file{index}")[:40]
    base, n = key, 2
    while key in keys:
        key, n = f"{base}-{n}", n + 1
    keys.add(key)
    return {"key": key, "label": label, "kind": "file", "required": is_true(item.get("required")),
            "types": types, "max_mb": max_mb}


def clean_fields(errors: Errors, value: Any) -> list[dict[str, Any]]:
    """The registration question kinds (registration/questions.py) plus file uploads, in the given order."""
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > MAX_FIELDS:
        errors.add("fields", _("Give at most %(n)s fields as a list.", n=MAX_FIELDS))
        return []
    questions = [item for item in value if not (isinstance(item, Mapping) and item.get("kind") == "file")]
    problems = Errors()
    cleaned_questions = iter(clean_questions(problems, questions))  # the registration's rules for questions
    for message in problems.values():
        errors.add("fields", message)
    keys: set[str] = set()
    fields: list[dict[str, Any]] = []
    for index, item in enumerate(value, start=1):
        if isinstance(item, Mapping) and item.get("kind") == "file":
            found = _clean_file_field(errors, item, index, keys)
            if found:
                fields.append(found)
        else:
            question = next(cleaned_questions, None)
            if question is not None:
                while question["key"] in keys:
                    question["key"] += "-2"
                keys.add(question["key"])
                fields.append(question)
    return fields


def clean_criteria(errors: Errors, value: Any) -> list[dict[str, Any]]:
    if value in (None, "", []):
        return [dict(c) for c in DEFAULT_CRITERIA]
    if not isinstance(value, list) or len(value) > MAX_CRITERIA:
        errors.add("criteria", _("Give at most %(n)s criteria.", n=MAX_CRITERIA))
        return []
    criteria, keys = [], set()
    for index, item in enumerate(value, start=1):
        item = item if isinstance(item, Mapping) else {"label": item}
        label = clean_text(errors, "criteria", item.get("label"), max_length=100, multiline=False)
        try:
            low, high = int(item.get("min", 1)), int(item.get("max", 5))
        except (TypeError, ValueError):
            low, high = 0, -1
        if not label or not 0 <= low < high <= 100:
            errors.add("criteria", _("Criterion %(n)s needs a name and a range such as 1 to 5.", n=index))
            continue
        key = slug_base(label, f"c{index}")[:40]
        while key in keys:
            key += "-2"
        keys.add(key)
        criteria.append({"key": key, "label": label, "min": low, "max": high})
    return criteria


LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")


def clean_call(event: Event, data: Mapping[str, Any]) -> dict[str, Any]:
    errors = Errors()
    kind = str(data.get("kind") or "")
    if kind not in {k.value for k in CallKind}:
        errors.add("kind", _("Choose abstracts or applications."))
    cleaned: dict[str, Any] = {
        "kind": CallKind(kind) if kind in {k.value for k in CallKind} else CallKind.ABSTRACTS,
        "title": clean_text(errors, "title", data.get("title"), max_length=300, required=True, multiline=False),
        "description": clean_text(errors, "description", data.get("description"), max_length=20000),
        "opens_at": parse_instant(errors, "opens_at", data.get("opens_at"), event.timezone),
        "closes_at": parse_instant(errors, "closes_at", data.get("closes_at"), event.timezone),
        "fields": clean_fields(errors, data.get("fields")),
        "tracks": _clean_lines(errors, "tracks", data.get("tracks"), limit=100, max_items=MAX_TRACKS),
        "co_authors_allowed": is_true(data.get("co_authors_allowed")),
        "criteria": clean_criteria(errors, data.get("criteria")),
        "blind_authors": is_true(data.get("blind_authors")),
        "blind_reviewers": is_true(data.get("blind_reviewers")),
    }
    languages = data.get("languages")
    if isinstance(languages, str):
        languages = [part.strip() for part in languages.replace(";", ",").split(",")]
    cleaned["languages"] = _clean_lines(errors, "languages", languages, limit=10, max_items=20)
    if any(not LANGUAGE_CODE.fullmatch(code) for code in cleaned["languages"]):
        errors.add("languages", _("Give language codes such as en, zh, fr, separated by commas."))
    max_chars = data.get("max_abstract_chars")
    try:
        cleaned["max_abstract_chars"] = 3000 if max_chars in (None, "") else int(str(max_chars).strip())
    except ValueError:
        cleaned["max_abstract_chars"] = 0
    if not 100 <= cleaned["max_abstract_chars"] <= 20000:
        errors.add("max_abstract_chars", _("Give a number from 100 to 20000."))
    if cleaned["opens_at"] and cleaned["closes_at"] and cleaned["closes_at"] <= cleaned["opens_at"]:
        errors.add("closes_at", _("The call must close after it opens."))
    errors.raise_if_any()
    return cleaned


async def create_call(session: AsyncSession, event: Event, data: Mapping[str, Any]) -> Call:
    call = Call(event_id=event.id, **clean_call(event, data))
    session.add(call)
    await session.flush()
    return call


async def update_call(session: AsyncSession, event: Event, call: Call, data: Mapping[str, Any]) -> Call:
    cleaned = clean_call(event, data)
    if cleaned["kind"] != call.kind and await session.scalar(
            select(func.count()).select_from(Submission).where(Submission.call_id == call.id)):
        raise ValidationFailed({"kind": _("The kind cannot change once there are submissions.")})
    for key, value in cleaned.items():
        setattr(call, key, value)
    await session.flush()
    return call


async def calls_of_event(session: AsyncSession, event: Event) -> list[Call]:
    return list(await session.scalars(select(Call).where(Call.event_id == event.id).order_by(Call.opens_at, Call.id)))


async def public_call(session: AsyncSession, call_id: int) -> tuple[Call, Event]:
    """A call of a public event; 404 for one of a draft (as for an unknown address)."""
    call = await session.get(Call, call_id)
    event = await session.get(Event, call.event_id) if call is not None else None
    if call is None or event is None or not event.is_public:
        raise NotFoundException("No such call.")
    return call, event


def closed_reason(call: Call, event: Event, now: dt.datetime | None = None) -> str | None:
    now = now or dt.datetime.now(dt.UTC)
    if event.status == EventStatus.CANCELLED:
        return _("This event has been cancelled.")
    if now < call.opens_at:
        return _("This call opens on %(when)s.", when=f"{format_when(call.opens_at, event.timezone)} ({event.timezone})")
    if now >= call.closes_at:
        return _("This call closed on %(when)s.", when=f"{format_when(call.closes_at, event.timezone)} ({event.timezone})")
    return None


def questions_of(call: Call) -> list[dict[str, Any]]:
    return [f for f in call.fields or [] if f.get("kind") != "file"]


def file_fields_of(call: Call) -> list[dict[str, Any]]:
    return [f for f in call.fields or [] if f.get("kind") == "file"]


# ---- submissions ------------------------------------------------------------------------------------------------
@dataclass
class Cleaned:
    fields: dict[str, Any]
    people: list[dict[str, Any]]
    files: dict[str, tuple[bytes, str, str]] = field(default_factory=dict)  # key -> (data, content type, extension)


def _co_authors(data: Mapping[str, Any]) -> list[Any]:
    value = data.get("co_authors")
    if isinstance(value, str):  # the form: one per line, "name | e-mail | affiliation"
        rows = []
        for line in value.splitlines():
            if line.strip():
                parts = [p.strip() for p in line.split("|")] + ["", ""]
                rows.append({"name": parts[0], "email": parts[1], "affiliation": parts[2]})
        return rows
    return value if isinstance(value, list) else []


def clean_submission(call: Call, data: Mapping[str, Any], uploads: Mapping[str, bytes | None], *,
                     existing: Submission | None = None,
                     existing_files: frozenset[str] | set[str] = frozenset()) -> Cleaned:
    errors = Errors()
    abstracts = call.kind == CallKind.ABSTRACTS
    cleaned: dict[str, Any] = {
        "title": clean_text(errors, "title", data.get("title"), max_length=300, required=abstracts, multiline=False),
        "abstract": clean_text(errors, "abstract", data.get("abstract"), max_length=call.max_abstract_chars,
                               required=abstracts),
        "answers": clean_answers(errors, questions_of(call), data.get("answers")),
    }
    track = clean_text(errors, "track", data.get("track"), max_length=100, multiline=False)
    if call.tracks and track not in call.tracks:
        errors.add("track", _("Choose one of the call's tracks."))
    cleaned["track"] = track if call.tracks else ""
    language = clean_text(errors, "language", data.get("language"), max_length=10, multiline=False)
    if call.languages and language not in call.languages:
        errors.add("language", _("Choose one of the languages the call accepts."))
    cleaned["language"] = language if call.languages else ""
    people: list[dict[str, Any]] = []
    if existing is None:
        people.append({
            "full_name": clean_text(errors, "name", data.get("name"), max_length=200, required=True, multiline=False),
            "email": clean_email(errors, "email", data.get("email"), required=True),
            "affiliation": clean_text(errors, "affiliation", data.get("affiliation"), max_length=300, multiline=False),
            "country": clean_country(errors, "country", data.get("country")),
        })
    co_authors = _co_authors(data)
    if co_authors and not call.co_authors_allowed:
        errors.add("co_authors", _("This call takes no co-authors."))
    elif len(co_authors) > MAX_CO_AUTHORS:
        errors.add("co_authors", _("At most %(n)s co-authors.", n=MAX_CO_AUTHORS))
    else:
        for item in co_authors:
            item = item if isinstance(item, Mapping) else {}
            person = {
                "full_name": clean_text(errors, "co_authors", item.get("name"), max_length=200, required=True,
                                        multiline=False),
                "email": clean_email(errors, "co_authors", item.get("email"), required=True),
                "affiliation": clean_text(errors, "co_authors", item.get("affiliation"), max_length=300,
                                          multiline=False),
            }
            people.append(person)
    files: dict[str, tuple[bytes, str, str]] = {}
    for spec in file_fields_of(call):
        key, name = spec["key"], f"files.{spec['key']}"
        upload = uploads.get(key)
        if not upload:
            if spec["required"] and key not in existing_files:
                errors.add(name, _("Please attach this file."))
            continue
        if len(upload) > spec["max_mb"] * 1024 * 1024:
            errors.add(name, _("A file may be at most %(n)s MB.", n=spec["max_mb"]))
            continue
        found = detect_type(upload)  # by content, never by name or declared type
        if found is None or found[1] not in spec["types"]:
            errors.add(name, _("Upload one of: %(types)s.", types=", ".join(t.upper() for t in spec["types"])))
            continue
        if call.blind_authors:  # double-blind: reviewers download the file, so its metadata must not name anyone
            try:
                upload = without_author_metadata(upload, found[1])
            except UnreadableDocument:
                errors.add(name, _("This file could not be read. Save or export it again and upload it."))
                continue
        files[key] = (upload, found[0], found[1])
    errors.raise_if_any()
    return Cleaned(cleaned, people, files)


async def _store_files(session: AsyncSession, settings: Settings, submission: Submission,
                       files: Mapping[str, tuple[bytes, str, str]]) -> None:
    if not files:
        return
    folder = settings.media_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    current = {f.field_key: f for f in await session.scalars(
        select(SubmissionFile).where(SubmissionFile.submission_id == submission.id))}
    for key, (data, content_type, extension) in files.items():
        name = f"{submission.id}-{secrets.token_hex(8)}.{extension}"
        (folder / name).write_bytes(data)
        row = current.get(key)
        if row is not None:
            (settings.media_dir / row.file_path).unlink(missing_ok=True)
            row.file_path, row.content_type, row.size = f"{FOLDER}/{name}", content_type, len(data)
        else:
            session.add(SubmissionFile(submission_id=submission.id, field_key=key, file_path=f"{FOLDER}/{name}",
                                       content_type=content_type, size=len(data)))
    await session.flush()


async def _people(session: AsyncSession, people: Sequence[Mapping[str, Any]]) -> list[Person]:
    """The speaker records, reused when the address matches (one person across events), without repeats."""
    found: list[Person] = []
    service = PersonService(session=session)
    for data in people:
        person = await service.person_for_email(data)
        if all(p.id != person.id for p in found):
            found.append(person)
    return found


async def submit(session: AsyncSession, settings: Settings, call: Call, event: Event, data: Mapping[str, Any],
                 uploads: Mapping[str, bytes | None] | None = None, *,
                 now: dt.datetime | None = None) -> tuple[Submission, str]:
    """A new submission (no account): its private link goes to the submitter's address. Refused outside the
    call's window, before anything is stored."""
    reason = closed_reason(call, event, now)
    if reason:
        raise CallClosed(reason)
    cleaned = clean_submission(call, data, uploads or {})
    people = await _people(session, cleaned.people)
    token = new_token()
    submission = Submission(call_id=call.id, email=normalise_email(cleaned.people[0]["email"]),
                            token_hash=hash_token(token), submitted_at=dt.datetime.now(dt.UTC),
                            locale=current_locale.get(), state=SubmissionState.SUBMITTED, **cleaned.fields)
    submission.people = [SubmissionPerson(person_id=p.id, person=p, position=n) for n, p in enumerate(people)]
    session.add(submission)
    await session.flush()
    await _store_files(session, settings, submission, cleaned.files)
    await enqueue_templated_email(
        session, "call_submission_received", to=submission.email, settings=settings, event_id=event.id,
        context={"event": event, "call": call, "submission": submission,
                 "link": absolute_url("submission_manage", token=token, base_url=settings.base_url)})
    return submission, token


async def submission_by_token(session: AsyncSession, token: str) -> tuple[Submission, Call, Event]:
    if not token or len(token) > 200:
        raise NotFoundException("This link is not valid (any more).")
    submission = await session.scalar(select(Submission).where(Submission.token_hash == hash_token(token)))
    if submission is None:
        raise NotFoundException("This link is not valid (any more).")
    call = await session.get(Call, submission.call_id)
    event = await session.get(Event, call.event_id) if call else None
    assert call is not None and event is not None
    return submission, call, event


async def files_of(session: AsyncSession, submission_ids: Sequence[int]) -> dict[int, list[SubmissionFile]]:
    found: dict[int, list[SubmissionFile]] = {}
    if submission_ids:
        for row in await session.scalars(select(SubmissionFile).where(
                SubmissionFile.submission_id.in_(submission_ids)).order_by(SubmissionFile.id)):
            found.setdefault(row.submission_id, []).append(row)
    return found


def stored_file(settings: Settings, row: SubmissionFile) -> Path | None:
    root = settings.media_dir.resolve()
    path = (root / row.file_path).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path


async def update_submission(session: AsyncSession, settings: Settings, call: Call, event: Event,
                            submission: Submission, data: Mapping[str, Any],
                            uploads: Mapping[str, bytes | None] | None = None) -> Submission:
    """The submitter's changes through their link: only until the deadline, and only while undecided."""
    reason = closed_reason(call, event)
    if reason or submission.state != SubmissionState.SUBMITTED:
        raise CallClosed(reason or _("This submission can no longer be changed."))
    existing = {f.field_key for f in (await files_of(session, [submission.id])).get(submission.id, [])}
    cleaned = clean_submission(call, data, uploads or {}, existing=submission, existing_files=existing)
    for key, value in cleaned.fields.items():
        setattr(submission, key, value)
    if call.co_authors_allowed and "co_authors" in data:
        people = await _people(session, cleaned.people)
        submitter = submission.people[0]
        submission.people = [submitter] + [SubmissionPerson(person_id=p.id, person=p, position=n)
                                           for n, p in enumerate(people, start=1) if p.id != submitter.person_id]
    await session.flush()
    await _store_files(session, settings, submission, cleaned.files)
    return submission


async def withdraw(session: AsyncSession, submission: Submission) -> Submission:
    if submission.state not in OPEN_STATES:
        raise ValidationFailed({"state": _("A decided submission cannot be withdrawn; please write to the organisers.")})
    submission.state = SubmissionState.WITHDRAWN
    await session.flush()
    return submission


# ---- reviewers and reviews --------------------------------------------------------------------------------------
async def appoint_reviewer(session: AsyncSession, settings: Settings, call: Call, event: Event,
                           data: Mapping[str, Any]) -> tuple[Reviewer, str | None]:
    """An organiser account (reviews from its own pages), or an external reviewer invited by e-mail with a
    private link that opens this call's reviews and nothing else. Answers the link's token for an external one."""
    errors = Errors()
    account: Account | None = None
    account_id = clean_id(errors, "account_id", data.get("account_id"), _("Choose an organiser account."))
    if account_id is not None:
        account = await session.get(Account, account_id)
        if account is None or not account.is_active:
            errors.add("account_id", _("Choose an organiser account."))
    email = clean_email(errors, "email", data.get("email"), required=account_id is None)
    name = clean_text(errors, "name", data.get("name"), max_length=200, required=account_id is None, multiline=False)
    affiliation = clean_text(errors, "affiliation", data.get("affiliation"), max_length=300, multiline=False)
    tracks = _clean_lines(errors, "tracks", data.get("tracks"), limit=100, max_items=MAX_TRACKS)
    if any(t not in call.tracks for t in tracks):
        errors.add("tracks", _("Choose among the call's tracks."))
    errors.raise_if_any()
    token = None
    if account is not None:
        reviewer = Reviewer(call_id=call.id, account_id=account.id, name=account.full_name or account.email,
                            email=normalise_email(account.email), affiliation=affiliation, tracks=tracks)
    else:
        person = await PersonService(session=session).person_for_email(
            {"full_name": name, "email": email, "affiliation": affiliation})
        token = new_token()
        reviewer = Reviewer(call_id=call.id, person_id=person.id, name=name, email=normalise_email(email),
                            affiliation=affiliation or person.affiliation, token_hash=hash_token(token), tracks=tracks)
    session.add(reviewer)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("email", _("This person already reviews this call.")) from exc
    # An external reviewer's link opens their reviews alone; an organiser account's link needs its login.
    link = (absolute_url("review_home", token=token, base_url=settings.base_url) if token is not None
            else absolute_url("account_review_home", call_id=call.id, base_url=settings.base_url))
    await enqueue_templated_email(
        session, "call_reviewer_invitation", to=reviewer.email, settings=settings, event_id=event.id,
        context={"event": event, "call": call, "reviewer": reviewer, "link": link})
    return reviewer, token


async def reviewers_of(session: AsyncSession, call: Call) -> list[Reviewer]:
    return list(await session.scalars(select(Reviewer).where(Reviewer.call_id == call.id).order_by(Reviewer.id)))


async def remove_reviewer(session: AsyncSession, call: Call, reviewer_id: int) -> None:
    reviewer = await session.get(Reviewer, reviewer_id)
    if reviewer is None or reviewer.call_id != call.id:
        raise NotFoundException("No such reviewer.")
    await session.delete(reviewer)
    await session.flush()


async def review_of(session: AsyncSession, reviewer: Reviewer, submission: Submission) -> Review | None:
    return await session.scalar(select(Review).where(Review.reviewer_id == reviewer.id,
                                                     Review.submission_id == submission.id))


async def save_review(session: AsyncSession, call: Call, reviewer: Reviewer, submission: Submission,
                      data: Mapping[str, Any]) -> Review:
    """Scores on each of the call's criteria and comments; or a declared conflict of interest, which takes the
    submission out of this reviewer's list."""
    if submission.state not in OPEN_STATES:
        raise ValidationFailed({"submission": _("This submission is decided; reviews are closed.")})
    errors = Errors()
    conflict = is_true(data.get("conflict"))
    scores: dict[str, int] = {}
    raw = data.get("scores") if isinstance(data.get("scores"), Mapping) else {}
    for criterion in [] if conflict else call.criteria:
        name = f"scores.{criterion['key']}"
        value = raw.get(criterion["key"], data.get(name))  # type: ignore[union-attr]
        try:
            score = int(str(value).strip()) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            score = None
        if score is None or not criterion["min"] <= score <= criterion["max"]:
            errors.add(name, _("Give a score from %(low)s to %(high)s.", low=criterion["min"], high=criterion["max"]))
        else:
            scores[criterion["key"]] = score
    comment_committee = clean_text(errors, "comment_committee", data.get("comment_committee"), max_length=5000)
    comment_author = clean_text(errors, "comment_author", data.get("comment_author"), max_length=5000)
    errors.raise_if_any()
    review = await review_of(session, reviewer, submission)
    if review is None:
        review = Review(submission_id=submission.id, reviewer_id=reviewer.id)
        session.add(review)
    review.scores, review.conflict = scores, conflict
    review.comment_committee, review.comment_author = comment_committee, comment_author
    await session.flush()
    return review


def review_score(review: Review) -> float | None:
    if review.conflict or not review.scores:
        return None
    return statistics.fmean(review.scores.values())


async def reviews_of(session: AsyncSession, submission_ids: Sequence[int]) -> dict[int, list[tuple[Review, Reviewer]]]:
    found: dict[int, list[tuple[Review, Reviewer]]] = {}
    if submission_ids:
        rows = await session.execute(select(Review, Reviewer).join(Reviewer, Reviewer.id == Review.reviewer_id)
                                     .where(Review.submission_id.in_(submission_ids)).order_by(Review.id))
        for review, reviewer in rows.tuples():
            found.setdefault(review.submission_id, []).append((review, reviewer))
    return found


def other_reviews_view(call: Call, reviews: Sequence[tuple[Review, Reviewer]], me: Reviewer) -> list[dict[str, Any]]:
    """The other reviews of a submission as a reviewer sees them: names hidden from each other if the call says so."""
    shown = []
    for number, (review, reviewer) in enumerate(reviews, start=1):
        if reviewer.id == me.id or review.conflict:
            continue
        shown.append({"reviewer": _("Reviewer %(n)s", n=number) if call.blind_reviewers else reviewer.name,
                      "scores": dict(review.scores), "comment_committee": review.comment_committee})
    return shown


# ---- the committee ----------------------------------------------------------------------------------------------
@dataclass
class Ranked:
    submission: Submission
    reviews: list[tuple[Review, Reviewer]]
    mean: float | None
    spread: float | None
    count: int

    @property
    def authors(self) -> list[dict[str, str]]:
        return author_lines(self.submission)


SORTS = ("mean", "spread", "count", "submitted")


async def committee(session: AsyncSession, call: Call, *, track: str | None = None, state: str | None = None,
                    sort: str = "mean") -> list[Ranked]:
    """Every submission with its reviews' mean score (each review scores the mean of its criteria), the spread
    (highest minus lowest) and the count, filtered by track and state, best first."""
    statement = select(Submission).where(Submission.call_id == call.id)
    if track:
        statement = statement.where(Submission.track == track)
    if state:
        statement = statement.where(Submission.state == state)
    submissions = list(await session.scalars(statement.order_by(Submission.submitted_at, Submission.id)))
    reviews = await reviews_of(session, [s.id for s in submissions])
    ranked = []
    for submission in submissions:
        mine = reviews.get(submission.id, [])
        scores = [s for s in (review_score(r) for r, _reviewer in mine) if s is not None]
        ranked.append(Ranked(submission, mine, round(statistics.fmean(scores), 2) if scores else None,
                             round(max(scores) - min(scores), 2) if scores else None, len(scores)))
    if sort == "spread":
        ranked.sort(key=lambda r: (r.spread is None, -(r.spread or 0)))
    elif sort == "count":
        ranked.sort(key=lambda r: -r.count)
    elif sort == "mean":
        ranked.sort(key=lambda r: (r.mean is None, -(r.mean or 0)))
    return ranked


async def decide(session: AsyncSession, settings: Settings, call: Call, event: Event, submission_ids: Sequence[int],
                 decision: str) -> int:
    """Accept, accept as poster, waitlist or reject the given undecided (or waitlisted) submissions; answers how
    many changed. The state changes by a conditional update, so two organisers deciding at once act once."""
    if decision not in {d.value for d in DECISIONS}:
        raise ValidationFailed({"decision": _("Choose accept, accept as poster, waitlist or reject.")})
    if decision == SubmissionState.POSTER.value and call.kind != CallKind.ABSTRACTS:
        raise ValidationFailed({"decision": _("Only abstracts can be accepted as posters.")})
    changed = 0
    for submission_id in dict.fromkeys(i for i in submission_ids if 1 <= i <= MAX_ID):  # no row has another id
        result = await session.execute(
            update(Submission).where(Submission.id == submission_id, Submission.call_id == call.id,
                                     Submission.state.in_(OPEN_STATES))
            .values(state=SubmissionState(decision), decided_at=dt.datetime.now(dt.UTC), decision_mailed_at=None)
            .execution_options(synchronize_session=False))
        if rows_affected(result) != 1:
            continue
        changed += 1
        submission = await session.get(Submission, submission_id, populate_existing=True)
        assert submission is not None
        if decision == SubmissionState.ACCEPTED.value and call.kind == CallKind.APPLICATIONS:
            await _admit_applicant(session, settings, event, submission)
        elif decision in (SubmissionState.ACCEPTED.value, SubmissionState.POSTER.value):
            await _make_talk(session, settings, event, submission, poster=decision == SubmissionState.POSTER.value)
    await session.flush()
    return changed


async def _admit_applicant(session: AsyncSession, settings: Settings, event: Event, submission: Submission) -> None:
    applicant = submission.people[0].person
    with speaking(submission.locale):
        registration = await RegistrationService(session, settings).admit(
            event, name=applicant.full_name, email=submission.email, affiliation=applicant.affiliation,
            country=applicant.country, locale=submission.locale)
    submission.registration_id = registration.id


async def _make_talk(session: AsyncSession, settings: Settings, event: Event, submission: Submission, *,
                     poster: bool) -> None:
    """The accepted abstract as an unscheduled talk with its authors as speakers; each author gets the speakers'
    private link (profile, photo, travel, visa letter) through an invitation to that talk."""
    speakers = [sp.person for sp in submission.people]
    # A poster is a programme item too; it is scheduled (or not) like a talk, and its title says what it is.
    title = _("Poster: %(title)s", title=submission.title) if poster else submission.title
    talk = await TalkService(session=session).create_unscheduled(
        event.id, title[:300], submission.abstract, [p.id for p in speakers])
    submission.talk_id = talk.id
    invitations = InvitationService(session=session)
    for person in speakers:
        if person.email:
            await invitations.invite(event, {"person_id": person.id, "talk_id": talk.id, "kind": "talk"},
                                     settings=settings, by=None)


async def mail_decisions(session: AsyncSession, settings: Settings, call: Call, event: Event, *,
                         with_comments: bool = False, notes: Mapping[str, str] | None = None) -> int:
    """One mail per decided submission not yet told, from the template of its decision (call_decision_<state>),
    with the organisers' note for that decision and, if chosen, the reviewers' comments to the author."""
    errors = Errors()
    clean_notes = {state: clean_text(errors, f"note_{state}", (notes or {}).get(state), max_length=5000)
                   for state in (d.value for d in DECISIONS)}
    errors.raise_if_any()
    submissions = list(await session.scalars(select(Submission).where(
        Submission.call_id == call.id, Submission.state.in_(DECISIONS), Submission.decision_mailed_at.is_(None))))
    reviews = await reviews_of(session, [s.id for s in submissions]) if with_comments else {}
    now = dt.datetime.now(dt.UTC)
    for submission in submissions:
        state = submission.state.value
        comments = [r.comment_author for r, _reviewer in reviews.get(submission.id, []) if r.comment_author]
        with speaking(submission.locale):
            await enqueue_templated_email(
                session, f"call_decision_{state}", to=submission.email, settings=settings, event_id=event.id,
                context={"event": event, "call": call, "submission": submission, "note": clean_notes[state],
                         "comments": comments, "person": submission.people[0].person})
        submission.decision_mailed_at = now
    await session.flush()
    return len(submissions)


CSV_COLUMNS = ("id", "state", "track", "language", "title", "authors", "affiliations", "email", "reviews",
               "mean_score", "spread", "submitted_at")


async def submissions_csv(session: AsyncSession, call: Call) -> str:
    rows = []
    for item in await committee(session, call, sort="submitted"):
        s = item.submission
        rows.append([s.id, s.state.value, s.track, s.language, s.title,
                     "; ".join(a["name"] for a in item.authors), "; ".join(a["affiliation"] for a in item.authors),
                     s.email, item.count, "" if item.mean is None else item.mean,
                     "" if item.spread is None else item.spread, s.submitted_at.isoformat()])
    return csv_text(CSV_COLUMNS, rows)


async def event_page_context(session: AsyncSession, *, event: Any, kept_parts: frozenset[str] = frozenset(),
                             **_: Any) -> dict[str, Any]:
    """Receiver of events.signals.event_page_shown: the event's calls open now, linked from its public page, and
    when that list next changes by the clock (a call opens or closes), so the page keeps it no longer. Nothing
    when the page keeps the list rendered."""
    if "event-calls" in kept_parts:
        return {}
    now = dt.datetime.now(dt.UTC)
    calls = list(await session.scalars(
        select(Call).where(Call.event_id == event.id, Call.closes_at > now).order_by(Call.closes_at, Call.id)))
    open_calls = [call for call in calls if call.opens_at <= now]
    changes = [call.closes_at for call in open_calls] + [call.opens_at for call in calls if call.opens_at > now]
    return {"open_calls": open_calls, "calls_change_at": min(changes, default=None)}
