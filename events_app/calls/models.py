"""A call (for abstracts or for applications), its submissions with their people and files, its reviewers and
their reviews. Instants are UTC; the call's times are typed and shown in its event's zone."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from events_app.db import Base
from events_app.events.models import _str_enum

if TYPE_CHECKING:
    from events_app.speakers.models import Person


class CallKind(str, enum.Enum):
    ABSTRACTS = "abstracts"  # proposals of talks: an accepted one becomes an unscheduled talk
    APPLICATIONS = "applications"  # applications to take part: an accepted one becomes a confirmed registration


class SubmissionState(str, enum.Enum):
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"
    ACCEPTED = "accepted"
    POSTER = "poster"  # accepted as a poster
    WAITLISTED = "waitlisted"
    REJECTED = "rejected"


DECISIONS = (SubmissionState.ACCEPTED, SubmissionState.POSTER, SubmissionState.WAITLISTED, SubmissionState.REJECTED)


class Call(Base):
    __tablename__ = "call"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    kind: Mapped[CallKind] = mapped_column(_str_enum(CallKind))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    opens_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    closes_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    # Questions of the registration kinds ({"key", "label", "kind", "required", "options"}) plus file uploads
    # ({"key", "label", "kind": "file", "required", "types": ["pdf", ...], "max_mb"}).
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    tracks: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_abstract_chars: Mapped[int] = mapped_column(Integer, default=3000)
    co_authors_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    # Language codes accepted ("en", "zh"); empty: any.
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    # [{"key", "label", "min", "max"}]: what reviewers score.
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Reviewers see no submitter's name (double-blind); reviewers see no other reviewer's name.
    blind_authors: Mapped[bool] = mapped_column(Boolean, default=False)
    blind_reviewers: Mapped[bool] = mapped_column(Boolean, default=True)


class Submission(Base):
    __tablename__ = "submission"

    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    state: Mapped[SubmissionState] = mapped_column(_str_enum(SubmissionState), default=SubmissionState.SUBMITTED,
                                                   index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    abstract: Mapped[str] = mapped_column(Text, default="")
    track: Mapped[str] = mapped_column(String(100), default="")
    language: Mapped[str] = mapped_column(String(10), default="")
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Where the private link and the decision go (the submitter's address as typed, normalised).
    email: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(10), default="en")
    # SHA-256 of the private link's token; the token itself is only ever in the e-mail.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    decision_mailed_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    # What an acceptance made: the unscheduled talk, or the registration (a seat).
    talk_id: Mapped[int | None] = mapped_column(ForeignKey("talk.id", ondelete="SET NULL"), nullable=True)
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registration.id", ondelete="SET NULL"),
                                                        nullable=True)

    people: Mapped[list[SubmissionPerson]] = relationship(
        lazy="selectin", order_by="SubmissionPerson.position", cascade="all, delete-orphan")


class SubmissionPerson(Base):
    """An author (the submitter first) or applicant: the shared speaker record, one per person across events."""

    __tablename__ = "submission_person"
    __table_args__ = (UniqueConstraint("submission_id", "person_id", name="uq_submission_person"),)

    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    person: Mapped[Person] = relationship(lazy="joined")


class SubmissionFile(Base):
    __tablename__ = "submission_file"
    __table_args__ = (UniqueConstraint("submission_id", "field_key", name="uq_submission_file_field"),)

    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"), index=True)
    field_key: Mapped[str] = mapped_column(String(40))
    # Relative to settings.media_dir; a name we generated. Never served publicly, only through access checks.
    file_path: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)


class Reviewer(Base):
    """Someone who reviews one call: an organiser account, or an external person with a private link."""

    __tablename__ = "reviewer"
    __table_args__ = (UniqueConstraint("call_id", "email", name="uq_reviewer_call_email"),)

    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), nullable=True,
                                                   index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"), nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    # Compared with the authors' affiliations for conflicts of interest.
    affiliation: Mapped[str] = mapped_column(String(300), default="")
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    # Tracks this reviewer reviews; empty: all.
    tracks: Mapped[list[str]] = mapped_column(JSON, default=list)


class Review(Base):
    __tablename__ = "review"
    __table_args__ = (UniqueConstraint("submission_id", "reviewer_id", name="uq_review_once"),)

    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("reviewer.id", ondelete="CASCADE"), index=True)
    # criterion key -> score
    scores: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    comment_committee: Mapped[str] = mapped_column(Text, default="")
    comment_author: Mapped[str] = mapped_column(Text, default="")
    # The reviewer declared a conflict of interest: the submission leaves their list, the review counts for nothing.
    conflict: Mapped[bool] = mapped_column(Boolean, default=False)
