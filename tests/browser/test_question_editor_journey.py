"""The organiser edits the registration questions row by row, without JavaScript; the attendee's form follows.
The error summary says which field each message is about."""

from __future__ import annotations

import pytest

from tests.browser.actions import axe_violations, expect, log_in, unlabelled_fields
from tests.browser.arrange import open_lecture

pytestmark = pytest.mark.browser

OLD_QUESTIONS = [
    {"label": "Dietary needs", "kind": "single_choice", "required": True, "options": ["None", "Halal"]},
    {"label": "I need an invitation letter for a visa", "kind": "checkbox"},
]


def test_organiser_edits_questions_row_by_row_without_javascript(site, page_without_javascript):
    page = page_without_javascript
    lecture = open_lecture(site, capacity=10, questions=OLD_QUESTIONS)
    log_in(page, lecture["organiser"])
    page.goto(f"/organiser/events/{lecture['slug']}/registrations/settings")
    # The old questions are in their rows, as stored, and three blank rows follow.
    expect(page.get_by_label("Question 1: label")).to_have_value("Dietary needs")
    expect(page.get_by_label("Question 1: kind of answer")).to_have_value("single_choice")
    expect(page.get_by_label("Question 1: options")).to_have_value("None\nHalal")
    expect(page.get_by_label("Question 1: an answer is required")).to_be_checked()
    expect(page.get_by_label("Question 2: an answer is required")).not_to_be_checked()
    expect(page.get_by_label("Question 5: label")).to_have_value("")
    expect(page.get_by_label("Question 6: label")).to_have_count(0)

    page.get_by_role("button", name="Add more rows").click()
    expect(page.get_by_label("Question 8: label")).to_have_value("")

    # A choice question without options is named on its row, and what was typed stays.
    page.get_by_label("Question 3: label").fill("Which workshop?")
    page.get_by_label("Question 3: kind of answer").select_option("multiple_choice")
    page.get_by_label("Question 1: place in the form").fill("9")  # "Dietary needs" goes last
    page.get_by_label("Remove question 2").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".error-summary")).to_contain_text(
        "Question 1: options: Question 1 needs between 1 and 30 options.")
    expect(page.get_by_label("Question 1: label")).to_have_value("Which workshop?")  # now first: the rows follow their places
    expect(page.get_by_label("Question 1: options")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Question 1: options").fill("Morning, in Room 201\nAfternoon")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Registration settings saved.")

    page.goto(f"/events/{lecture['slug']}")
    expect(page.get_by_label("Morning, in Room 201")).to_be_visible()
    expect(page.get_by_text("Dietary needs")).to_be_visible()
    expect(page.locator("form fieldset legend").first).to_contain_text("Which workshop?")
    expect(page.get_by_text("I need an invitation letter for a visa")).to_have_count(0)


def test_question_editor_and_its_errors_pass_axe_and_the_summary_names_each_field(site, page, axe_script: str):
    lecture = open_lecture(site, capacity=10, questions=OLD_QUESTIONS)
    log_in(page, lecture["organiser"])
    page.goto(f"/organiser/events/{lecture['slug']}/registrations/settings")
    assert unlabelled_fields(page) == []
    assert axe_violations(page, axe_script) == []

    page.get_by_label("Capacity").fill("-4")
    page.get_by_label("Question 3: label").fill("Workshop")
    page.get_by_label("Question 3: kind of answer").select_option("single_choice")
    page.get_by_role("button", name="Save").click()
    summary = page.locator(".error-summary li")
    expect(summary).to_have_text(["Capacity: Enter a number from 0 to 100000.",
                                  "Question 3: options: Question 3 needs between 1 and 30 options."])
    summary.first.get_by_role("link").click()
    expect(page.get_by_label("Capacity")).to_be_focused()
    assert axe_violations(page, axe_script) == []


def test_event_form_error_summary_names_the_field(site, page):
    log_in(page, site.organiser())
    page.goto("/organiser/events/new")
    page.get_by_label("Title").fill("Joint workshop 联合研讨会")
    page.get_by_label("Starts").fill("2031-05-10T09:00")
    page.get_by_label("Ends").fill("2031-05-10T08:00")
    page.get_by_label("Time zone").fill("Mars/Olympus")
    page.get_by_role("button", name="Save").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Time zone: Unknown time zone")
    expect(summary.get_by_role("link", name="Time zone: Unknown time zone", exact=False)).to_have_attribute(
        "href", "#f-timezone")
    expect(page.get_by_label("Title")).to_have_value("Joint workshop 联合研讨会")
