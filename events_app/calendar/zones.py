"""VTIMEZONE components that every common parser reads the same way.

icalendar's ``Timezone.from_tzid`` lists all of a zone's changes of one kind as a single
``RDATE:20260308T030000,20270314T030000,...`` line. RFC 5545 allows that, but Thunderbird's parser (ical.js)
reads only the first date of such a list and vobject keeps only one, so from the second year on they put
every summer-time event an hour off. Here a zone's changes over the feed's span are read from zoneinfo
(tzdata) and written as a yearly ``RRULE`` wherever they follow one (every zone with regular daylight saving:
New York, Berlin, Sydney ...), and otherwise as one observance per change with nothing but its DTSTART, which
no parser can misread.
"""

from __future__ import annotations

import calendar as gregorian
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

DAY = 86_400
# Changes are looked for a week apart, then bisected to the second: no zone since 2000 changed twice and back
# within a week (Morocco's Ramadan breaks, the closest, last about a month).
STEP = 7 * DAY
# Changes are also read this many years past the span, to tell a rule still in force (written open-ended,
# as calendar programs write them) from one that stopped (written with UNTIL).
LOOKAHEAD_YEARS = 3
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Change:
    """One change of a zone's offset, abbreviation or daylight-saving flag."""

    at: int  # POSIX seconds
    offset_from: dt.timedelta
    offset_to: dt.timedelta
    name: str
    is_dst: bool

    @property
    def onset(self) -> dt.datetime:
        # RFC 5545 3.6.5: an observance's DTSTART is the local time *before* the change (TZOFFSETFROM).
        return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=self.at) + self.offset_from

    @property
    def kind(self) -> tuple:
        return (self.offset_from, self.offset_to, self.name, self.is_dst)

    def rules(self) -> set[tuple]:
        """The yearly rules this change fits: (month, weekday, wall time, n-th or -1 for the last)."""
        onset = self.onset
        base = (onset.month, onset.weekday(), onset.time())
        found = {(*base, (onset.day - 1) // 7 + 1)}
        if onset.day + 7 > gregorian.monthrange(onset.year, onset.month)[1]:
            found.add((*base, -1))
        return found


def _state(zone: ZoneInfo, at: int) -> tuple[dt.timedelta, bool, str]:
    local = dt.datetime.fromtimestamp(at, zone)
    return local.utcoffset() or dt.timedelta(0), bool(local.dst()), local.tzname() or ""


def changes(tzid: str, start: int, end: int) -> tuple[tuple[dt.timedelta, bool, str], list[Change]]:
    """The state at ``start`` and every change in [start, end), found a STEP apart and bisected to the second
    (zoneinfo has no public list of transitions)."""
    zone = ZoneInfo(tzid)
    first = state = _state(zone, start)
    found: list[Change] = []
    at = start
    while at < end:
        step = min(at + STEP, end)
        following = _state(zone, step)
        if following != state:
            low, high = at, step
            while high - low > 1:
                middle = (low + high) // 2
                if _state(zone, middle) == state:
                    low = middle
                else:
                    high = middle
            found.append(Change(high, state[0], following[0], following[2], following[1]))
            state = following
        at = step
    return first, found


def _observance(change_kind: tuple, onset: dt.datetime) -> TimezoneStandard | TimezoneDaylight:
    offset_from, offset_to, name, is_dst = change_kind
    observance = TimezoneDaylight() if is_dst else TimezoneStandard()
    observance.add("dtstart", onset)
    observance.add("tzoffsetfrom", offset_from)
    observance.add("tzoffsetto", offset_to)
    if name:
        observance.add("tzname", name)
    return observance


def _runs(group: list[Change]) -> list[tuple[list[Change], set[tuple]]]:
    """Consecutive yearly changes of one kind that fit one rule."""
    runs: list[tuple[list[Change], set[tuple]]] = []
    for change in group:
        if runs:
            members, rules = runs[-1]
            common = rules & change.rules()
            if common and change.onset.year == members[-1].onset.year + 1:
                members.append(change)
                runs[-1] = (members, common)
                continue
        runs.append(([change], change.rules()))
    return runs


def build_vtimezone(tzid: str, first: dt.date, last: dt.date) -> Timezone:
    """A VTIMEZONE valid for every instant in [first, last)."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    start = int((dt.datetime.combine(first, dt.time(), dt.UTC) - epoch).total_seconds())
    end = int((dt.datetime.combine(last, dt.time(), dt.UTC) - epoch).total_seconds())
    horizon = int((dt.datetime(last.year + LOOKAHEAD_YEARS, 1, 1, tzinfo=dt.UTC) - epoch).total_seconds())
    (offset, is_dst, name), found = changes(tzid, start, horizon)
    # What holds at the start of the span, as an observance that changes nothing.
    observances = [_observance((offset, offset, name, is_dst), dt.datetime.combine(first, dt.time()))]
    groups: dict[tuple, list[Change]] = {}
    for change in found:
        groups.setdefault(change.kind, []).append(change)
    last_year = last.year + LOOKAHEAD_YEARS - 1
    for kind, group in groups.items():
        for members, rules in _runs(group):
            if members[0].at >= end:
                continue
            if len(members) == 1:
                observances.append(_observance(kind, members[0].onset))
                continue
            # A change on the 4th Sunday that is also the last in every year seen: tzdata says "lastSun" there.
            month, weekday, _time, nth = max(rules, key=lambda rule: rule[3] < 0)
            rule: dict = {"freq": "yearly", "bymonth": month, "byday": f"{nth}{WEEKDAYS[weekday]}"}
            if members[-1].onset.year < last_year:
                # The rule stopped: say when (RFC 5545: UNTIL in UTC inside VTIMEZONE). A day after the last
                # change, not at it: dateutil (vobject) compares UNTIL's digits with the local onset, which east
                # of Greenwich is later than the UTC instant, and would drop that last year. Any time before next
                # year's date means the same to a parser that reads UNTIL right.
                rule["until"] = epoch + dt.timedelta(seconds=members[-1].at + DAY)
            observance = _observance(kind, members[0].onset)
            observance.add("rrule", rule)
            observances.append(observance)
    timezone = Timezone()
    timezone.add("tzid", tzid)
    for observance in sorted(observances, key=lambda o: o.DTSTART):
        timezone.add_component(observance)
    return timezone
