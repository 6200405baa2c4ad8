"""RegistrationService: one facade over the registration rules, split by concern into
questions.py, seats.py (settings, availability, group commit), waitlist.py, links.py (private links,
personal feeds), reports.py, checkin.py and receivers.py (reactions to other domains). Controllers, the API,
the CLI and tests use this class alone.

Who commits: in a request, Advanced Alchemy's before-send handler (autocommit_include_redirects); the service
only flushes. The one exception is the group commit in seats.py (register_and_commit), which commits the
decisions of several waiting requests together; see docs/architecture.md."""

from __future__ import annotations

from typing import Any

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.registration.checkin import CheckInRules
from events_app.registration.models import Registration
from events_app.registration.reports import ReportRules
from events_app.registration.seats import SeatRules
from events_app.settings import Settings


class RegistrationService(SeatRules, ReportRules, CheckInRules, SQLAlchemyAsyncRepositoryService[Registration]):
    class Repo(SQLAlchemyAsyncRepository[Registration]):
        model_type = Registration

    repository_type = Repo

    def __init__(self, session: AsyncSession, settings: Settings, **kwargs: Any) -> None:
        super().__init__(session=session, **kwargs)
        self.settings = settings
