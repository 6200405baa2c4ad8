"""Every form's error summary says which field each message is about, in the words of the field's label."""

from __future__ import annotations

import re
from html import unescape

import pytest

from tests.conftest import login, make_account, make_event, post_form
from tests.registration_helpers import make_registration_event


def summary_items(page: str) -> list[tuple[str, str]]:
    summary = re.search(r'<div class="error-summary" role="alert">(.*?)</div>', page, re.S)
    assert summary, "no error summary"
    return [(unescape(href), " ".join(unescape(re.sub(r"<[^>]+>", "", text)).split()))
            for href, text in re.findall(r'<li><a href="#([^"]+)">(.*?)</a></li>', summary.group(1), re.S)]


def label_of(page: str, field_id: str) -> str | None:
    found = re.search(rf'<label for="{re.escape(field_id)}">(.*?)</label>', page, re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", "", found.group(1))).split()).rstrip(" *") if found else None


def assert_summary_names_each_field(page: str) -> list[str]:
    items = summary_items(page)
    assert items
    for field_id, text in items:
        label = label_of(page, field_id)
        if label is not None:  # a message for a field on the page starts with that field's label
            assert text.startswith((f"{label}: ", f"{label}：")), (field_id, text)  # zh: a full-width colon
    return [text for _, text in items]


async def test_event_form_summary_names_the_fields(client, db, organiser):
    await login(client, organiser.email)
    response = await post_form(client, "/organiser/events/new", {"title": "", "timezone": "Mars/Olympus",
                                                                 "starts_at": "soon"})
    assert response.status_code == 400
    texts = assert_summary_names_each_field(response.text)
    assert any(t.startswith("Title: ") for t in texts) and any(t.startswith("Time zone: ") for t in texts)


@pytest.mark.parametrize("locale", ["en", "zh"])
async def test_series_and_speaker_form_summaries_name_the_fields(client, db, organiser, locale):
    await login(client, organiser.email)
    for url in ("/organiser/series/new", "/organiser/speakers/new"):
        response = await post_form(client, f"{url}?lang={locale}", {}, action=f"{url}?lang={locale}")
        assert response.status_code == 400, (url, response.status_code)
        texts = assert_summary_names_each_field(response.text)
        assert all(": " in t or "：" in t for t in texts), texts


async def test_session_and_talk_form_summaries_name_the_fields(client, db, organiser):
    event = await make_event(db, organiser)
    await login(client, organiser.email)
    for url in (f"/organiser/events/{event.slug}/sessions/new", f"/organiser/events/{event.slug}/talks/new"):
        response = await post_form(client, url, {"title": "", "starts_at": "not a time"})
        assert response.status_code == 400, (url, response.status_code)
        assert_summary_names_each_field(response.text)


async def test_registration_settings_summary_names_the_question_row(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings)
    await login(client, organiser.email)
    url = f"/organiser/events/{event.slug}/registrations/settings"
    response = await post_form(client, url, {"mode": "open", "offer_hours": "0", "promotion": "confirm",
                                             "questions.1.label": "Diet", "questions.1.kind": "single_choice",
                                             "questions.1.order": "1"})
    assert response.status_code == 400
    texts = assert_summary_names_each_field(response.text)
    assert "Offer deadline in hours: Enter a number from 1 to 720." in texts
    assert "Question 1: options: Question 1 needs between 1 and 30 options." in texts


async def test_new_account_summary_names_the_field(client, db):
    admin = await make_account(db, "admin@example.org", admin=True)
    await login(client, admin.email)
    response = await post_form(client, "/organiser/accounts", {"email": "not an address"},
                               action="/organiser/accounts/")
    assert response.status_code == 400
    assert_summary_names_each_field(response.text)
