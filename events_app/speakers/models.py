from __future__ import annotations

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from events_app.db import Base


class Person(Base):
    """One record per human across all events (speakers, lecturers, chairpersons)."""

    __tablename__ = "person"

    full_name: Mapped[str] = mapped_column(String(200), index=True)
    honorific: Mapped[str] = mapped_column(String(50), default="")
    affiliation: Mapped[str] = mapped_column(String(300), default="")
    # ISO 3166-1 alpha-2, upper case; empty when unknown.
    country: Mapped[str] = mapped_column(String(2), default="")
    # Private: shown to organisers only, never on public pages or the anonymous API.
    email: Mapped[str] = mapped_column(String(254), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    homepage: Mapped[str] = mapped_column(String(500), default="")
    orcid: Mapped[str] = mapped_column(String(19), default="")

    @property
    def display_name(self) -> str:
        return f"{self.honorific} {self.full_name}".strip() if self.honorific else self.full_name
