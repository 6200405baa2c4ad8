"""What text may enter the system: one policy for forms, the JSON API, paths and queries.

- NUL (U+0000) is refused outright: PostgreSQL cannot store it in text, C libraries end strings at it, and no
  person types it, so its presence means a script probing for a bug.
- Other control characters (C0 except tab, LF and CR; DEL; C1, including U+0085 NEL) are stripped from free
  text before it is stored: they are invisible, not valid in iCalendar TEXT or XML 1.0, and can hide content
  from a reader (a terminal escape, a spoofed line).
- Paths and queries admit no control character at all (tab and line breaks included): nothing legitimate
  puts one there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

NUL = "\x00"
# Stripped from free text: C0 except \t \n \r, DEL, and C1 (U+0080-U+009F, so U+0085 NEL too).
_STRIPPED = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Never accepted where no free text belongs (paths, query strings, identifiers).
_ANY_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def has_nul(text: str) -> bool:
    return NUL in text


def has_control(text: str) -> bool:
    """True for any control character, tab and line breaks included (for paths, queries, identifiers)."""
    return _ANY_CONTROL.search(text) is not None


def strip_control(text: str) -> str:
    """Free text without the control characters that must not be stored (tab and line breaks stay)."""
    return _STRIPPED.sub("", text)


def find_nul(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (or key) holding NUL in nested JSON-like data, else None.

    The path names a field for the error message: ``title``, ``answers.diet``, ``partners.2``."""
    for where, text in _strings(value, path):
        if NUL in text:
            return where or "body"
    return None


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str):
                yield where, key
            yield from _strings(item, where)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}.{index}" if path else str(index))
