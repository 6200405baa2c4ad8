"""Field checks shared by HTML forms and the JSON API, so both reject the same input the same way."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from urllib.parse import urlsplit

from babel import Locale, UnknownLocaleError

from events_app.core.i18n import gettext as _
from events_app.core.text import has_nul, strip_control

# The largest id a BIGINT column holds; anything beyond names no row (and would overflow the driver).
MAX_ID = 2**63 - 1


class ValidationFailed(Exception):
    """Raised by services with one message per offending field."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


class Conflict(Exception):
    """A uniqueness rule would be broken (duplicate slug, duplicate registration...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class Errors(dict[str, str]):
    """Collects messages; ``raise_if_any`` turns them into ValidationFailed."""

    def add(self, field: str, message: str) -> None:
        self.setdefault(field, message)

    def raise_if_any(self) -> None:
        if self:
            raise ValidationFailed(self)


def clean_text(
    errors: Errors, field: str, value: object, *, max_length: int, required: bool = False, multiline: bool = True
) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(field, _("Must be text."))
        return ""
    if has_nul(value):
        # Refused, not cleaned: nobody types NUL, and PostgreSQL could not store it (see core/text.py).
        errors.add(field, _("Contains a character that is not allowed (NUL)."))
        return ""
    text = strip_control(value).strip()
    if not multiline:
        # Single-line fields never keep line breaks: they end up in headers, CSV cells and iCalendar.
        text = " ".join(text.split())
    if required and not text:
        errors.add(field, _("This field is required."))
    elif len(text) > max_length:
        errors.add(field, _("At most %(n)s characters.", n=max_length))
    return text


def clean_id(errors: Errors, field: str, value: object, message: str) -> int | None:
    """An optional row id from a form or JSON (a number or digits); out of range is as unknown as a typo."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        errors.add(field, message)
        return None
    try:
        number = int(str(value).strip()) if isinstance(value, str) else int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        errors.add(field, message)
        return None
    if not 1 <= number <= MAX_ID:
        errors.add(field, message)
        return None
    return number


def parse_id(value: object) -> int | None:
    """A row id, or None for anything that cannot name a row."""
    return clean_id(Errors(), "id", value, "")


def clean_url(errors: Errors, field: str, value: object, *, required: bool = False) -> str:
    text = clean_text(errors, field, value, max_length=500, required=required, multiline=False)
    if text:
        parts = urlsplit(text)
        if parts.scheme not in {"http", "https"} or not parts.netloc or " " in text:
            errors.add(field, _("Enter a full web address starting with http:// or https://."))
    return text


def orcid_checksum_ok(orcid: str) -> bool:
    digits = orcid.replace("-", "")
    total = 0
    for char in digits[:-1]:
        total = (total + int(char)) * 2
    check = (12 - total % 11) % 11
    expected = "X" if check == 10 else str(check)
    return digits[-1].upper() == expected


def clean_orcid(errors: Errors, field: str, value: object) -> str:
    text = clean_text(errors, field, value, max_length=60, multiline=False)
    for prefix in ("https://orcid.org/", "http://orcid.org/", "orcid.org/"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
    if not text:
        return ""
    import re

    if not re.fullmatch(r"\d{4}-\d{4}-\d{4}-\d{3}[\dXx]", text) or not orcid_checksum_ok(text):
        errors.add(field, _("Enter a valid ORCID iD, e.g. 0000-0002-1825-0097."))
        return text
    return text.upper()


def clean_country(errors: Errors, field: str, value: object) -> str:
    text = clean_text(errors, field, value, max_length=2, multiline=False).upper()
    if text and text not in country_names("en"):
        errors.add(field, _("Choose a country (ISO 3166 two-letter code)."))
    return text


def clean_email(errors: Errors, field: str, value: object, *, required: bool = False) -> str:
    from email_validator import EmailNotValidError, validate_email

    text = clean_text(errors, field, value, max_length=254, required=required, multiline=False)
    if not text:
        return ""
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        errors.add(field, _("Enter a valid e-mail address."))
        return text


_COUNTRIES: dict[str, dict[str, str]] = {}


def country_with_code(code: str | None, locale: str) -> str:
    """'China (CN)': the name for people, the code that imports and other tools match on."""
    if not code:
        return ""
    name = country_names(locale).get(code)
    return f"{name} ({code})" if name and name != code else code


def language_names(codes: str | None, locale: str) -> str:
    """'en, zh' -> 'English, Chinese' (英语、中文 in zh) in the reader's language; unknown codes stay as typed."""
    names = []
    for code in (codes or "").replace(";", ",").split(","):
        code = code.strip()
        if not code:
            continue
        try:
            name = Locale.parse(code.replace("-", "_")).get_display_name(locale)
        except (ValueError, TypeError, UnknownLocaleError):
            name = None
        names.append(name or code)
    return ("、" if locale.startswith("zh") else ", ").join(names)


def collation_key(text: str, locale: str) -> tuple[str, str]:
    """Dictionary order for the reader: Chinese by pinyin (中国 among the Z's as Zhongguo, 阿尔巴尼亚 among the A's),
    not code points; other languages with accents folded ("Åland" next to "Albania", not after "Zimbabwe")."""
    if locale.startswith("zh"):
        from pypinyin import lazy_pinyin  # its dictionaries are large: loaded on the first Chinese list only

        return " ".join(lazy_pinyin(text)).casefold(), text
    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return folded.casefold(), text


def country_names(locale: str) -> dict[str, str]:
    if locale not in _COUNTRIES:
        territories = Locale.parse(locale).territories
        _COUNTRIES[locale] = {
            code: name for code, name in sorted(territories.items(), key=lambda kv: collation_key(kv[1], locale))
            if len(code) == 2 and code.isalpha() and code not in {"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB"}
        }
    return _COUNTRIES[locale]
