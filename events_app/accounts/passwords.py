"""Password rules and hashing for organiser accounts.

Argon2 takes tens of milliseconds of CPU on purpose; it runs in a worker thread so one login does not stall
every other request on the event loop.
"""

from __future__ import annotations

import asyncio
import string
from contextlib import suppress
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from events_app.core.i18n import gettext as _

MIN_PASSWORD_LENGTH = 10

password_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verifying against this keeps unknown e-mails as slow as wrong passwords (no account enumeration by timing).
    Made on first use, not at import: a hash costs ~0.3 s, paid by every process that imports the app (each
    server worker, every CLI command, each test worker) whether or not anyone ever logs in."""
    return password_hasher.hash("not-a-real-password")


def _verify_against_dummy(password: str) -> None:
    password_hasher.verify(_dummy_hash(), password)  # in the worker thread, the first hash included


# The most common passwords and the words they are built from (from public breach top lists), lower case.
# A password is refused when it is one of these, or one of these followed by digits and punctuation
# ("Password2024!", "dragon1234"), whatever the letter case.
COMMON_PASSWORDS = frozenset(["123456", "123456789", "12345678", "1234567890", "12345", "1234567", "111111", "123123", "000000", "654321", "666666", "121212", "112233", "123321", "7777777", "888888", "999999", "555555", "222222", "987654321", "0987654321", "9876543210", "0123456789", "1111111111", "0000000000", "1234512345", "1231231231", "123123123", "12341234", "11223344", "147258369", "159753", "123654", "123qwe", "1q2w3e", "1q2w3e4r", "1q2w3e4r5t", "1q2w3e4r5t6y", "1qaz2wsx", "1qaz2wsx3edc", "1qazxsw2", "zaq12wsx", "zaq1zaq1", "qazwsx", "qazwsxedc", "qazwsxedcrfv", "qwerty", "qwertyu", "qwertyui", "qwertyuiop", "qwerty123", "qwerty1234", "qwertyqwerty", "qwer1234", "qwerasdf", "qwerasdfzxcv", "asdf", "asdfgh", "asdfghjk", "asdfghjkl", "asdf1234", "asdfasdf", "zxcvbn", "zxcvbnm", "zxcvbnm123", "azerty", "azertyuiop", "abc123", "abcd1234", "abcdef", "abcdefg", "abcdefgh", "abcdefghij", "a1b2c3", "a1b2c3d4", "a123456", "a12345678", "aa123456", "password", "password1", "password12", "password123", "password1234", "passw0rd", "p@ssword", "p@ssw0rd", "pass", "pass123", "pass1234", "passwort", "motdepasse", "contrasena", "senha", "parola", "wachtwoord", "haslo", "salasana", "mima", "woaini", "woaini1314", "5201314", "1314520", "iloveyou", "iloveu", "iloveyou1", "iloveyou2", "loveyou", "lovely", "love", "admin", "admin123", "administrator", "root", "toor", "guest", "user", "login", "welcome", "welcome1", "welcome123", "hello", "hello123", "letmein", "changeme", "secret", "secret123", "default", "master", "master123", "access", "trustno1", "whatever", "nothing", "test", "test123", "testing", "test1234", "temp", "temp123", "demo", "sample", "example", "dragon", "monkey", "shadow", "sunshine", "princess", "football", "baseball", "basketball", "soccer", "hockey", "superman", "batman", "spiderman", "starwars", "pokemon", "naruto", "michael", "jennifer", "jordan", "jordan23", "charlie", "daniel", "thomas", "george", "jessica", "ashley", "hunter", "buster", "tigger", "ginger", "pepper", "summer", "winter", "autumn", "spring", "freedom", "flower", "computer", "internet", "samsung", "apple", "google", "facebook", "microsoft", "linkedin", "cheese", "chocolate", "cookie", "banana", "orange", "purple", "matrix", "killer", "hacker", "ninja", "mustang", "harley", "ferrari", "qwerty12345", "qwerty123456", "iloveyou123", "abc12345", "abcd12345", "abc123456", "1234qwer", "1234abcd", "zxcvbnmasdf", "asdfghjkl123", "1qaz2wsx3edc4rfv", "qweasdzxc", "qweasd", "qwe123", "qwe123qwe", "university", "college", "student", "professor", "research", "science", "conference", "workshop", "lecture", "seminar", "programme", "program", "international", "event", "events", "organiser", "organizer", "calendar", "schedule"])

_TRAILING = string.digits + string.punctuation + " "


def password_problem(password: str, email: str = "") -> str | None:
    """Why ``password`` may not be used by the account with ``email``, or None."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        return _("Use at least %(n)s characters.", n=MIN_PASSWORD_LENGTH)
    lowered = password.lower()
    core = lowered.rstrip(_TRAILING)
    if lowered in COMMON_PASSWORDS or core in COMMON_PASSWORDS:
        return _("This password is among the most common ones; choose another.")
    email = (email or "").strip().lower()
    local_part = email.partition("@")[0]
    if email and (email in lowered or (len(local_part) >= 4 and local_part in lowered)):
        return _("The password must not contain your e-mail address.")
    return None


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(password_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not there is a hash to check (pass None for an unknown account)."""
    if password_hash is None:
        with suppress(VerificationError):
            await asyncio.to_thread(_verify_against_dummy, password or "")
        return False
    try:
        return await asyncio.to_thread(password_hasher.verify, password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return password_hasher.check_needs_rehash(password_hash)
