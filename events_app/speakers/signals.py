"""What the speakers domain announces (receivers are connected in events_app.wiring).

Sent inside the transaction that made the change: the programme that shows a person (schedule) reacts without
speakers importing it.
"""

from __future__ import annotations

from events_app.core.bus import Signal

# payload: person_id, printed (bool: what talks print about the person changed, e.g. name or affiliation; False
# when only the photo did). After a merge, person_id is the record kept, which now has the other's talks.
person_changed = Signal("person changed", "A person's details changed; programmes showing them are bumped.")

# payload: invitation (status already set: accepted, declined or still pending), person, title, abstract (the
# speaker's corrected talk details, possibly empty), previous_status (before this answer). Only an accepted
# speaker is linked to the invited talk; an acceptance without a talk gets one (unscheduled).
invitation_answered = Signal("invitation answered", "A speaker answered or updated an invitation through their link.")

# payload: person_id. Each receiver answers a dict merged into the public speaker page's context (their talks).
speaker_page_shown = Signal("speaker page shown", "The public page of a speaker is being rendered.")

# payload: event. Each receiver answers a dict merged into the organisers' speaker board (the talks to invite to).
speaker_board_shown = Signal("speaker board shown", "An event's speaker board is rendered for its organisers.")
