"""`events-app`: database, demo data, organiser accounts, API tokens, serving."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click
from litestar.plugins import CLIPluginProtocol
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from events_app.core.secret_key import (
    InsecureSecretKey,
    check_secret_key,
    development_secret_key,
    is_loopback,
)
from events_app.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from alembic.config import Config

T = TypeVar("T")

DEVELOPMENT_KEY_FILE = PROJECT_ROOT / ".secret_key"


def require_secret_key() -> Settings:
    """The settings, or a clear refusal when EVENTS_SECRET_KEY is unset, a known default or too short."""
    settings = Settings.from_env()
    try:
        check_secret_key(settings.secret_key)
    except InsecureSecretKey as exc:
        raise click.ClickException(str(exc)) from None
    return settings


def run_in_session(work: Callable[[AsyncSession], Awaitable[T]], settings: Settings | None = None) -> T:
    """Runs `work` in one transaction against the configured database."""
    from events_app.core.crypto import configure_data_keys
    from events_app.db import create_engine
    settings = settings or Settings.from_env()
    configure_data_keys(settings.data_key, settings.data_keys_old)

    async def runner() -> T:
        engine = create_engine(settings, pooled=False)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(runner())


def alembic_config(database_url: str | None = None) -> Config:
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


@click.group(help="Event manager for an international research programme.")
def main() -> None:
    from events_app.routes import build_route_table
    from events_app.web.urls import use_routes
    from events_app.wiring import wire

    wire()  # every command that changes data sends the same domain events as the app
    # Commands build no app; what they send (the worker's e-mails) links by route name all the same.
    use_routes(build_route_table(Settings.from_env()))


@main.group(help="Database migrations (Alembic).")
def db() -> None:
    pass


@db.command("upgrade", help="Apply all migrations (to REVISION, default head).")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(), revision)


@db.command("downgrade", help="Revert migrations down to REVISION (e.g. base).")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(), revision)


@db.command("current", help="Show the applied revision.")
def db_current() -> None:
    from alembic import command

    command.current(alembic_config())


@main.command("new-data-key", help="Print a new random key for EVENTS_DATA_KEY (encrypts personal data at rest).")
def new_data_key() -> None:
    from events_app.core.crypto import new_data_key as make_key

    click.echo(make_key())


@main.command("rotate-data-key", help="Re-encrypt every encrypted value with EVENTS_DATA_KEY (after moving the "
                                      "previous key to EVENTS_DATA_KEYS_OLD).")
def rotate_data_key() -> None:
    from events_app.core.crypto import reencrypt_all
    from events_app.models import metadata

    count = run_in_session(lambda session: reencrypt_all(session, metadata))
    click.echo(f"{count} values re-encrypted with the current key; EVENTS_DATA_KEYS_OLD may now be emptied.")


@main.command(help="Load demo data (an international programme). With --if-empty, only into an empty database.")
@click.option("--if-empty", is_flag=True, help="Do nothing when events already exist.")
def demo(if_empty: bool) -> None:
    from events_app.demo import load_demo_data

    settings = Settings.from_env()
    loaded = run_in_session(lambda session: load_demo_data(session, only_if_empty=if_empty, settings=settings),
                            settings)
    click.echo("Demo data loaded." if loaded else "Database already has events; demo data not loaded.")


@main.command("create-organiser", help="Create an organiser account. Password from EVENTS_PASSWORD or a prompt.")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Make the account an administrator.")
@click.option("--name", default="", help="Full name.")
def create_organiser(email: str, admin: bool, name: str) -> None:
    from events_app.accounts.models import Role
    from events_app.accounts.services import AccountService
    from events_app.core.validation import Conflict, ValidationFailed

    password = os.environ.get("EVENTS_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )

    async def work(session: AsyncSession) -> Any:
        return await AccountService(session=session).create_account(
            email, password, full_name=name, role=Role.ADMIN if admin else Role.ORGANISER
        )

    try:
        account = run_in_session(work)
    except ValidationFailed as exc:
        raise click.ClickException("; ".join(f"{k}: {v}" for k, v in exc.errors.items())) from exc
    except Conflict as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Created {'administrator' if admin else 'organiser'} {account.email}.")


@main.command("create-token", help="Print a new API token for the account with EMAIL.")
@click.argument("email")
@click.option("--name", default="cli", help="A name to recognise the token by.")
def create_token(email: str, name: str) -> None:
    from events_app.accounts.models import Account
    from events_app.accounts.services import AccountService

    async def work(session: AsyncSession) -> str | None:
        accounts = AccountService(session=session)
        account = await accounts.get_one_or_none(Account.email == email.strip().lower())
        if account is None:
            return None
        return await accounts.create_token(account, name)

    token = run_in_session(work)
    if token is None:
        raise click.ClickException(f"No account with e-mail {email}.")
    click.echo(token)


@main.command(help="Serve the app with uvicorn. Without EVENTS_SECRET_KEY, on a loopback host only, a random "
                   "development key is made once and kept in .secret_key (git-ignored).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option("--reload", is_flag=True)
def run(host: str, port: int, workers: int, reload: bool) -> None:
    import uvicorn

    from events_app.core.log_redaction import uvicorn_log_config

    if not os.environ.get("EVENTS_SECRET_KEY") and is_loopback(host):
        # Only this machine can reach the server, so a key kept in the working copy is enough; the
        # environment passes it on to uvicorn's worker and reload processes.
        key = development_secret_key(DEVELOPMENT_KEY_FILE)
        try:
            check_secret_key(key)
        except InsecureSecretKey:
            raise click.ClickException(
                f"{DEVELOPMENT_KEY_FILE} does not hold a usable key; delete it and a new one is made."
            ) from None
        os.environ["EVENTS_SECRET_KEY"] = key
        click.echo(f"Using the development secret key in {DEVELOPMENT_KEY_FILE} (loopback only).", err=True)
    require_secret_key()
    uvicorn.run(
        "events_app.app:app", host=host, port=port, workers=workers, reload=reload, proxy_headers=True,
        log_level="info", log_config=uvicorn_log_config(),
    )


@main.command(help="Deliver queued e-mail over SMTP (EVENTS_SMTP_URL) and pass on expired seat offers, "
                   "until stopped.")
@click.option("--once", is_flag=True, help="One delivery pass, then exit.")
def worker(once: bool) -> None:
    import logging

    from events_app.db import create_engine
    from events_app.notify.worker import deliver_due, run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = require_secret_key()
    if once:
        async def one_pass() -> int:
            engine = create_engine(settings, pooled=False)
            try:
                return await deliver_due(engine, settings)
            finally:
                await engine.dispose()

        click.echo(f"Sent {asyncio.run(one_pass())} message(s).")
        return
    asyncio.run(run_worker(settings))


@main.command("expire-offers", help="Pass seats whose offer deadline has passed to the next person now "
                                   "(the worker does this every minute).")
def expire_offers() -> None:
    from events_app.registration.services import RegistrationService

    settings = Settings.from_env()

    async def work(session: AsyncSession) -> int:
        return await RegistrationService(session, settings).expire_due_offers()

    click.echo(f"Expired offers in {run_in_session(work, settings)} event(s).")


class EventsCLIPlugin(CLIPluginProtocol):
    """Also offers these commands under Litestar's own `litestar` CLI."""

    def on_cli_init(self, cli: click.Group) -> None:
        for command in main.commands.values():
            if command.name not in cli.commands:
                cli.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    main()
