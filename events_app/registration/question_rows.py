"""The organiser's question editor: one row of form fields per question, read back into the list that
`clean_questions` checks (the JSON API sends that list directly).

Works without JavaScript: the page shows the questions plus a few blank rows, and "Add more rows" posts the
form back to be shown again with more blank rows, nothing saved. Row n's fields are named `questions.n.label`,
`questions.n.kind`, ... (questions.question_field), the names `clean_questions` gives its errors, so each
message lands on its row's field."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from events_app.core.i18n import gettext as _
from events_app.core.validation import Errors
from events_app.registration.models import QuestionKind
from events_app.registration.questions import MAX_QUESTIONS, question_field

BLANK_ROWS = 3
# Rows read from one post: the questions allowed plus blank rows added a few times; anything further is ignored.
MAX_ROWS = MAX_QUESTIONS + 4 * BLANK_ROWS
ROW_PARTS = ("label", "kind", "options", "required", "order", "key", "remove")
ADD_ROWS = "add_rows"
_ROW_FIELD = re.compile(r"^questions\.(\d{1,3})\.(\w+)$")
CHOICE_KINDS = (QuestionKind.SINGLE_CHOICE.value, QuestionKind.MULTIPLE_CHOICE.value)


def kind_choices() -> list[tuple[str, str]]:
    return [
        (QuestionKind.SHORT_TEXT.value, _("Short text")),
        (QuestionKind.LONG_TEXT.value, _("Long text")),
        (QuestionKind.SINGLE_CHOICE.value, _("One choice from a list")),
        (QuestionKind.MULTIPLE_CHOICE.value, _("Several choices from a list")),
        (QuestionKind.CHECKBOX.value, _("A box to tick (yes or no)")),
    ]


def rows_from_questions(questions: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The stored questions as editor rows, in their order, each with its key so answers stay attached."""
    return [{
        "label": str(q.get("label") or ""), "kind": str(q.get("kind") or QuestionKind.SHORT_TEXT.value),
        "options": "\n".join(str(o) for o in q.get("options") or []), "required": "on" if q.get("required") else "",
        "order": str(n), "key": str(q.get("key") or ""),
    } for n, q in enumerate(questions, start=1)]


def _is_blank(row: Mapping[str, str]) -> bool:
    return not row.get("label", "").strip() and not row.get("options", "").strip()


def rows_from_form(values: Mapping[str, Any]) -> tuple[list[dict[str, str]], Errors]:
    """The posted rows without removed and blank ones, sorted by their order number and numbered again from
    1, so that question n of `clean_questions` is row n on the page shown again. An order that is not a
    number keeps the row where it was and is reported on that row."""
    posted: dict[int, dict[str, str]] = {}
    for name, value in values.items():
        match = _ROW_FIELD.match(name)
        if match and match.group(2) in ROW_PARTS and isinstance(value, str) and 0 < int(match.group(1)) <= MAX_ROWS:
            posted.setdefault(int(match.group(1)), {})[match.group(2)] = value
    kept: list[tuple[int, int, bool, dict[str, str]]] = []
    for position, row in sorted(posted.items()):
        if row.get("remove") or _is_blank(row):
            continue
        text = row.get("order", "").strip()
        valid = text.isascii() and text.isdigit() and 0 < len(text) <= 3 and int(text) > 0
        kept.append((int(text) if valid else position, position, valid, row))
    kept.sort(key=lambda item: (item[0], item[1]))
    errors = Errors()
    rows = []
    for n, (_order, _position, valid, row) in enumerate(kept, start=1):
        if not valid:
            errors.add(question_field(n, "order"), _("Question %(n)s: give its place as a number from 1 to 999.", n=n))
        rows.append({part: row.get(part, "") for part in ROW_PARTS if part != "remove"} | {"order": str(n)})
    return rows, errors


def questions_from_rows(rows: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
    """Rows as the list `clean_questions` reads; options one per line (commas stay inside an option, as in
    "Beijing, China")."""
    return [{
        "label": row.get("label", ""), "kind": row.get("kind", ""), "required": bool(row.get("required")),
        "options": [line.strip() for line in row.get("options", "").splitlines() if line.strip()]
        if row.get("kind") in CHOICE_KINDS else [],
        "key": row.get("key") or None,
    } for row in rows]


def editor_values(rows: Sequence[Mapping[str, str]], blank: int = BLANK_ROWS) -> tuple[dict[str, str], list[int]]:
    """The form values of the rows followed by `blank` empty rows, and the row numbers to show."""
    blank = max(0, min(blank, MAX_ROWS - len(rows)))
    values: dict[str, str] = {}
    numbers = list(range(1, len(rows) + blank + 1))
    for n in numbers:
        row = rows[n - 1] if n <= len(rows) else {"kind": QuestionKind.SHORT_TEXT.value, "order": str(n)}
        for part in ROW_PARTS:
            if part in row:
                values[question_field(n, part)] = row[part]
    return values, numbers


def posted_blank_rows(values: Mapping[str, Any], rows: Sequence[Mapping[str, str]]) -> int:
    """How many blank rows to show again: as many as were on the page (at least BLANK_ROWS), plus BLANK_ROWS
    more when "Add more rows" was pressed."""
    shown = sum(1 for name in values if name.startswith("questions.") and name.endswith(".label"))
    blank = max(BLANK_ROWS, shown - len(rows))
    return blank + BLANK_ROWS if values.get(ADD_ROWS) else blank
