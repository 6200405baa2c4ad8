"""Issue 13: every plain-text e-mail keeps its blocks on their own lines ("...Beijing 100190, China" and the
link never run together), rendered the way the app renders them (notify.services.render_email)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from events_app.core.i18n import speaking
from events_app.notify.services import render_email
from events_app.registration.models import RegistrationStatus

TEMPLATES = sorted(p.name.removesuffix(".txt") for p in (Path(__file__).parent.parent / "templates" / "emails")
                   .glob("*.txt") if not p.name.startswith("_") and not p.name.endswith(".subject.txt"))
ADDRESS = "Zhongguancun East Road 80, Beijing 100190, China"
LINKS = {"manage_url": "https://events.example.org/r/manage-token", "withdraw_url": "https://events.example.org/r/w",
         "unsubscribe_url": "https://events.example.org/r/u", "link": "https://events.example.org/i/speaker-token",
         "verify_url": "https://events.example.org/verify/ABCD-1234"}


def event(online: bool, address: bool) -> SimpleNamespace:
    return SimpleNamespace(
        title="Symposium on Catalysis", slug="catalysis", timezone="Asia/Shanghai",
        starts_at=dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.UTC), ends_at=dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC),
        venue_name="Institute of Chemistry", venue_address=ADDRESS if address else "",
        online_url="https://meet.example.org/catalysis" if online else "")


def contexts():
    for online in (True, False):
        for address in (True, False):
            for reason in ("promoted", "approved", ""):
                yield {
                    **LINKS, "event": event(online, address), "reason": reason, "position": 3,
                    "deadline": "8 Dec 2026 12:00", "by_organiser": reason == "approved",
                    "attendee_zone": "Europe/Berlin" if online else None, "offset": 1440,
                    "registration": SimpleNamespace(name="Li Wei", checkin_code="K7Q2M9", locale="en",
                                                    status=RegistrationStatus.CONFIRMED),
                    "person": SimpleNamespace(display_name="Ada Lovelace", full_name="Ada Lovelace"),
                    # Calls for abstracts (issue 16): the call, a submission, a reviewer, a decision's note.
                    "call": SimpleNamespace(title="Call for abstracts"),
                    "submission": SimpleNamespace(title="Catalysts at scale" if online else ""),
                    "reviewer": SimpleNamespace(name="Ada Lovelace"),
                    "note": "Please confirm by 1 December." if address else "",
                    "comments": ["Clear and well argued."] if online else [],
                    "invitation": SimpleNamespace(kind="talk" if online else "lecture", title="Catalysts at scale"),
                    "document": SimpleNamespace(holder_name="Li Wei", reference="ABCD-1234"),
                }


@pytest.mark.parametrize("name", TEMPLATES)
@pytest.mark.parametrize("locale", ["en", "zh"])
def test_plain_text_mail_keeps_blocks_on_their_own_lines(name, locale, settings):
    assert len(TEMPLATES) >= 13
    for context in contexts():
        with speaking(locale):
            _subject, text, _html = render_email(name, context, settings)
        assert text.strip(), name
        # Every link starts a line or follows a space / "：" ("Online: https://..."), never glued to a word.
        for match in re.finditer(r"https?://", text):
            before = text[max(0, match.start() - 1):match.start()]
            assert before in ("", "\n", " ", "：", "（", "("), (name, text)
        # A link ends its line or is followed by a space: nothing runs on after it.
        known = (*LINKS.values(), "https://meet.example.org/catalysis", f"{settings.base_url}/events/catalysis")
        for url in re.findall(r"https?://[^\s（）()]+", text):
            assert url in known, (name, url, text)
        lines = text.splitlines()
        # The venue and its address are one line, and the next block starts on a new one.
        if context["event"].venue_address and ADDRESS in text:
            assert f"Institute of Chemistry, {ADDRESS}" in lines, (name, text)
        # Blocks are paragraphs: a blank line after the greeting, before the event's block, and after its link.
        assert lines[1] == "", (name, text)
        for i, line in enumerate(lines):
            if line == "Symposium on Catalysis":
                assert lines[i - 1] == "", (name, text)
            if line.endswith("(CST, Asia/Shanghai)") and i and lines[i - 1] != "Symposium on Catalysis":
                assert lines[i - 1] == "", (name, text)
            if line == f"{settings.base_url}/events/catalysis" and i + 1 < len(lines):
                assert lines[i + 1] == "" or "https://meet.example.org/catalysis" in lines[i + 1], (name, text)
        # No sentence runs into the next ("confirmed.Please").
        assert not re.search(r"[a-z][.!?:][A-Z]", text), (name, text)
        assert "\n\n\n" not in text, (name, text)
