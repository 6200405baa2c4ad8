"""Login, logout, the organiser's own account (password, API tokens) and, for admins, all accounts."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account, Role
from events_app.accounts.services import AccountService
from events_app.core.i18n import gettext as _
from events_app.core.rate_limits import rate_limit
from events_app.core.validation import Conflict, ValidationFailed
from events_app.web.auth import (
    provide_organiser,
    require_admin,
    requires_login,
    session_account,
    start_session,
)
from events_app.web.forms import form_page, read_form
from events_app.web.urls import redirect_to

# Per client address; counted in Redis across processes when EVENTS_REDIS_URL is set, else per process.
# Counters are a cache that is safe to lose.
login_rate_limit = rate_limit(("minute", 20), store="login_rate_limit")


async def provide_account_service(db_session: AsyncSession) -> AccountService:
    return AccountService(session=db_session)


def safe_next(target: str | None) -> str:
    # Only local paths: never redirect a fresh login to another site.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/organiser"


class LoginPages(Controller):
    include_in_schema = False
    dependencies = {"accounts": Provide(provide_account_service)}

    @get("/login", name="login")
    async def login_form(self, next: str | None = None) -> Template:
        return form_page("accounts/login.html", values={"next": safe_next(next)})

    @post("/login", middleware=[login_rate_limit.middleware], name="login_submit")
    async def login(self, request: Request, accounts: AccountService) -> Template | Redirect:
        values = await read_form(request)
        account = await accounts.authenticate(values.get("email", ""), values.get("password", ""))
        if account is None:
            values.pop("password", None)
            return form_page(
                "accounts/login.html",
                errors={"password": _("Wrong e-mail or password.")},
                values=values,
                status=401,
            )
        start_session(request, account)  # a fresh session on login: no fixation
        return Redirect(path=safe_next(values.get("next")))

    @post("/logout", name="logout")
    async def logout(self, request: Request, accounts: AccountService, db_session: AsyncSession) -> Redirect:
        # A copy of the cookie must not outlive the logout: end every session of the account. A cookie that is
        # no longer valid changes nothing.
        account = await session_account(request, db_session)
        if account is not None:
            await accounts.end_sessions(account)
        request.clear_session()
        return redirect_to("home")


class AccountPages(Controller):
    path = "/organiser/account"
    include_in_schema = False
    guards = [requires_login]
    dependencies = {"accounts": Provide(provide_account_service), "organiser": Provide(provide_organiser)}

    async def _page(self, accounts: AccountService, organiser: Account, *, new_token: str | None = None,
                    errors: dict | None = None) -> Template:
        return form_page(
            "accounts/account.html",
            errors=errors,
            organiser=organiser,
            tokens=await accounts.list_tokens(organiser),
            new_token=new_token,
            values={},
        )

    @get("/", name="account")
    async def account_page(self, accounts: AccountService, organiser: Account) -> Template:
        return await self._page(accounts, organiser)

    @post("/tokens", name="token_create")
    async def create_token(self, request: Request, accounts: AccountService, organiser: Account) -> Template:
        form = await read_form(request)
        token = await accounts.create_token(organiser, form.get("name", ""))
        # Shown once, on this response only; it is stored hashed.
        return await self._page(accounts, organiser, new_token=token)

    @post("/tokens/{token_id:int}/revoke", name="token_revoke")
    async def revoke_token(self, request: Request, token_id: int, accounts: AccountService, organiser: Account) -> Redirect:
        if await accounts.revoke_token(organiser, token_id):
            flash(request, _("Token revoked."), "success")
        return redirect_to("account")

    @post("/password", name="change_password")
    async def change_password(self, request: Request, accounts: AccountService, organiser: Account) -> Template | Redirect:
        form = await read_form(request)
        if await accounts.authenticate(organiser.email, form.get("current_password", "")) is None:
            return await self._page(accounts, organiser, errors={"current_password": _("Wrong password.")})
        try:
            await accounts.set_password(organiser, form.get("new_password", ""))
        except ValidationFailed as exc:
            return await self._page(accounts, organiser, errors={"new_password": exc.errors["password"]})
        start_session(request, organiser)  # every other session has ended; this one goes on
        flash(request, _("Password changed. You are logged out on every other device."), "success")
        return redirect_to("account")

    @post("/sessions/end", name="account_other_sessions_end")
    async def end_other_sessions(self, request: Request, accounts: AccountService, organiser: Account) -> Redirect:
        await accounts.end_sessions(organiser)
        start_session(request, organiser)
        flash(request, _("You are logged out on every other device."), "success")
        return redirect_to("account")


class AdminAccountPages(Controller):
    path = "/organiser/accounts"
    include_in_schema = False
    guards = [requires_login]
    dependencies = {"accounts": Provide(provide_account_service), "organiser": Provide(provide_organiser)}

    @get("/", name="accounts")
    async def list_accounts(self, accounts: AccountService, organiser: Account) -> Template:
        require_admin(organiser)
        return form_page("accounts/list.html", accounts=await accounts.all_accounts(), values={})

    @post("/", name="account_create")
    async def create_account(self, request: Request, accounts: AccountService, organiser: Account) -> Template | Redirect:
        require_admin(organiser)
        form = await read_form(request)
        role = Role.ADMIN if form.get("role") == "admin" else Role.ORGANISER
        try:
            await accounts.create_account(form.get("email", ""), form.get("password", ""),
                                          full_name=form.get("full_name", ""), role=role)
        except ValidationFailed as exc:
            form.pop("password", None)
            return form_page("accounts/list.html", errors=exc.errors, accounts=await accounts.all_accounts(), values=form)
        except Conflict as exc:
            return form_page("accounts/list.html", errors={exc.field: exc.message},
                             accounts=await accounts.all_accounts(), values=form)
        flash(request, _("Account created."), "success")
        return redirect_to("accounts")

    @post("/{account_id:int}/active", name="account_active")
    async def toggle_active(self, request: Request, account_id: int, accounts: AccountService, organiser: Account) -> Redirect:
        require_admin(organiser)
        account = await accounts.get(account_id)
        if account.id != organiser.id:
            await accounts.set_active(account, not account.is_active)
        return redirect_to("accounts")

    @post("/{account_id:int}/sessions/end", name="account_sessions_end")
    async def end_sessions(self, request: Request, account_id: int, accounts: AccountService,
                           organiser: Account) -> Redirect:
        """An admin's "log out everywhere" (a lost laptop, a shared computer): every session of the account ends,
        the admin's own included when it is their account."""
        require_admin(organiser)
        account = await accounts.get(account_id)
        await accounts.end_sessions(account)
        flash(request, _("%(email)s is logged out everywhere.", email=account.email), "success")
        return redirect_to("accounts")


route_handlers = [LoginPages, AccountPages, AdminAccountPages]
