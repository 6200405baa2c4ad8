"""The composition root: the one place that connects domains to each other's announcements and registers the
worker's periodic jobs. create_app, the CLI and the test suite call ``wire()``; it is idempotent.

Who listens to what (docs/architecture.md draws it):
- events ``event_withdrawn`` -> calendar keeps the withdrawn event and its talks in the feeds as cancelled;
- events ``event_changed``   -> calendar forgets a withdrawal; registration mails confirmed attendees;
- events ``event_registration_state`` -> registration says whether it is closed, and opens it when asked;
- events ``event_audience_counted`` -> registration counts the confirmed attendees a change would mail;
- events ``event_page_shown`` -> registration adds its panel to the public event page, schedule its materials,
  calls its open calls;
- events ``organiser_event_page_shown`` -> registration lists the announcements sent on the organisers' page;
- schedule ``talk_deleted`` / ``talk_unscheduled`` -> calendar keeps a cancellation of the talk in the feeds;
- speakers ``person_changed`` -> schedule bumps (and re-renders) the programmes showing the person;
- speakers ``invitation_answered`` -> schedule links an accepted speaker to the invited talk, unlinks on decline;
- speakers ``speaker_page_shown`` / ``speaker_board_shown`` -> schedule adds the talks to those pages.
Template globals: calendar's ``calendar_links`` (web/ imports no domain).
Periodic jobs: registration "expire seat offers" and "send reminders", notify "purge finished mail", documents
"purge letter data" (passport data some time after the event).
Documents' mail composer registers itself when documents.services is imported here.
"""

from __future__ import annotations

import events_app.models  # noqa: F401  (every mapper, before any session is used)
from events_app.calendar.links import calendar_links
from events_app.calendar.services import forget_withdrawal, record_deleted_talk, record_withdrawal
from events_app.calls.services import event_page_context as calls_page_context
from events_app.core.periodic import register_job
from events_app.documents.services import purge_letter_data
from events_app.events.signals import (
    event_audience_counted,
    event_changed,
    event_page_shown,
    event_registration_state,
    event_withdrawn,
    organiser_event_page_shown,
)
from events_app.notify.services import purge_expired_mail
from events_app.registration.announcements import organiser_page_context
from events_app.registration.receivers import (
    announce_event_change,
    confirmed_attendee_count,
    expire_seat_offers,
    registration_page_context,
    registration_state,
)
from events_app.registration.reminders import send_due_reminders
from events_app.registration.reports import status_label
from events_app.schedule import receivers as schedule_receivers
from events_app.schedule.materials import event_page_context as materials_page_context
from events_app.schedule.signals import talk_deleted, talk_unscheduled
from events_app.speakers.signals import (
    invitation_answered,
    person_changed,
    speaker_board_shown,
    speaker_page_shown,
)
from events_app.web.page_cache import watch_writes
from events_app.web.templating import add_template_global


def wire() -> None:
    watch_writes()  # committed writes clear the rendered public pages, in every process
    add_template_global("calendar_links", calendar_links)
    add_template_global("registration_status_label", status_label)
    # Order matters where two receivers touch the same rows: the calendar's record first, then the mails.
    event_withdrawn.connect(record_withdrawal)
    event_changed.connect(forget_withdrawal)
    event_changed.connect(announce_event_change)
    event_audience_counted.connect(confirmed_attendee_count)
    event_registration_state.connect(registration_state)
    event_page_shown.connect(registration_page_context)
    event_page_shown.connect(materials_page_context)
    event_page_shown.connect(calls_page_context)
    organiser_event_page_shown.connect(organiser_page_context)
    talk_deleted.connect(record_deleted_talk)
    talk_unscheduled.connect(record_deleted_talk)
    person_changed.connect(schedule_receivers.person_changed)
    invitation_answered.connect(schedule_receivers.invitation_answered)
    speaker_page_shown.connect(schedule_receivers.speaker_page_context)
    speaker_board_shown.connect(schedule_receivers.speaker_board_context)
    register_job("expire seat offers", expire_seat_offers)
    register_job("purge finished mail", purge_expired_mail)
    register_job("send reminders", send_due_reminders)
    register_job("purge letter data", purge_letter_data)
