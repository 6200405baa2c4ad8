"""Who may read the letter data (passport name and number, nationality, date of birth) and act on documents.

One rule for the organisers' pages, the API and the downloads: the event's managers and administrators
(events/access.py), nobody else. Whoever may not see the event gets 404, whoever may see but not manage it 403.
"""

from __future__ import annotations

from events_app.accounts.models import Account
from events_app.events.access import ensure_may_manage_event, may_manage_event
from events_app.events.models import Event


def may_read_letter_data(account: Account | None, event: Event) -> bool:
    return may_manage_event(account, event)


def ensure_may_handle_documents(account: Account | None, event: Event) -> None:
    ensure_may_manage_event(account, event)
