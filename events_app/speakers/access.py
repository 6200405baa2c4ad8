"""Who may see and change a person's record: each answer in one place, for HTML pages, the API, feeds and photos.

One Person record serves every event the human takes part in, so rights over it come from those events:

- **Public**: someone who speaks at, or chairs a session of, a published or cancelled event. Only they have a
  public page, photo, calendar feed and anonymous API record; everyone else answers 404, as if unknown.
- **Takes part in** an event: invited to it, speaking at one of its talks, or chairing one of its sessions.
- **May edit** (and so see the private e-mail address): administrators; managers of an event the person
  takes part in; and the organiser who created the record, while it takes part in no event yet.
- **May change the e-mail address**: the address decides where the private links of later invitations go
  for *every* event of the person, so only administrators, or an organiser who manages all of those events,
  may change it. (The links already sent cannot be redirected at all: each invitation keeps its own address.)
- **May merge** two records: edit rights over both; and where the merge would change the address one of them
  is reached at, the right to change that address.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    and_,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
    union,
)

from events_app.core.i18n import gettext as _
from events_app.core.validation import ValidationFailed
from events_app.events.access import events_managed_by
from events_app.events.models import Event
from events_app.schedule.models import ScheduleSession, Talk, TalkSpeaker, session_chair
from events_app.speakers.models import Invitation, Person

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from events_app.accounts.models import Account


# ---- who is public ------------------------------------------------------------------------------------------
def public_people() -> ColumnElement[bool]:
    """A condition on Person: on the programme (speaker or chair) of an event that is not a draft."""
    speaks = exists().where(
        TalkSpeaker.person_id == Person.id, Talk.id == TalkSpeaker.talk_id, Event.id == Talk.event_id,
        Event.is_public,
    )
    chairs = exists().where(
        session_chair.c.person_id == Person.id, ScheduleSession.id == session_chair.c.session_id,
        Event.id == ScheduleSession.event_id, Event.is_public,
    )
    return or_(speaks, chairs)


async def is_public_person(session: AsyncSession, person_id: int) -> bool:
    return bool(await session.scalar(select(exists().where(Person.id == person_id, public_people()))))


async def public_person(session: AsyncSession, person_id: int) -> Person:
    """The person, if public; otherwise 404 (invited speakers become public when they accept, not before)."""
    person = await session.get(Person, person_id)
    if person is None or not await is_public_person(session, person_id):
        raise NotFoundException("No such speaker.")
    return person


# ---- which events a person takes part in --------------------------------------------------------------------
def _events_of_person(person_id: ColumnElement | int) -> CompoundSelect:
    return union(
        select(Invitation.event_id.label("event_id")).where(Invitation.person_id == person_id),
        select(Talk.event_id).join(TalkSpeaker, TalkSpeaker.talk_id == Talk.id).where(TalkSpeaker.person_id == person_id),
        select(ScheduleSession.event_id).join(session_chair, session_chair.c.session_id == ScheduleSession.id)
        .where(session_chair.c.person_id == person_id),
    )


async def events_person_takes_part_in(session: AsyncSession, person_id: int) -> set[int]:
    return set(await session.scalars(select(_events_of_person(person_id).subquery().c.event_id)))


def _takes_part_in_managed_event(account: Account) -> ColumnElement[bool]:
    managed = select(Event.id).where(events_managed_by(account))
    return or_(
        exists().where(Invitation.person_id == Person.id, Invitation.event_id.in_(managed)),
        exists().where(TalkSpeaker.person_id == Person.id, Talk.id == TalkSpeaker.talk_id, Talk.event_id.in_(managed)),
        exists().where(session_chair.c.person_id == Person.id, ScheduleSession.id == session_chair.c.session_id,
                       ScheduleSession.event_id.in_(managed)),
    )


def _takes_part_in_nothing() -> ColumnElement[bool]:
    return and_(
        not_(exists().where(Invitation.person_id == Person.id)),
        not_(exists().where(TalkSpeaker.person_id == Person.id)),
        not_(exists().where(session_chair.c.person_id == Person.id)),
    )


# ---- who may edit, and see the address ----------------------------------------------------------------------
def people_editable_by(account: Account) -> ColumnElement[bool]:
    """A condition on Person: the records this account may edit, whose e-mail address it may see."""
    if account.is_admin:
        return true()
    if account.id is None:
        return false()
    return or_(
        _takes_part_in_managed_event(account),
        and_(Person.created_by_id == account.id, _takes_part_in_nothing()),
    )


async def may_edit_person(session: AsyncSession, account: Account | None, person: Person) -> bool:
    if account is None:
        return False
    if account.is_admin:
        return True
    return bool(await session.scalar(select(exists().where(Person.id == person.id, people_editable_by(account)))))


async def ensure_may_edit_person(session: AsyncSession, account: Account, person: Person) -> None:
    # Names of all records are visible to organisers (to invite someone again), so a refusal is 403, not 404.
    if not await may_edit_person(session, account, person):
        raise PermissionDeniedException("Only administrators and the organisers of this speaker's events may "
                                        "change this record.")


async def emails_visible_to(session: AsyncSession, account: Account | None, people: Iterable[Person]) -> set[int]:
    """The ids among `people` whose e-mail address this account may see: one query for a whole list."""
    ids = {p.id for p in people}
    if account is None or not ids:
        return set()
    if account.is_admin:
        return ids
    return set(await session.scalars(select(Person.id).where(Person.id.in_(ids), people_editable_by(account))))


# ---- who may change the address -----------------------------------------------------------------------------
async def may_change_email(session: AsyncSession, account: Account | None, person: Person) -> bool:
    if account is None:
        return False
    if account.is_admin:
        return True
    events = await events_person_takes_part_in(session, person.id)
    if not events:
        return person.created_by_id == account.id
    unmanaged = await session.scalar(
        select(func.count()).select_from(Event).where(Event.id.in_(events), not_(events_managed_by(account)))
    )
    return not unmanaged


def email_change_refused() -> ValidationFailed:
    return ValidationFailed({"email": _(
        "This speaker also takes part in events you do not manage, so only an administrator can change the "
        "address. You can still invite them at another address: that invitation goes there."
    )})


async def ensure_may_set_email(session: AsyncSession, account: Account, person: Person, email: str) -> None:
    """Refuses (as a message on the e-mail field) to change the address without the right to."""
    if email.strip().lower() != (person.email or "").strip().lower() and not await may_change_email(
        session, account, person
    ):
        raise email_change_refused()


# ---- merging ------------------------------------------------------------------------------------------------
async def ensure_may_merge(session: AsyncSession, account: Account, keep: Person, drop: Person) -> None:
    await ensure_may_edit_person(session, account, keep)
    await ensure_may_edit_person(session, account, drop)
    keep_email, drop_email = (keep.email or "").lower(), (drop.email or "").lower()
    if drop_email and not keep_email:  # the kept record takes the dropped one's address
        await ensure_may_set_email(session, account, keep, drop.email)
    elif drop_email and keep_email and drop_email != keep_email:  # the dropped one's person gets keep's address
        await ensure_may_set_email(session, account, drop, keep.email)
