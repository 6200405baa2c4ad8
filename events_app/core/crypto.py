"""Personal data of the highest class (passport numbers, dates of birth) encrypted at rest.

A column declared ``EncryptedText`` holds a Fernet token (AES-128-CBC with HMAC-SHA256, a random IV per value)
instead of the text: a database dump, a backup or a replica shows nothing readable, and a changed byte makes
the value unreadable instead of silently wrong. The key comes from the environment (``EVENTS_DATA_KEY``), never
from the database, and is a random 32-byte Fernet key, not a passphrase, so it cannot be weak by choice.

Rotation: put the new key in ``EVENTS_DATA_KEY`` and the old ones in ``EVENTS_DATA_KEYS_OLD``; values written
with any of them are read, new values are written with the new one, and ``events-app rotate-data-key``
re-encrypts every stored value so the old keys can then be dropped.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import MetaData, Text, select, type_coerce, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeDecorator


class DataKeyError(RuntimeError):
    """The data key is missing, malformed, weak, or does not open the stored data."""


def new_data_key() -> str:
    return Fernet.generate_key().decode("ascii")


def check_data_key(key: str, name: str = "EVENTS_DATA_KEY") -> Fernet:
    try:
        raw = base64.urlsafe_b64decode(key.strip().encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raw = b""
    if len(raw) != 32:
        raise DataKeyError(f"{name} must be a Fernet key: 32 random bytes, URL-safe base64 (44 characters); "
                           "make one with `events-app new-data-key`.")
    # Random bytes have ~30 distinct values in 32; a key with few is a placeholder (zeros, a repeated word).
    if len(set(raw)) < 16:
        raise DataKeyError(f"{name} is not random enough; make one with `events-app new-data-key`.")
    return Fernet(key.strip().encode("ascii"))


class DataKeys:
    """The process's keys: the current one encrypts; it and the old ones decrypt."""

    def __init__(self, current: str, old: Sequence[str] = ()) -> None:
        fernets = [check_data_key(current)] + [check_data_key(k, "EVENTS_DATA_KEYS_OLD") for k in old if k.strip()]
        self._keys = MultiFernet(fernets)

    def encrypt(self, text: str) -> str:
        return self._keys.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._keys.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise DataKeyError("An encrypted value cannot be read with EVENTS_DATA_KEY or EVENTS_DATA_KEYS_OLD "
                               "(a wrong key, or a value altered in the database).") from exc

    def rotate(self, token: str) -> str:
        return self._keys.rotate(token.encode("ascii")).decode("ascii")


_KEYS: DataKeys | None = None


def configure_data_keys(current: str, old: Iterable[str] = ()) -> None:
    """Called once at start-up (app, worker, CLI) with the settings' keys; a bad key stops the start."""
    global _KEYS
    _KEYS = DataKeys(current, tuple(old)) if current.strip() else None


def data_keys() -> DataKeys:
    if _KEYS is None:
        raise DataKeyError("EVENTS_DATA_KEY is not set, so personal data that must be encrypted can be neither "
                           "stored nor read.")
    return _KEYS


class EncryptedText(TypeDecorator):
    """Text that the database only ever sees encrypted; None stays NULL (whether a value exists is not secret)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else data_keys().encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else data_keys().decrypt(value)


def encrypted_columns(metadata: MetaData) -> list:
    return [column for table in metadata.sorted_tables for column in table.columns
            if isinstance(column.type, EncryptedText)]


async def ensure_data_key_opens_stored_data(session: AsyncSession, metadata: MetaData) -> None:
    """At start-up: if any encrypted value is stored, the configured keys must read it (else refuse to start)."""
    for column in encrypted_columns(metadata):
        stored = await session.scalar(select(type_coerce(column, Text)).where(column.is_not(None)).limit(1))
        if stored is not None:
            data_keys().decrypt(stored)


async def reencrypt_all(session: AsyncSession, metadata: MetaData) -> int:
    """Re-encrypts every stored value with the current key (after a rotation); returns how many."""
    keys, count = data_keys(), 0
    for column in encrypted_columns(metadata):
        table = column.table
        [primary] = table.primary_key.columns
        raw = type_coerce(column, Text)
        rows = (await session.execute(select(primary, raw).where(column.is_not(None)))).all()
        for ident, token in rows:
            await session.execute(update(table).where(primary == ident).values({column.name: type_coerce(
                keys.rotate(token), Text)}))
            count += 1
    return count
