from __future__ import annotations

import datetime as dt
import enum

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from events_app.db import Base


class Role(str, enum.Enum):
    ADMIN = "admin"
    ORGANISER = "organiser"


class Account(Base):
    __tablename__ = "account"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]),
        default=Role.ORGANISER,
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of every session cookie; bumping it ends all of the account's sessions (web/auth.py).
    session_version: Mapped[int] = mapped_column(Integer, default=0)

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="account", cascade="all, delete-orphan", lazy="noload"
    )

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class ApiToken(Base):
    __tablename__ = "api_token"

    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    # SHA-256 of the token: tokens are long random strings, so a fast hash is enough and lookups stay O(1).
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # First characters, shown on the account page so people can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)

    account: Mapped[Account] = relationship(back_populates="tokens", lazy="joined")
