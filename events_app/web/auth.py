"""Who is asking: organisers by session cookie (HTML) or by API token (JSON)."""

from __future__ import annotations

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.accounts.services import AccountService

SESSION_ACCOUNT_KEY = "account_id"


class LoginRequired(NotAuthorizedException):
    """Raised for HTML pages; the error handler turns it into a redirect to the login form."""


def requires_login(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    # Cheap guard: no database work. The account itself is loaded (and re-checked) by provide_organiser.
    if not connection.session.get(SESSION_ACCOUNT_KEY):
        raise LoginRequired("Please log in.")


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def provide_organiser(request: Request, db_session: AsyncSession) -> Account:
    """The logged-in organiser of an HTML request."""
    account_id = request.session.get(SESSION_ACCOUNT_KEY)
    account = await db_session.get(Account, account_id) if account_id else None
    if account is None or not account.is_active:
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
