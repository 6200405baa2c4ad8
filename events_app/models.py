"""The models registry: importing this module maps every domain's tables, so ``metadata`` is complete (for
Alembic, create_all in tests, and mappers that name each other by string). db.py knows no domain; this does."""

from __future__ import annotations

from events_app.accounts import models as accounts
from events_app.calendar import models as calendar
from events_app.calls import models as calls
from events_app.db import metadata
from events_app.documents import models as documents
from events_app.events import models as events
from events_app.notify import models as notify
from events_app.registration import models as registration
from events_app.schedule import models as schedule
from events_app.speakers import models as speakers

DOMAIN_MODELS = (accounts, calendar, calls, events, notify, registration, schedule, speakers, documents)

__all__ = ["DOMAIN_MODELS", "metadata"]
