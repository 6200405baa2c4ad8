"""Who may see and change events and series: each answer in one place, for HTML pages, the API and feeds alike.

- An event is managed by its managers and by administrators. Everyone may see a published or cancelled
  event; a draft only those who manage it. Whoever may not see an event gets the same 404 as for an
  address that does not exist, so drafts cannot be discovered by guessing slugs; whoever may see it but
  not manage it gets 403.
- A series is edited by administrators, by the organiser who created it, and by the managers of an event
  in it. Putting an event into a series needs the same right: otherwise joining a series with an event of
  one's own would be a way to gain the right to rename it (its title is printed on every event in it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy import ColumnElement, exists, false, or_, select, true

from events_app.events.models import Event, Series, event_managers

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from events_app.accounts.models import Account


# ---- events -----------------------------------------------------------------------------------------------------
def may_manage_event(account: Account | None, event: Event) -> bool:
    if account is None:
        return False
    return account.is_admin or any(m.id == account.id for m in event.managers)


def may_see_event(account: Account | None, event: Event) -> bool:
    return event.is_public or may_manage_event(account, event)


def ensure_may_see_event(account: Account | None, event: Event) -> None:
    if not may_see_event(account, event):
        raise NotFoundException("No such event.")


def ensure_may_manage_event(account: Account | None, event: Event) -> None:
    """404 for whoever may not see the event (as for an unknown slug), 403 for whoever may only look."""
    ensure_may_see_event(account, event)
    if not may_manage_event(account, event):
        raise PermissionDeniedException("You are not a manager of this event.")


def events_managed_by(account: Account) -> ColumnElement[bool]:
    """The same rule as may_manage_event, as a condition on Event for queries."""
    if account.is_admin:
        return true()
    return exists().where(event_managers.c.event_id == Event.id, event_managers.c.account_id == account.id)


def events_visible_to(account: Account | None) -> ColumnElement[bool]:
    """The same rule as may_see_event, as a condition on Event for queries."""
    public = cast("ColumnElement[bool]", Event.is_public)  # the hybrid's SQL side
    return public if account is None else or_(public, events_managed_by(account))


# ---- series -----------------------------------------------------------------------------------------------------
def series_editable_by(account: Account) -> ColumnElement[bool]:
    """A condition on Series: the series this account may edit (and put events into)."""
    if account.is_admin:
        return true()
    if account.id is None:
        return false()
    in_it_and_managed = exists().where(
        Event.series_id == Series.id,
        exists().where(event_managers.c.event_id == Event.id, event_managers.c.account_id == account.id),
    )
    return or_(Series.created_by_id == account.id, in_it_and_managed)


async def may_edit_series(session: AsyncSession, account: Account, series: Series) -> bool:
    if account.is_admin or series.created_by_id == account.id:
        return True
    return bool(await session.scalar(select(exists().where(Series.id == series.id, series_editable_by(account)))))


async def ensure_may_edit_series(session: AsyncSession, account: Account, series: Series) -> None:
    # Series are public (their page lists their events), so refusing is 403, not 404.
    if not await may_edit_series(session, account, series):
        raise PermissionDeniedException("Only administrators, the series' creator and the organisers of its "
                                        "events may change it.")
