"""Organiser accounts, passwords (argon2) and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy import select

from events_app.accounts.models import Account, ApiToken, Role
from events_app.accounts.passwords import (
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from events_app.core.i18n import gettext as _
from events_app.core.validation import Conflict, Errors, clean_email, clean_text

TOKEN_PREFIX = "evt_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountService(SQLAlchemyAsyncRepositoryService[Account]):
    class Repo(SQLAlchemyAsyncRepository[Account]):
        model_type = Account

    repository_type = Repo

    async def create_account(
        self, email: str, password: str, *, full_name: str = "", role: Role = Role.ORGANISER
    ) -> Account:
        errors = Errors()
        email = clean_email(errors, "email", email, required=True).lower()
        full_name = clean_text(errors, "full_name", full_name, max_length=200, multiline=False)
        if problem := password_problem(password, email):
            errors.add("password", problem)
        errors.raise_if_any()
        if await self.get_one_or_none(Account.email == email):
            raise Conflict("email", _("An account with this e-mail already exists."))
        return await self.create(
            Account(email=email, full_name=full_name, password_hash=await hash_password(password), role=role)
        )

    async def all_accounts(self) -> list[Account]:
        return list(await self.repository.session.scalars(select(Account).order_by(Account.email)))

    async def authenticate(self, email: str, password: str) -> Account | None:
        account = await self.get_one_or_none(Account.email == (email or "").strip().lower())
        if account is None or not account.is_active:
            await verify_password(None, password)
            return None
        if not await verify_password(account.password_hash, password):
            return None
        if needs_rehash(account.password_hash):
            account.password_hash = await hash_password(password)
        return account

    async def set_password(self, account: Account, password: str) -> None:
        """A new password ends every session of the account (the caller starts a new one for its own)."""
        if problem := password_problem(password, account.email):
            errors = Errors()
            errors.add("password", problem)
            errors.raise_if_any()
        account.password_hash = await hash_password(password)
        await self.end_sessions(account)

    async def end_sessions(self, account: Account) -> None:
        """Logs the account out everywhere: every session cookie made before now stops working."""
        account.session_version += 1
        await self.repository.session.flush()

    async def set_active(self, account: Account, active: bool) -> None:
        if account.is_active and not active:
            await self.end_sessions(account)  # so reactivating later does not bring old cookies back
        account.is_active = active
        await self.repository.session.flush()

    async def create_token(self, account: Account, name: str = "") -> str:
        """Returns the token itself, shown once; only its hash is stored."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        session = self.repository.session
        session.add(
            ApiToken(account_id=account.id, name=name.strip()[:100], token_hash=hash_token(token), prefix=token[:12])
        )
        await session.flush()
        return token

    async def account_for_token(self, token: str) -> Account | None:
        session = self.repository.session
        api_token = await session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
        if api_token is None or not api_token.account.is_active:
            return None
        now = dt.datetime.now(dt.UTC)
        # Write at most once a minute, so busy API clients don't turn every read into a write.
        if api_token.last_used_at is None or now - api_token.last_used_at > dt.timedelta(minutes=1):
            api_token.last_used_at = now
        return api_token.account

    async def list_tokens(self, account: Account) -> list[ApiToken]:
        session = self.repository.session
        result = await session.scalars(
            select(ApiToken).where(ApiToken.account_id == account.id).order_by(ApiToken.created_at)
        )
        return list(result)

    async def revoke_token(self, account: Account, token_id: int) -> bool:
        session = self.repository.session
        api_token = await session.get(ApiToken, token_id)
        if api_token is None or api_token.account_id != account.id:
            return False
        await session.delete(api_token)
        await session.flush()
        return True
