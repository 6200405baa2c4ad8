"""Delivers the outbox over SMTP with retries and back-off; several workers never send a message twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from events_app.core.i18n import speaking
from events_app.core.periodic import registered_jobs
from events_app.notify.models import OutboxMessage, OutboxStatus
from events_app.notify.services import COMPOSERS, PREPARERS
from events_app.settings import Settings

logger = logging.getLogger("events_app.notify")

MAX_ATTEMPTS = 50  # with the back-off below, about two days of retrying before giving up
MAX_BACKOFF = dt.timedelta(hours=1)


def backoff(attempts: int) -> dt.timedelta:
    return min(dt.timedelta(seconds=15 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


@dataclass(frozen=True)
class SmtpTarget:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool | None

    @classmethod
    def from_url(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        implicit_tls = parts.scheme == "smtps"
        return cls(
            hostname=parts.hostname or "127.0.0.1",
            port=parts.port or (465 if implicit_tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=implicit_tls,
            # None lets aiosmtplib upgrade when the server offers STARTTLS.
            start_tls=True if query.get("starttls") == ["1"] else (False if query.get("starttls") == ["0"] else None),
        )


def smtp_client(target: SmtpTarget) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=target.hostname,
        port=target.port,
        username=target.username,
        password=target.password,
        use_tls=target.use_tls,
        start_tls=target.start_tls,
        timeout=20,
    )


async def compose(session: AsyncSession, settings: Settings, row: OutboxMessage) -> bool:
    """Builds a deferred message into ``row.raw``; False when there is nothing to send (the row is dropped)."""
    payload = row.payload or {}
    with speaking(payload.get("locale")):
        message = await COMPOSERS[row.composer](session, settings, payload)
    if message is None:
        row.status, row.last_error = OutboxStatus.DROPPED, "what this message was about no longer exists"
        row.payload = None
        return False
    row.set_message(message)
    return True


async def deliver_due(engine: AsyncEngine, settings: Settings, *, batch_size: int = 20) -> int:
    """One pass: composes deferred messages, sends due ones, returns how many were sent."""
    from email.utils import parseaddr

    target = SmtpTarget.from_url(settings.smtp_url)
    sender = parseaddr(settings.mail_from)[1] or "events@localhost"
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    sent = 0
    async with sessions() as session, session.begin():
        now = dt.datetime.now(dt.UTC)
        # SKIP LOCKED: rows another worker is sending are invisible here, so nothing goes out twice.
        # (SQLite ignores it; its single writer lock serialises workers instead.)
        rows = list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.id)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
        )
        await _prepare(session, settings, rows)
        await _compose_together(session, settings, rows)
        # One SMTP connection for the whole pass: a TLS handshake and login per message would limit a remote
        # server to a few messages a second.
        async with AsyncExitStack() as connections:
            smtp: aiosmtplib.SMTP | None = None
            for row in rows:
                if row.status != OutboxStatus.PENDING:  # dropped while composing
                    continue
                if row.raw is None:
                    try:
                        async with session.begin_nested():  # a failing composer's queries roll back alone
                            composed = await compose(session, settings, row)
                        if not composed:
                            continue
                    except Exception as exc:  # a bug or bad data must not block the messages behind it
                        logger.exception("outbox message %s could not be composed", row.id)
                        row.attempts += 1
                        row.last_error = f"composing failed: {type(exc).__name__}: {exc}"[:2000]
                        row.next_attempt_at = dt.datetime.now(dt.UTC) + backoff(row.attempts)
                        if row.attempts >= MAX_ATTEMPTS:
                            row.status = OutboxStatus.FAILED
                        continue
                row.attempts += 1
                try:
                    if smtp is None:
                        smtp = smtp_client(target)
                        await smtp.connect()
                        connections.push_async_callback(_quit, smtp)
                    assert row.raw is not None  # composed above, or skipped
                    await smtp.sendmail(sender, [row.to_address], row.raw)
                except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
                    row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    if is_permanent(exc):  # the server answered and refused this message: no use retrying it
                        row.status = OutboxStatus.FAILED
                        logger.error("outbox message %s refused: %s", row.id, row.last_error)
                        continue
                    if row.attempts >= MAX_ATTEMPTS:
                        row.status = OutboxStatus.FAILED
                        logger.error("giving up on outbox message %s: %s", row.id, row.last_error)
                    else:
                        row.next_attempt_at = dt.datetime.now(dt.UTC) + backoff(row.attempts)
                        logger.warning("outbox message %s not sent (attempt %s): %s", row.id, row.attempts,
                                       row.last_error)
                    # The server is likely down: leave the rest for the next pass instead of timing out on each.
                    break
                row.status = OutboxStatus.SENT
                row.sent_at = dt.datetime.now(dt.UTC)
                row.last_error = ""
                sent += 1
    return sent


async def _prepare(session: AsyncSession, settings: Settings, rows: list[OutboxMessage]) -> None:
    """Runs each composer's preparer once for its rows of this pass (see notify.services.Preparer)."""
    for name in sorted({row.composer for row in rows if row.raw is None and row.composer in PREPARERS}):
        payloads = [row.payload or {} for row in rows if row.raw is None and row.composer == name]
        try:
            async with session.begin_nested():
                await PREPARERS[name](session, settings, payloads)
        except Exception:  # the composers then do it message by message
            logger.exception("preparing %s messages failed", name)


