"""EVENTS_SECRET_KEY: refuse keys anyone could know, and a per-clone random key for loopback development."""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

MIN_SECRET_KEY_BYTES = 32
# Values that were ever a default in the source or the docs: a session signed with one of them can be forged.
KNOWN_DEFAULTS = frozenset({
    "dev-insecure-secret-change-me",
    "test-secret",
    "change-me",
    "changeme",
    "secret",
})


class InsecureSecretKey(RuntimeError):
    """The app refuses to start: sessions and CSRF tokens signed with this key could be forged."""


def check_secret_key(key: str | None) -> None:
    hint = ("Set EVENTS_SECRET_KEY to a random value of at least "
            f"{MIN_SECRET_KEY_BYTES} bytes, the same in every process, e.g. "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'. "
            "For development on this machine only, `make run` / `events-app run` on a loopback host "
            "make one for you in .secret_key.")
    if not key:
        raise InsecureSecretKey(f"EVENTS_SECRET_KEY is not set. {hint}")
    if key.strip().lower() in KNOWN_DEFAULTS:
        raise InsecureSecretKey(f"EVENTS_SECRET_KEY is a published default value. {hint}")
    if len(key.encode()) < MIN_SECRET_KEY_BYTES:
        raise InsecureSecretKey(
            f"EVENTS_SECRET_KEY is {len(key.encode())} bytes long; at least {MIN_SECRET_KEY_BYTES} are needed. {hint}"
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def development_secret_key(path: Path) -> str:
    """The key kept in ``path`` (git-ignored), made once with 48 random bytes, readable by its owner only."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(48)
    try:
        # O_EXCL: two starters racing on a fresh clone end up with one key, not two.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
