"""The API's shapes for calls: what organisers and reviewers read and send. A reviewer's view of a submission
leaves the author fields out entirely when the call is double-blind (omit_defaults), not just empty."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

from events_app.calls.models import Call


class AuthorOut(Struct):
    name: str
    affiliation: str
    country: str


class SubmissionOut(Struct, omit_defaults=True):
    id: int
    title: str
    abstract: str
    track: str
    language: str
    answers: dict[str, Any]
    state: str | None = None
    # Absent for double-blind reviewers; the address and the scores only for the organisers.
    authors: list[AuthorOut] | None = None
    email: str | None = None
    submitted_at: dt.datetime | None = None
    mean_score: float | None = None
    spread: float | None = None
    review_count: int | None = None


class ReviewOut(Struct, omit_defaults=True):
    id: int
    submission_id: int
    scores: dict[str, int]
    conflict: bool
    comment_committee: str
    comment_author: str
    reviewer: str | None = None


class ReviewIn(Struct, forbid_unknown_fields=True):
    scores: Annotated[dict[str, int], Meta(description="By criterion key, within the criterion's range")] = \
        msgspec.field(default_factory=dict)
    comment_committee: str = ""
    comment_author: str = ""
    conflict: Annotated[bool, Meta(description="Declare a conflict of interest: the submission leaves your list")] \
        = False


class DecisionIn(Struct, forbid_unknown_fields=True):
    submission_ids: Annotated[list[int], Meta(max_length=1000)]
    decision: Annotated[str, Meta(description="accepted, poster, waitlisted or rejected")]


class DecisionOut(Struct):
    changed: int


class MailDecisionsIn(Struct, forbid_unknown_fields=True):
    with_comments: Annotated[bool, Meta(description="Add the reviewers' comments to the author")] = False
    notes: Annotated[dict[str, str], Meta(description="By decision: a note added to its mail")] = \
        msgspec.field(default_factory=dict)


class MailDecisionsOut(Struct):
    mailed: int


class CallIn(Struct, forbid_unknown_fields=True):
    """A call as the organisers' form makes it; checked by the same rules (services.clean_call)."""

    kind: Annotated[str, Meta(description="abstracts or applications")]
    title: str
    opens_at: Annotated[dt.datetime, Meta(description="ISO 8601; without an offset it is read in the event's zone")]
    closes_at: dt.datetime
    description: str = ""
    fields: Annotated[list[dict[str, Any]], Meta(
        description="Questions as for registration (label, kind, required, options), or uploads: "
                    '{"label": ..., "kind": "file", "required": ..., "types": ["pdf"], "max_mb": 10}')] = \
        msgspec.field(default_factory=list)
    tracks: list[str] = msgspec.field(default_factory=list)
    co_authors_allowed: bool = False
    criteria: Annotated[list[dict[str, Any]], Meta(
        description='Review criteria, {"label": ..., "min": 1, "max": 5}; none: the default ones')] = \
        msgspec.field(default_factory=list)
    languages: list[str] = msgspec.field(default_factory=list)
    max_abstract_chars: int = 3000
    blind_authors: Annotated[bool, Meta(description="Double-blind: reviewers see no author")] = False
    blind_reviewers: Annotated[bool, Meta(description="Reviewers do not see each other's names")] = False


class CallOut(Struct):
    id: int
    kind: str
    title: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    tracks: list[str]
    criteria: list[dict[str, Any]]
    blind_authors: bool
    blind_reviewers: bool


def call_out(call: Call) -> CallOut:
    return CallOut(id=call.id, kind=call.kind.value, title=call.title, opens_at=call.opens_at,
                   closes_at=call.closes_at, tracks=list(call.tracks or []), criteria=list(call.criteria or []),
                   blind_authors=call.blind_authors, blind_reviewers=call.blind_reviewers)
