"""What the events domain announces (receivers are connected in events_app.wiring).

Every signal is sent inside the transaction that made the change, with the event's revision already bumped.
"""

from __future__ import annotations

from events_app.core.bus import Signal

# payload: event, changed (set of field names), previous_status, settings, notify_attendees (False: the organiser
# chose not to mail attendees about a change of time or place)
event_changed = Signal("event changed", "An event's fields or status changed (sent after every change).")

# payload: event, previous_status. Sent besides event_changed when a public event goes back to draft: to a
# calendar it is gone, whatever the organiser calls it.
event_withdrawn = Signal("event withdrawn", "A published or cancelled event was taken back to draft.")

# payload: event (a PublicEvent: events/public.py), settings, kept_parts (names of the page's parts kept rendered,
# web/fragments.py: a receiver whose part is kept need not read it), keep_seats ((event id, read) -> the read's
# value, kept for a moment as web/fragments.py kept_seats says). Each receiver answers a dict merged into the
# public event page's context (the registration panel), so the page shows what other domains have to say
# without events importing them.
event_page_shown = Signal("event page shown", "The public page of an event is being rendered.")

# payload: event. Like event_page_shown, for the organisers' page of the event (the announcements sent).
organiser_event_page_shown = Signal("organiser event page shown", "An event's page for its organisers is rendered.")

# payload: event. Each receiver answers how many people a change of the event's time, place or status would
# mail (registration: the confirmed attendees), so a page can say so before the organiser confirms.
event_audience_counted = Signal("event audience counted", "How many people a change of an event would mail.")

# payload: event, open_registration (the organiser ticked "open registration" on the event or status form).
# Registration opens it when asked, and answers {"registration_closed": bool}: whether nobody can register yet,
# so the pages warn before and after publishing.
event_registration_state = Signal("event registration state", "Is an event's registration closed (and open it).")