async def _compose_together(session: AsyncSession, settings: Settings, rows: list[OutboxMessage]) -> None:
    """Composes the pass's deferred rows in one savepoint: one flush of all the finished messages instead of a
    SAVEPOINT, an UPDATE and a RELEASE for each (the round trips were most of a message's cost). If any composer
    fails, everything it did is undone and the rows are composed again one by one in ``deliver_due``, so only
    the failing message waits."""
    waiting = [row for row in rows if row.raw is None]
    if not waiting:
        return
    try:
        async with session.begin_nested():
            for row in waiting:
                await compose(session, settings, row)
    except Exception:
        # The rollback expired what the savepoint changed; read the rows again before the one-by-one pass.
        session.expire_all()
        for row in rows:
            await session.refresh(row)


def is_permanent(exc: BaseException) -> bool:
    """A 5xx answer (RFC 5321 4.2.1): the server will refuse the same message again; 4xx and lost connections
    are worth retrying."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(500 <= r.code < 600 for r in exc.recipients)
    return isinstance(exc, aiosmtplib.SMTPResponseException) and 500 <= exc.code < 600


async def _quit(smtp: aiosmtplib.SMTP) -> None:
    with suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
        if smtp.is_connected:
            await smtp.quit()


async def housekeeping(engine: AsyncEngine, settings: Settings) -> dict[str, Any]:
    """The worker's periodic chores besides mail, registered by the domains (events_app.wiring): e.g. seat
    offers past their deadline pass to the next person, finished mail older than the retention is purged. Each
    job runs in its own transaction; safe with several workers (each job locks what it changes, and doing a
    chore twice changes nothing twice). Returns each job's result by name."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    results: dict[str, Any] = {}
    for job in registered_jobs():
        async with sessions() as session, session.begin():
            results[job.name] = await job.run(session, settings)
    return results


async def run_worker(settings: Settings, *, poll_seconds: float = 2.0, housekeeping_seconds: float = 60.0,
                     stop: asyncio.Event | None = None) -> None:
    from events_app.core.crypto import configure_data_keys
    from events_app.db import create_engine

    configure_data_keys(settings.data_key, settings.data_keys_old)
    engine = create_engine(settings)
    stop = stop or asyncio.Event()
    logger.info("outbox worker started (SMTP %s)", SmtpTarget.from_url(settings.smtp_url).hostname)
    next_housekeeping = 0.0
    try:
        while not stop.is_set():
            if time.monotonic() >= next_housekeeping:
                next_housekeeping = time.monotonic() + housekeeping_seconds
                try:
                    await housekeeping(engine, settings)
                except Exception:
                    logger.exception("housekeeping failed")
            try:
                sent = await deliver_due(engine, settings)
            except Exception:  # keep the loop alive across database hiccups
                logger.exception("outbox pass failed")
                sent = 0
            if sent == 0:
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
    finally:
        await engine.dispose()
