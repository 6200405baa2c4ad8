"""What the schedule domain announces (receivers are connected in events_app.wiring)."""

from __future__ import annotations

from events_app.core.bus import Signal

# payload: talk (still loaded, its row about to be deleted in the same transaction)
talk_deleted = Signal("talk deleted", "A talk is being deleted; calendars keep a cancellation for it.")
# payload: talk (still with the time it had; its starts_at and ends_at become NULL in the same transaction)
talk_unscheduled = Signal(
    "talk unscheduled", "A talk loses its time; calendars announce it as cancelled, as for a deleted talk."
)
