"""Who is asking: organisers by session cookie (HTML) or by API token (JSON)."""

from __future__ import annotations

import time

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.accounts.services import AccountService

SESSION_ACCOUNT_KEY = "account_id"
SESSION_VERSION_KEY = "session_version"
SESSION_LOGIN_KEY = "login_at"
# A session ends 14 days after login at the latest, however often it is used (the cookie's own expiry is
# renewed on every response, so alone it would let a copied cookie live for ever).
SESSION_MAX_AGE = 14 * 24 * 3600
_ORGANISER_STATE_KEY = "events_organiser"


class LoginRequired(NotAuthorizedException):
    """Raised for HTML pages; the error handler turns it into a redirect to the login form."""


def start_session(request: Request, account: Account) -> None:
    """A fresh session for ``account`` (never extends one from before: no fixation)."""
    request.clear_session()
    request.set_session({
        SESSION_ACCOUNT_KEY: account.id,
        SESSION_VERSION_KEY: account.session_version,
        SESSION_LOGIN_KEY: int(time.time()),
    })


async def session_account(connection: ASGIConnection, db_session: AsyncSession) -> Account | None:
    """The account the session cookie speaks for, if that session is still valid.

    Valid means: the account exists and is active, the session was started under the account's current
    session version (logout, password change, deactivation and "log out everywhere" bump it), and it is
    younger than SESSION_MAX_AGE. One primary-key lookup, cached for the rest of the request."""
    state = connection.scope.setdefault("state", {})
    if _ORGANISER_STATE_KEY in state:
        return state[_ORGANISER_STATE_KEY]
    session = connection.session if "session" in connection.scope else {}
    account_id = session.get(SESSION_ACCOUNT_KEY)
    account = None
    if isinstance(account_id, int):
        account = await db_session.get(Account, account_id)
        login_at = session.get(SESSION_LOGIN_KEY)
        if (
            account is None
            or not account.is_active
            or session.get(SESSION_VERSION_KEY) != account.session_version
            or not isinstance(login_at, int)
            or time.time() - login_at > SESSION_MAX_AGE
        ):
            account = None
    state[_ORGANISER_STATE_KEY] = account
    return account


async def requires_login(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    # The guard checks the session against the database, so no handler behind it can forget to; the
    # request's own database session is used, and provide_organiser reuses the account it loaded.
    db_session = connection.app.state.db_config.provide_session(connection.app.state, connection.scope)
    if await session_account(connection, db_session) is None:
        if connection.scope.get("session"):
            connection.clear_session()
        raise LoginRequired("Please log in.")


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def provide_organiser(request: Request, db_session: AsyncSession) -> Account:
    """The logged-in organiser of an HTML request."""
    account = await session_account(request, db_session)
    if account is None:
        request.clear_session()
        raise LoginRequired("Please log in.")
    return account


async def optional_organiser(request: Request, db_session: AsyncSession) -> Account | None:
    """The logged-in organiser on a public page that shows them a little more (e.g. a photo not yet public)."""
    account_id = request.session.get(SESSION_ACCOUNT_KEY) if "session" in request.scope else None
    account = await db_session.get(Account, account_id) if account_id else None
    return account if account is not None and account.is_active else None


async def provide_optional_api_account(request: Request, db_session: AsyncSession) -> Account | None:
    """The token's owner, or None for anonymous API reads. A wrong token is an error, not anonymity."""
    token = bearer_token(request)
    if token is None:
        return None
    account = await AccountService(session=db_session).account_for_token(token)
    if account is None:
        raise NotAuthorizedException("Invalid or revoked API token.")
    return account


async def provide_api_account(request: Request, db_session: AsyncSession) -> Account:
    account = await provide_optional_api_account(request, db_session)
    if account is None:
        raise NotAuthorizedException("This endpoint needs an API token: 'Authorization: Bearer <token>'.")
    return account


def require_admin(account: Account) -> None:
    if not account.is_admin:
        raise PermissionDeniedException("Only administrators may do this.")
