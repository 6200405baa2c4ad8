"""The organiser's question editor: one row per question instead of a pipe-separated text area."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import select

from events_app.core.validation import Errors
from events_app.registration.models import RegistrationSettings
from events_app.registration.question_rows import (
    editor_values,
    questions_from_rows,
    rows_from_form,
    rows_from_questions,
)
from events_app.registration.questions import clean_questions
from tests.conftest import login, post_form
from tests.registration_helpers import make_registration_event, register

OLD_QUESTIONS = [  # as an event made before the editor stored them, keys included
    {"key": "dietary-needs", "label": "Dietary needs", "kind": "single_choice", "required": True,
     "options": ["None", "Vegetarian", "Halal"]},
    {"key": "visa", "label": "我需要签证邀请函", "kind": "checkbox", "required": False, "options": []},
]


def form_values(page: str) -> dict[str, str]:
    """What a browser would post back untouched: text inputs, textareas, chosen options, ticked boxes."""
    values: dict[str, str] = {}
    for tag in re.findall(r"<input [^>]*>", page):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if not name or 'type="submit"' in tag:
            continue
        if 'type="checkbox"' in tag and " checked" not in tag:
            continue
        values[unescape(name.group(1))] = unescape(value.group(1)) if value else ""
    for name, text in re.findall(r'<textarea [^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        values[unescape(name)] = unescape(text)
    for name, body in re.findall(r'<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        if chosen:
            values[unescape(name)] = unescape(chosen.group(1))
    values.pop("_csrf_token", None)
    return values


def test_stored_questions_become_rows_and_come_back_unchanged():
    rows = rows_from_questions(OLD_QUESTIONS)
    values, numbers = editor_values(rows)
    assert numbers == [1, 2, 3, 4, 5]  # the two questions and three blank rows
    assert values["questions.1.options"] == "None\nVegetarian\nHalal" and values["questions.2.key"] == "visa"
    read, errors = rows_from_form(values)
    assert not errors and len(read) == 2
    cleaned = clean_questions(Errors(), questions_from_rows(read))
    assert cleaned == OLD_QUESTIONS


def test_rows_are_sorted_by_their_place_removed_rows_dropped_and_options_kept_whole():
    read, errors = rows_from_form({
        "questions.1.label": "Second", "questions.1.kind": "short_text", "questions.1.order": "5",
        "questions.2.label": "Gone", "questions.2.kind": "short_text", "questions.2.order": "1",
        "questions.2.remove": "on",
        "questions.3.label": "First", "questions.3.kind": "single_choice", "questions.3.order": "2",
        "questions.3.options": "Beijing, China\r\n\r\nParis, France\r\n",
        "questions.4.label": "", "questions.4.kind": "short_text", "questions.4.order": "4",
    })
    assert not errors
    assert [r["label"] for r in read] == ["First", "Second"]
    assert questions_from_rows(read)[0]["options"] == ["Beijing, China", "Paris, France"]


def test_an_order_that_is_not_a_number_is_reported_on_its_row():
    read, errors = rows_from_form({"questions.1.label": "A", "questions.1.kind": "short_text",
                                   "questions.1.order": "first"})
    assert [r["label"] for r in read] == ["A"] and "questions.1.order" in errors


def test_each_bad_question_is_reported_on_its_own_field():
    errors = Errors()
    clean_questions(errors, [{"label": "", "kind": "short_text"}, {"label": "Diet", "kind": "single_choice"},
                             {"label": "X", "kind": "essay"}])
    assert set(errors) == {"questions.1.label", "questions.2.options", "questions.3.kind"}
    assert errors["questions.2.options"].startswith("Question 2 ")


async def test_old_questions_load_into_rows_and_saving_untouched_keeps_their_keys_and_answers(
    client, db, organiser, settings
):
    event = await make_registration_event(db, organiser, settings, questions=OLD_QUESTIONS)
    await register(db, settings, event, "Ana", answers={"dietary-needs": "Halal", "visa": True})
    await login(client, organiser.email)
    url = f"/organiser/events/{event.slug}/registrations/settings"
    page = (await client.get(url)).text
    assert "pipe" not in page and 'name="questions"' not in page
    values = form_values(page)
    assert values["questions.1.label"] == "Dietary needs" and values["questions.1.kind"] == "single_choice"
    assert values["questions.1.options"] == "None\nVegetarian\nHalal" and values["questions.1.required"] == "on"
    assert values["questions.2.label"] == "我需要签证邀请函" and "questions.2.required" not in values
    assert values["questions.3.label"] == ""  # blank rows to add questions

    # The organiser renames the first question and adds a third one in a blank row.
    values |= {"questions.1.label": "Dietary requirements", "questions.3.label": "Arrival day",
               "questions.3.kind": "short_text"}
    response = await post_form(client, url, values)
    assert response.status_code in (302, 303), response.text
    row = await db.scalar(select(RegistrationSettings).where(RegistrationSettings.event_id == event.id)
                          .execution_options(populate_existing=True))
    assert [q["key"] for q in row.questions] == ["dietary-needs", "visa", "arrival-day"]
    assert row.questions[0]["label"] == "Dietary requirements"
    export = (await client.get(f"/organiser/events/{event.slug}/registrations/export.csv")).text
    header, ana = export.splitlines()[:2]
    assert "Dietary requirements" in header and "Halal" in ana  # her answer stays with the renamed question


async def test_add_more_rows_shows_more_blank_rows_without_saving(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, questions=OLD_QUESTIONS)
    await login(client, organiser.email)
    url = f"/organiser/events/{event.slug}/registrations/settings"
    values = form_values((await client.get(url)).text)
    values |= {"questions.3.label": "Typed, not yet saved", "capacity": "7", "add_rows": "1"}
    page = await post_form(client, url, values)
    assert page.status_code == 200
    again = form_values(page.text)
    assert again["questions.3.label"] == "Typed, not yet saved" and again["capacity"] == "7"
    assert "questions.9.label" in again and "questions.10.label" not in again  # 3 questions + 3 + 3 blank rows
    row = await db.scalar(select(RegistrationSettings).where(RegistrationSettings.event_id == event.id)
                          .execution_options(populate_existing=True))
    assert len(row.questions) == 2 and row.capacity == 2


async def test_a_bad_row_is_named_and_the_form_comes_back_with_what_was_typed(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, questions=OLD_QUESTIONS)
    await login(client, organiser.email)
    url = f"/organiser/events/{event.slug}/registrations/settings"
    values = form_values((await client.get(url)).text)
    values |= {"questions.3.label": "Workshop", "questions.3.kind": "multiple_choice", "questions.3.options": "",
               "capacity": "-1"}
    response = await post_form(client, url, values)
    assert response.status_code == 400
    assert 'id="e-questions.3.options"' in response.text
    assert "Question 3 needs between 1 and 30 options." in response.text
    assert "Enter a number from 0 to 100000." in response.text  # the other fields' messages in the same round
    again = form_values(response.text)
    assert again["questions.3.label"] == "Workshop" and again["questions.3.kind"] == "multiple_choice"
    assert again["questions.1.key"] == "dietary-needs"


async def test_api_keeps_its_list_of_objects_and_names_the_bad_question(client, db, organiser, settings):
    from tests.conftest import make_token

    event = await make_registration_event(db, organiser, settings)
    headers = {"Authorization": f"Bearer {await make_token(db, organiser)}"}
    url = f"/api/events/{event.slug}/registration-settings"
    ok = await client.put(url, json={"questions": OLD_QUESTIONS}, headers=headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["questions"] == OLD_QUESTIONS
    bad = await client.put(url, json={"questions": [{"label": "Diet", "kind": "single_choice"}]}, headers=headers)
    assert bad.status_code in (400, 422) and "questions.1.options" in bad.text


async def test_rows_shown_again_after_an_error_are_the_sorted_rows_not_the_posted_numbers(
    client, db, organiser, settings
):
    event = await make_registration_event(db, organiser, settings, questions=OLD_QUESTIONS)
    await login(client, organiser.email)
    url = f"/organiser/events/{event.slug}/registrations/settings"
    values = form_values((await client.get(url)).text)
    # Remove row 2, put row 1 last, and add a choice question without options (an error) in row 3.
    values |= {"questions.2.remove": "on", "questions.1.order": "9", "questions.3.label": "Workshop",
               "questions.3.kind": "single_choice", "questions.3.order": "3"}
    response = await post_form(client, url, values)
    assert response.status_code == 400
    again = form_values(response.text)
    assert again["questions.1.label"] == "Workshop" and again["questions.2.label"] == "Dietary needs"
    assert again["questions.2.key"] == "dietary-needs"
    assert again["questions.3.label"] == ""  # not the label posted as row 3
    assert not any(name.endswith(".remove") for name in again)  # the removed row is gone, no box ticked
