"""The attendee's form: the organiser's questions, the answers, the fields every registration has.

The same checks for the HTML form and the JSON API, so both reject the same input with the same messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from events_app.core.i18n import gettext as _
from events_app.core.slugs import slug_base
from events_app.core.text import strip_control
from events_app.core.validation import Errors, clean_country, clean_email, clean_text
from events_app.registration.models import QuestionKind

FIELD_LIMITS = {"name": 200, "affiliation": 200}


ANSWER_LIMITS = {QuestionKind.SHORT_TEXT: 200, QuestionKind.LONG_TEXT: 5000}


MAX_QUESTIONS = 30


MAX_OPTIONS = 30


MAX_KEY_LENGTH = 100


def normalise_email(email: str) -> str:
    # email_validator has already lower-cased the domain; mailbox case is kept by servers but never matters
    # to people, so "Wang@Example.cn" and "wang@example.cn" are one registration.
    return email.strip().lower()


def question_field(index: int, part: str) -> str:
    """The name of one part of the index-th question (from 1): the error key the HTML editor's row and the
    API's 4xx both use, e.g. `questions.2.options`."""
    return f"questions.{index}.{part}"


def clean_questions(errors: Errors, value: Any) -> list[dict[str, Any]]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > MAX_QUESTIONS:
        errors.add("questions", _("Give at most %(n)s questions as a list.", n=MAX_QUESTIONS))
        return []
    questions: list[dict[str, Any]] = []
    keys: set[str] = set()
    kinds = {k.value for k in QuestionKind}
    for index, item in enumerate(value, start=1):
        if not isinstance(item, Mapping):
            errors.add(question_field(index, "label"), _("Question %(n)s is not understood.", n=index))
            continue
        label = " ".join(strip_control(str(item.get("label") or "")).split())
        kind = str(item.get("kind") or "")
        if not label or len(label) > 300:
            errors.add(question_field(index, "label"),
                       _("Question %(n)s needs a label of at most 300 characters.", n=index))
            continue
        if kind not in kinds:
            errors.add(question_field(index, "kind"), _("Question %(n)s: choose short_text, long_text, single_choice, "
                                                        "multiple_choice or checkbox.", n=index))
            continue
        options = [" ".join(strip_control(str(o)).split()) for o in (item.get("options") or []) if str(o).strip()]
        if kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE):
            if not options or len(options) > MAX_OPTIONS or any(len(o) > 200 for o in options):
                errors.add(question_field(index, "options"),
                           _("Question %(n)s needs between 1 and %(m)s options.", n=index, m=MAX_OPTIONS))
                continue
        else:
            options = []
        # A stored key ties the answers already given to the question, so it is kept as it is; a new question
        # (or a key that is not a short plain name) gets one from its label.
        key = " ".join(strip_control(str(item.get("key") or "")).split())
        if not key or len(key) > MAX_KEY_LENGTH:
            key = slug_base(label, f"q{index}")[:40]
        base, n = key, 2
        while key in keys:
            key, n = f"{base}-{n}", n + 1
        keys.add(key)
        questions.append({"key": key, "label": label, "kind": kind, "required": bool(item.get("required")),
                          "options": options})
    return questions


def clean_answers(errors: Errors, questions: Sequence[Mapping[str, Any]], answers: Any) -> dict[str, Any]:
    if answers is None:
        answers = {}
    if not isinstance(answers, Mapping):
        errors.add("answers", _("Answers must be given by question."))
        return {}
    cleaned: dict[str, Any] = {}
    for question in questions:
        key, kind, name = question["key"], QuestionKind(question["kind"]), f"answers.{question['key']}"
        value = answers.get(key)
        if kind in ANSWER_LIMITS:
            text = clean_text(errors, name, value, max_length=ANSWER_LIMITS[kind], required=question["required"],
                              multiline=kind == QuestionKind.LONG_TEXT)
            if text:
                cleaned[key] = text
        elif kind == QuestionKind.SINGLE_CHOICE:
            if value in (None, ""):
                if question["required"]:
                    errors.add(name, _("Please choose one."))
            elif value not in question["options"]:
                errors.add(name, _("Choose one of the offered options."))
            else:
                cleaned[key] = value
        elif kind == QuestionKind.MULTIPLE_CHOICE:
            chosen = value if isinstance(value, list) else ([] if value in (None, "") else [value])
            if any(c not in question["options"] for c in chosen):
                errors.add(name, _("Choose among the offered options."))
            elif question["required"] and not chosen:
                errors.add(name, _("Please choose at least one."))
            elif chosen:
                cleaned[key] = [o for o in question["options"] if o in chosen]
        else:  # checkbox
            checked = value in (True, "on", "true", "1", "yes", 1)
            if question["required"] and not checked:
                errors.add(name, _("Please tick this box to continue."))
            cleaned[key] = checked
    return cleaned


def answer_text(question: Mapping[str, Any], answers: Mapping[str, Any]) -> str:
    value = answers.get(question["key"])
    if question["kind"] == QuestionKind.CHECKBOX:
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return "; ".join(value)
    return "" if value is None else str(value)


def clean_attendee(data: Mapping[str, Any], questions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The attendee's fields; the same checks for the HTML form and the JSON API."""
    errors = Errors()
    cleaned = {
        "name": clean_text(errors, "name", data.get("name"), max_length=FIELD_LIMITS["name"], required=True,
                           multiline=False),
        "email": clean_email(errors, "email", data.get("email"), required=True),
        "affiliation": clean_text(errors, "affiliation", data.get("affiliation"),
                                  max_length=FIELD_LIMITS["affiliation"], multiline=False),
        "country": clean_country(errors, "country", data.get("country")),
        "answers": clean_answers(errors, questions, data.get("answers")),
    }
    errors.raise_if_any()
    return cleaned


# The organisers' text form of the questions (one per line), shared by every form that takes questions.
def questions_to_text(questions: list[dict[str, Any]]) -> str:
    lines = []
    for q in questions:
        parts = [q["label"], q["kind"], "required" if q["required"] else "optional"]
        if q["options"]:
            parts.append("; ".join(q["options"]))
        lines.append(" | ".join(parts))
    return "\n".join(lines)


def questions_from_text(text: str, existing: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One question per line: `label | kind | required or optional | option; option`."""
    keys = {q["label"]: q["key"] for q in existing}
    questions = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")] + ["", "", ""]
        label, kind, required, options = parts[0], parts[1] or "short_text", parts[2], parts[3]
        questions.append({"label": label, "kind": kind, "required": required.lower() in ("required", "yes", "true"),
                          "options": [o.strip() for o in options.split(";") if o.strip()], "key": keys.get(label)})
    return questions
