"""Gettext for templates and code: Babel catalogues, the locale chosen per request."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"
DEFAULT_LOCALE = "en"
LANGUAGES = {"en": "English", "zh": "中文"}

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


@cache
def translations_for(locale: str) -> NullTranslations:
    # Compiled from the .po catalogue at first use, so no build step is needed to see a new language.
    po_path = TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


@contextmanager
def speaking(locale: str | None) -> Iterator[None]:
    """Messages and mail inside are in ``locale`` (when it is one of LANGUAGES), whatever the request's is."""
    token = current_locale.set(locale if locale in LANGUAGES else current_locale.get())
    try:
        yield
    finally:
        current_locale.reset(token)


def gettext(message: str, **variables: object) -> str:
    text = translations_for(current_locale.get()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    text = translations_for(current_locale.get()).ngettext(singular, plural, n)
    variables.setdefault("num", n)
    return text % variables


def negotiate_locale(query_lang: str | None, cookie_lang: str | None, accept_language: str | None) -> str:
    for candidate in (query_lang, cookie_lang):
        if candidate in LANGUAGES:
            return candidate
    if accept_language:
        for part in accept_language.split(","):
            tag = part.split(";")[0].strip().replace("_", "-")
            if not tag:
                continue
            try:
                language = Locale.parse(tag, sep="-").language
            except (ValueError, TypeError):
                continue
            if language in LANGUAGES:
                return language
    return DEFAULT_LOCALE
