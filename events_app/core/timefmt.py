"""Showing instants in an event's own zone, and reading local times typed into forms."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.dates import format_date, format_time

from events_app.core.i18n import current_locale

# The interface language "en" is read in Babel's en_GB conventions ("7 Dec 2026", day before month), never
# the US "12/7/26"; other languages use their own CLDR patterns ("2026年12月7日").
_DATE_LOCALES = {"en": "en_GB"}


def date_locale(locale: str) -> str:
    return _DATE_LOCALES.get(locale, locale)


def _date_format(fmt: str) -> str:
    # CLDR "short" dates are numeric (12/7/26, 2026/12/7) and ambiguous across countries: named months instead.
    return "medium" if fmt == "short" else fmt


def is_valid_timezone(name: str) -> bool:
    if not name or name not in common_timezones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


_ZONES: list[str] | None = None


def common_timezones() -> list[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = sorted(z for z in available_timezones() if "/" in z or z == "UTC")
    return _ZONES


def in_zone(value: dt.datetime, zone: str) -> dt.datetime:
    return value.astimezone(ZoneInfo(zone))


def zone_abbreviation(value: dt.datetime, zone: str) -> str:
    """'CST', 'EDT', or the UTC offset when the zone has no letters (e.g. '+08')."""
    return in_zone(value, zone).tzname() or zone


# Babel re-reads the locale's patterns on every call, and pages show the same few instants again and again
# (20 cards on the home page, a programme), so formatted strings are memoised per (instant, zone, locale).
# The results depend on nothing else, so the caches can never be stale; they are bounded.
@lru_cache(maxsize=16384)
def _format_when(value: dt.datetime, zone: str, fmt: str, locale: str) -> str:
    # Date in the locale's style, clock always 24-hour HH:mm: the same look as ranges and programmes.
    return f"{_format_day(value, zone, fmt, locale)} {_format_clock(value, zone, locale)}"


@lru_cache(maxsize=16384)
def _format_day(value: dt.datetime, zone: str, fmt: str, locale: str) -> str:
    return format_date(in_zone(value, zone), format=_date_format(fmt), locale=date_locale(locale))


@lru_cache(maxsize=16384)
def _format_clock(value: dt.datetime, zone: str, locale: str) -> str:
    return format_time(in_zone(value, zone), format="HH:mm", tzinfo=ZoneInfo(zone), locale=date_locale(locale))


@lru_cache(maxsize=16384)
def _format_range(start: dt.datetime, end: dt.datetime, zone: str, locale: str) -> str:
    local_start, local_end = in_zone(start, zone), in_zone(end, zone)
    if local_start.date() == local_end.date():
        text = (f"{_format_day(start, zone, 'full', locale)}, {_format_clock(start, zone, locale)} – "
                f"{_format_clock(end, zone, locale)}")
    else:
        text = (
            f"{_format_day(start, zone, 'medium', locale)} {_format_clock(start, zone, locale)} – "
            f"{_format_day(end, zone, 'medium', locale)} {_format_clock(end, zone, locale)}"
        )
    return f"{text} ({zone_abbreviation(start, zone)}, {zone})"


def format_when(value: dt.datetime, zone: str, fmt: str = "medium") -> str:
    return _format_when(value, zone, fmt, current_locale.get())


def format_day(value: dt.datetime, zone: str, fmt: str = "full") -> str:
    return _format_day(value, zone, fmt, current_locale.get())


def format_calendar_day(value: dt.date | str | None, fmt: str = "medium") -> str:
    """A date without a time or zone (a birth date, a stay's first day) in the reader's locale: "7 Dec 2026",
    "2026年12月7日". A date kept as ISO text (an encrypted birth date) is read first; other text is shown as is."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            return value
    else:
        day = value
    return format_date(day, format=_date_format(fmt), locale=date_locale(current_locale.get()))


def format_clock(value: dt.datetime, zone: str) -> str:
    return _format_clock(value, zone, current_locale.get())


def format_range(start: dt.datetime, end: dt.datetime, zone: str) -> str:
    """'Tuesday, 3 March 2026, 14:00 – 16:00 (China Standard Time, Asia/Shanghai)' style ranges."""
    return _format_range(start, end, zone, current_locale.get())


def local_input_value(value: dt.datetime | None, zone: str) -> str:
    """Value for an <input type="datetime-local"> in the event's zone."""
    if value is None:
        return ""
    return in_zone(value, zone).strftime("%Y-%m-%dT%H:%M")


def parse_local(text: str, zone: str) -> dt.datetime:
    """A wall-clock time typed in the event's zone -> aware UTC instant. Raises ValueError."""
    naive = dt.datetime.fromisoformat(text.strip())
    if naive.tzinfo is not None:
        return naive.astimezone(dt.UTC)
    # fold=0 picks the first of two ambiguous wall times (the DST fall-back hour), as most calendars do.
    return naive.replace(tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)


def wall_time_warning(text: object, zone: str) -> str | None:
    """A message when a wall time typed in the zone is skipped (the hour the clocks jump over) or happens
    twice (the hour they go back); None otherwise, or when it is not a local time at all (errors are
    reported by validation). parse_local has already chosen an instant; this says which, without blocking."""
    from events_app.core.i18n import gettext as _

    if not isinstance(text, str) or not is_valid_timezone(zone):
        return None
    try:
        naive = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if naive.tzinfo is not None:
        return None
    first, second = naive.replace(tzinfo=ZoneInfo(zone)), naive.replace(tzinfo=ZoneInfo(zone), fold=1)
    if first.utcoffset() == second.utcoffset():
        return None
    saved = first.astimezone(dt.UTC)
    local = saved.astimezone(ZoneInfo(zone))
    values = {"time": naive.strftime("%H:%M"), "day": naive.date().isoformat(), "zone": zone,
              "saved": f"{local:%H:%M} {local.tzname()}", "utc": f"{saved:%Y-%m-%dT%H:%MZ}"}
    if local.replace(tzinfo=None) != naive:
        return _("%(time)s does not exist on %(day)s in %(zone)s: the clocks skip that hour. It was saved as "
                 "%(saved)s; change it if you meant another time.", **values)
    other = second.astimezone(dt.UTC)
    return _("%(time)s happens twice on %(day)s in %(zone)s, when the clocks go back. It was saved as the first "
             "one (%(saved)s, %(utc)s); the second one (%(other)s) can be given in UTC through the API.", **values,
             other=f"{other:%Y-%m-%dT%H:%MZ}")


def wall_time_warnings(values: dict, zone: str, fields: tuple[str, ...] = ("starts_at", "ends_at")) -> list[str]:
    return [message for field in fields if (message := wall_time_warning(values.get(field), zone))]
