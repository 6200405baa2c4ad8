"""The programme grid's cells, built in Python and kept per talk version.

A 2,000-talk page would otherwise run a template loop 2,000 times per change; here a change re-renders only
the cells whose talk (or place in the grid) changed, and the page template just places each day's cells.
"""

from __future__ import annotations

from typing import cast

from markupsafe import Markup, escape

from events_app.core.i18n import current_locale
from events_app.core.i18n import gettext as _
from events_app.schedule.programme import Day, Item, Programme
from events_app.web.urls import url_path


def _cell(item: Item, column: int | str, first_row: int, last_row: int) -> str:
    classes = "slot" + (" break" if item.is_break else "") + (" changed" if item.change else "")
    opening = f'<div class="{classes}" id="talk-{item.id}" style="grid-column: {column}; grid-row: {first_row} / {last_row}">'
    parts = [f'<span class="when">{item.local_start:%H:%M}–{item.local_end:%H:%M}</span>']
    if item.room_name:
        parts.append(f'<span class="where">{escape(item.room_name)}</span>')
    parts.append(f'<strong class="what">{escape(item.title)}</strong>')
    if item.speakers:
        names = ", ".join(f'<a href="{url_path("speaker", person_id=s.id)}">{escape(s.display_name)}</a>' for s in item.speakers)
        parts.append(f'<span class="who">{names}</span>')
    if item.track:
        parts.append(f'<span class="track">{escape(item.track)}</span>')
    if item.change:
        label = _("new") if item.change == "new" else _("moved")
        parts.append(f'<span class="change-mark">{escape(label)}</span>')
    # Spaces between the pieces: read as text (screen readers, copying, search) they are words, not "Plenarymoved".
    return opening + " ".join(parts) + "</div>\n"


def day_cells(day: Day, pieces: dict | None = None, event_id: int = 0) -> Markup:
    locale = current_locale.get()
    signature = (locale, tuple(day.items), tuple(i.change for i in day.items),
                 tuple((c.key, c.name) for c in day.columns), day.start)
    key = ("html", event_id, day.index, locale)
    if pieces is not None and key in pieces and pieces[key][0] == signature:
        return pieces[key][1]
    out: list[str] = []
    for item in day.items:
        column, first_row, last_row = day.column_of(item), day.row_of(item.local_start), day.row_of(item.local_end)
        # Not `key`: that names the whole day's piece, stored under it below.
        cell_key = ("html", locale, column, first_row, last_row, item.local_start, item.local_end,
                    item.room_name, item.change)
        cell = item.detail.fragments.get(cell_key)
        if cell is None:
            cell = item.detail.fragments[cell_key] = _cell(item, column, first_row, last_row)
        out.append(cast(str, cell))
    cells = Markup("".join(out))
    if pieces is not None:
        pieces[key] = (signature, cells)
    return cells


def grid_cells(programme: Programme) -> dict[int, Markup]:
    return {day.index: day_cells(day, programme.day_pieces, programme.event.id) for day in programme.days}


def session_items(programme: Programme) -> Markup:
    """The list of sessions and their chairs, kept while the sessions are the ones read last time."""
    locale = current_locale.get()
    key = ("sessions", programme.event.id, locale)
    signature = (programme.sessions,)
    cached = programme.day_pieces.get(key)
    if cached is not None and cached[0][0] is programme.sessions:
        return cached[1]
    chair_label = escape(_("chair"))
    out = []
    for s in programme.sessions:
        line = [f"<li><strong>{escape(s.title)}</strong> — {s.local_start:%Y-%m-%d %H:%M}–{s.local_end:%H:%M}"]
        if s.room_name:
            line.append(f", {escape(s.room_name)}")
        if s.track:
            line.append(f" ({escape(s.track)})")
        if s.chairs:
            chairs = ", ".join(f'<a href="{url_path("speaker", person_id=c.id)}">{escape(c.display_name)}</a>' for c in s.chairs)
            line.append(f"; {chair_label}: {chairs}")
        line.append("</li>")
        out.append("".join(line))
    html = Markup("".join(out))
    programme.day_pieces[key] = (signature, html)
    return html
