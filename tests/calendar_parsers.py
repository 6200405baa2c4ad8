"""Reading a calendar the way three independent clients do: icalendar, vobject (dateutil's tzical for the
VTIMEZONEs) and ical.js (Thunderbird's parser, under node; see tests/calendar_js). Each VEVENT comes back as
the same plain record, so a test can require that all three agree, not only icalendar reading what icalendar
wrote."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import icalendar
import pytest
import vobject

ICALJS_DIR = Path(__file__).parent / "calendar_js"


@dataclass(frozen=True)
class Reading:
    uid: str
    start: int  # POSIX seconds: the instant, whatever zone it was written in
    end: int | None
    summary: str | None
    description: str | None
    location: str | None
    status: str | None
    sequence: int | None

    @property
    def start_utc(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.start, dt.UTC)


def _seconds(value: dt.datetime | None) -> int | None:
    if value is None:
        return None
    assert isinstance(value, dt.datetime) and value.tzinfo is not None, value  # never floating
    return int(value.timestamp())


def _text(value) -> str | None:
    return None if value is None else str(value)


def with_icalendar(body: bytes) -> dict[str, Reading]:
    calendar = icalendar.Calendar.from_ical(body)
    found = {}
    for v in calendar.walk("VEVENT"):
        found[str(v["UID"])] = Reading(
            uid=str(v["UID"]), start=_seconds(v.decoded("DTSTART")),
            end=_seconds(v.decoded("DTEND")) if "DTEND" in v else None,
            summary=_text(v.get("SUMMARY")), description=_text(v.get("DESCRIPTION")),
            location=_text(v.get("LOCATION")), status=_text(v.get("STATUS")),
            sequence=int(v["SEQUENCE"]) if "SEQUENCE" in v else None,
        )
    return found


def with_vobject(body: bytes) -> dict[str, Reading]:
    calendar = vobject.readOne(body.decode("utf-8"))
    found = {}
    for v in getattr(calendar, "vevent_list", []):
        def value(name, v=v):
            return getattr(v, name).value if hasattr(v, name) else None

        found[value("uid")] = Reading(
            uid=value("uid"), start=_seconds(value("dtstart")), end=_seconds(value("dtend")),
            summary=value("summary"), description=value("description"), location=value("location"),
            status=value("status"), sequence=int(value("sequence")) if value("sequence") is not None else None,
        )
    return found


def icaljs_available() -> bool:
    return shutil.which("node") is not None and (ICALJS_DIR / "node_modules" / "ical.js").is_dir()


def with_icaljs(body: bytes) -> dict[str, Reading] | None:
    """None (the test skips that parser) when node or ical.js is missing, except in CI."""
    if not icaljs_available():
        message = "ical.js is not installed: run `sh tests/browser/setup.sh` (needs node and npm)"
        if os.environ.get("EVENTS_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        return None
    out = subprocess.run(
        ["node", str(ICALJS_DIR / "read.mjs")], input=body, capture_output=True, check=True, timeout=60,
    )
    found = {}
    for e in json.loads(out.stdout)["events"]:
        found[e["uid"]] = Reading(
            uid=e["uid"], start=e["start"], end=e["end"], summary=e["summary"], description=e["description"],
            location=e["location"], status=e["status"], sequence=e["sequence"],
        )
    return found


def read_everywhere(body: bytes) -> dict[str, Reading]:
    """Every VEVENT as all three parsers read it; fails unless they agree on every field."""
    ours = with_icalendar(body)
    readings = {"icalendar": ours, "vobject": with_vobject(body)}
    icaljs = with_icaljs(body)
    if icaljs is not None:
        readings["ical.js"] = icaljs
    for name, found in readings.items():
        assert set(found) == set(ours), (name, sorted(found), sorted(ours))
        for uid, reading in found.items():
            assert reading == ours[uid], (name, reading, ours[uid])
    return ours


def icaljs_method(body: bytes) -> str | None:
    if not icaljs_available():
        return None
    out = subprocess.run(["node", str(ICALJS_DIR / "read.mjs")], input=body, capture_output=True, check=True)
    return json.loads(out.stdout)["method"]
