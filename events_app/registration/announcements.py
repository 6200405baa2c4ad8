"""Announcements: an organiser writes to an audience of one event; each recipient gets their own message.

Sending only writes one small outbox row per recipient (a bulk insert, so 5,000 take well under a second); the
worker composes each message (placeholders, the person's language, a manage link minted then, so no queued
row holds a token). Rows are spread over time at the announcement's rate (``next_attempt_at``), which
throttles every worker together and makes progress countable from the outbox.

Announcements and reminders are the non-essential mail: they carry ``List-Unsubscribe`` with a one-click
address (RFC 8058), and a registration that stopped them gets none. Mail about the registration itself
(confirmation, offers, cancellation) is queued elsewhere and always goes out.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.core.i18n import current_locale, speaking
from events_app.core.i18n import gettext as _
from events_app.core.validation import Errors, clean_text
from events_app.events.models import Event
from events_app.notify.models import Announcement, AnnouncementAudience, OutboxMessage, OutboxStatus
from events_app.notify.services import build_message, composer, preparer
from events_app.registration.mail import (
    hash_token,
    issue_manage_link,
    mail_reference,
    new_token,
    private_links,
)
from events_app.registration.models import (
    Registration,
    RegistrationLink,
    RegistrationSettings,
    RegistrationStatus,
)
from events_app.settings import Settings
from events_app.web.urls import absolute_url

COMPOSER = "announcement"
KIND = "announcement"
PLACEHOLDERS = ("name", "event", "manage_link", "online_link")
PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")
WAITING = (RegistrationStatus.WAITLISTED, RegistrationStatus.OFFERED)
ACTIVE = (RegistrationStatus.CONFIRMED, RegistrationStatus.PENDING, *WAITING)


def audience_labels() -> dict[str, str]:
    return {
        AnnouncementAudience.CONFIRMED.value: _("All confirmed attendees"),
        AnnouncementAudience.WAITLISTED.value: _("Everyone on the waitlist"),
        AnnouncementAudience.PENDING.value: _("Everyone awaiting approval"),
        AnnouncementAudience.CHECKED_IN.value: _("Checked in"),
        AnnouncementAudience.NOT_CHECKED_IN.value: _("Confirmed but not checked in"),
        AnnouncementAudience.SPEAKERS.value: _("Speakers of the event"),
        AnnouncementAudience.ANSWERED.value: _("Those who answered a question a given way"),
    }


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    locale: str
    registration_id: int | None = None  # None for speakers: they have no registration to manage


@dataclass(frozen=True)
class Draft:
    """A cleaned announcement, before it is kept and sent."""

    audience: str
    question_key: str
    question_value: str
    subject_en: str
    body_en: str
    subject_zh: str
    body_zh: str

    def version_for(self, locale: str) -> tuple[str, str]:
        """The Chinese version for people who registered in Chinese, when one was written; else the English."""
        if locale == "zh" and self.subject_zh and self.body_zh:
            return self.subject_zh, self.body_zh
        if self.subject_en and self.body_en:
            return self.subject_en, self.body_en
        return self.subject_zh, self.body_zh


def draft_of(row: Announcement | Mapping[str, Any]) -> Draft:
    get = (lambda k: row.get(k, "")) if isinstance(row, Mapping) else (lambda k: getattr(row, k))
    return Draft(*(get(k) for k in ("audience", "question_key", "question_value", "subject_en", "body_en",
                                    "subject_zh", "body_zh")))


def clean_draft(data: Mapping[str, Any], questions: Sequence[Mapping[str, Any]]) -> Draft:
    errors = Errors()
    audience = str(data.get("audience") or "")
    if audience not in audience_labels():
        errors.add("audience", _("Choose who receives the message."))
    key = clean_text(errors, "question_key", data.get("question_key"), max_length=80, multiline=False)
    value = clean_text(errors, "question_value", data.get("question_value"), max_length=300, multiline=False)
    if audience == AnnouncementAudience.ANSWERED.value:
        if key not in {q["key"] for q in questions}:
            errors.add("question_key", _("Choose one of the event's questions."))
        if not value:
            errors.add("question_value", _("Give the answer to look for."))
    else:
        key = value = ""
    texts = {}
    for lang in ("en", "zh"):
        texts[f"subject_{lang}"] = clean_text(errors, f"subject_{lang}", data.get(f"subject_{lang}"),
                                              max_length=300, multiline=False)
        texts[f"body_{lang}"] = clean_text(errors, f"body_{lang}", data.get(f"body_{lang}"), max_length=20000)
        if bool(texts[f"subject_{lang}"]) != bool(texts[f"body_{lang}"]):
            missing = f"body_{lang}" if texts[f"subject_{lang}"] else f"subject_{lang}"
            errors.add(missing, _("Write both the subject and the message of this language, or neither."))
        for field in (f"subject_{lang}", f"body_{lang}"):
            unknown = sorted({m for m in PLACEHOLDER.findall(texts[field]) if m not in PLACEHOLDERS})
            if unknown:
                errors.add(field, _("Unknown placeholder %(names)s; use %(known)s.",
                                    names=", ".join("{" + u + "}" for u in unknown),
                                    known=", ".join("{" + p + "}" for p in PLACEHOLDERS)))
    if not (texts["subject_en"] or texts["subject_zh"]) and "subject_en" not in errors:
        errors.add("subject_en", _("Write the message in English, Chinese or both."))
    errors.raise_if_any()
    return Draft(audience=audience, question_key=key, question_value=value, **texts)


# ---- who receives it ----------------------------------------------------------------------------------------
def _answered(answers: Mapping[str, Any] | None, key: str, value: str) -> bool:
    given = (answers or {}).get(key)
    wanted = value.strip().casefold()
    if isinstance(given, list):
        return any(str(v).strip().casefold() == wanted for v in given)
    if isinstance(given, bool):
        return wanted in ({"yes", "true", "1", "on", "是"} if given else {"no", "false", "0", "off", "否"})
    return given is not None and str(given).strip().casefold() == wanted


async def recipients(session: AsyncSession, event: Event, draft: Draft) -> list[Recipient]:
    """Everyone the draft's audience names, once per address; registrations that stopped announcements are left
    out (they asked not to receive them)."""
    audience = AnnouncementAudience(draft.audience)
    if audience == AnnouncementAudience.SPEAKERS:
        return await _speakers(session, event)
    where = [Registration.event_id == event.id, Registration.announcements_stopped_at.is_(None)]
    if audience == AnnouncementAudience.CONFIRMED:
        where.append(Registration.status == RegistrationStatus.CONFIRMED)
    elif audience == AnnouncementAudience.WAITLISTED:
        where.append(Registration.status.in_(WAITING))
    elif audience == AnnouncementAudience.PENDING:
        where.append(Registration.status == RegistrationStatus.PENDING)
    elif audience == AnnouncementAudience.CHECKED_IN:
        where += [Registration.status == RegistrationStatus.CONFIRMED, Registration.checked_in_at.is_not(None)]
    elif audience == AnnouncementAudience.NOT_CHECKED_IN:
        where += [Registration.status == RegistrationStatus.CONFIRMED, Registration.checked_in_at.is_(None)]
    else:  # answered: answers are JSON, compared here the same way on SQLite and PostgreSQL
        where.append(Registration.status.in_(ACTIVE))
    columns: list[Any] = [Registration.id, Registration.email, Registration.name, Registration.locale]
    if audience == AnnouncementAudience.ANSWERED:
        columns.append(Registration.answers)
    rows = (await session.execute(select(*columns).where(*where).order_by(Registration.id))).all()
    if audience == AnnouncementAudience.ANSWERED:
        rows = [r for r in rows if _answered(r[4], draft.question_key, draft.question_value)]
    return [Recipient(email=r[1], name=r[2], locale=r[3] or "en", registration_id=r[0]) for r in rows]


async def _speakers(session: AsyncSession, event: Event) -> list[Recipient]:
    from events_app.schedule.models import Talk, TalkSpeaker
    from events_app.speakers.models import Person

    rows = (await session.execute(
        select(Person.email, Person.full_name).distinct()
        .join(TalkSpeaker, TalkSpeaker.person_id == Person.id).join(Talk, Talk.id == TalkSpeaker.talk_id)
        .where(Talk.event_id == event.id, Person.email != "").order_by(Person.full_name)
    )).all()
    seen: set[str] = set()
    found = []
    for email, name in rows:
        if email.lower() not in seen:
            seen.add(email.lower())
            found.append(Recipient(email=email, name=name, locale=event.language if event.language == "zh" else "en"))
    return found


async def event_questions(session: AsyncSession, event: Event) -> list[dict[str, Any]]:
    questions = await session.scalar(select(RegistrationSettings.questions)
                                     .where(RegistrationSettings.event_id == event.id))
    return list(questions or [])


# ---- one message ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(draft: Draft, event: Event, recipient: Recipient, *, manage_link: str, online_link: str) -> Rendered:
    """Fills the placeholders. The organiser's text and every value are escaped in the HTML part; the plain
    text part is plain text, and build_message keeps line breaks out of the subject."""
    subject, body = draft.version_for(recipient.locale)
    values = {"name": recipient.name, "event": event.title, "manage_link": manage_link, "online_link": online_link}

    def fill_text(text: str) -> str:
        return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)

    def fill_html(text: str) -> str:
        parts, last = [], 0
        for match in PLACEHOLDER.finditer(text):
            parts.append(escape(text[last:match.start()]))
            key, value = match.group(1), values.get(match.group(1))
            if value is None:
                parts.append(escape(match.group(0)))
            elif key in ("manage_link", "online_link") and value:
                parts.append(Markup('<a href="{0}">{0}</a>').format(value))
            else:
                parts.append(escape(value))
            last = match.end()
        parts.append(escape(text[last:]))
        return str(Markup("").join(parts)).replace("\n", "<br>\n")

    text = fill_text(body)
    html = f'<!doctype html><html><body><div style="font-family:sans-serif">{fill_html(body)}</div></body></html>'
    return Rendered(subject=fill_text(subject), text=text, html=html)


def add_unsubscribe_headers(message: EmailMessage, unsubscribe_url: str) -> None:
    """RFC 2369 and RFC 8058: mail clients offer one click that POSTs ``List-Unsubscribe=One-Click`` here."""
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"


async def preview(session: AsyncSession, settings: Settings, event: Event, draft: Draft
                  ) -> tuple[int, Rendered | None]:
    """How many would receive the draft, and the message the first of them would get (with a stand-in for the
    private link, which is minted only when the real message is composed)."""
    people = await recipients(session, event, draft)
    if not people:
        return 0, None
    first = people[0]
    link = f"{settings.base_url}/registrations/…" if first.registration_id else ""
    return len(people), render(draft, event, first, manage_link=link, online_link=event.online_url)


async def send_test(session: AsyncSession, settings: Settings, event: Event, draft: Draft, account: Account) -> None:
    """The message as the organiser's own address would get it, in the language they are using now."""
    from events_app.notify.services import enqueue_email

    me = Recipient(email=account.email, name=account.full_name or account.email, locale=current_locale.get())
    rendered = render(draft, event, me, manage_link=f"{settings.base_url}/registrations/…",
                      online_link=event.online_url)
    row = await enqueue_email(session, to=account.email, subject=_("[Test] %(subject)s", subject=rendered.subject),
                              text_body=rendered.text, html_body=rendered.html, settings=settings)
    row.event_id, row.kind = event.id, f"{KIND}:test"


async def send(session: AsyncSession, settings: Settings, event: Event, draft: Draft, author: Account,
               *, per_minute: int | None = None) -> Announcement:
    """Keeps the announcement and queues one row per recipient, spread over time at ``per_minute``."""
    people = await recipients(session, event, draft)
    rate = settings.announcement_per_minute if per_minute is None else per_minute
    announcement = Announcement(
        event_id=event.id, author_id=author.id, author_name=author.full_name or author.email,
        recipient_count=len(people), per_minute=rate, **asdict(draft),
    )
    session.add(announcement)
    await session.flush()
    await queue_rows(session, event, people, composer_name=COMPOSER, kind=KIND,
                     batch=f"{KIND}:{announcement.id}", payload={"announcement_id": announcement.id}, per_minute=rate)
    return announcement


async def queue_rows(session: AsyncSession, event: Event, people: Sequence[Recipient], *, composer_name: str,
                     kind: str, batch: str | None, payload: Mapping[str, Any], per_minute: int) -> None:
    """One deferred outbox row per person, written in one statement; each carries its person's language."""
    now = dt.datetime.now(dt.UTC)
    step = dt.timedelta(minutes=1) / per_minute if per_minute > 0 else dt.timedelta(0)
    rows = [{
        "to_address": person.email, "subject": "", "raw": None, "composer": composer_name,
        "payload": {**payload, "locale": person.locale, "registration_id": person.registration_id,
                    **({} if person.registration_id else {"to": person.email, "name": person.name})},
        "status": OutboxStatus.PENDING, "attempts": 0, "next_attempt_at": now + step * index, "last_error": "",
        "reference": mail_reference(person.registration_id) if person.registration_id else None,
        "event_id": event.id, "kind": kind, "batch": batch, "created_at": now, "updated_at": now,
    } for index, person in enumerate(people)]
    if rows:
        await session.execute(insert(OutboxMessage), rows)


LINKS = "announcement_links"  # session.info key: registration id -> a manage link minted by the preparer


@preparer(COMPOSER)
async def prepare_announcements(session: AsyncSession, settings: Settings, payloads: Sequence[Mapping[str, Any]]
                                ) -> None:
    """For a pass of announcement rows: their announcements and registrations in two queries, and one manage
    link each in one INSERT, instead of a query and an INSERT per message. Tokens stay in memory (session.info),
    never in the outbox."""
    # The identity map holds objects weakly: keep them referenced for the pass, or each get() queries again.
    keep = session.info.setdefault(f"{LINKS}:objects", [])
    found = list(await session.scalars(select(Announcement).where(
        Announcement.id.in_({p["announcement_id"] for p in payloads}))))
    keep += found
    keep += await session.scalars(select(Event).where(Event.id.in_({a.event_id for a in found})))
    ids = [p["registration_id"] for p in payloads if p.get("registration_id") is not None]
    if not ids:
        return
    registrations = list(await session.scalars(select(Registration).where(Registration.id.in_(ids))))
    keep += registrations
    tokens = {r.id: new_token() for r in registrations if r.announcements_stopped_at is None}
    now = dt.datetime.now(dt.UTC)
    if tokens:
        await session.execute(insert(RegistrationLink), [
            {"registration_id": rid, "token_hash": hash_token(token), "created_at": now, "updated_at": now}
            for rid, token in tokens.items()])
    session.info.setdefault(LINKS, {}).update(tokens)


@composer(COMPOSER)
async def compose_announcement(session: AsyncSession, settings: Settings,
                               payload: Mapping[str, Any]) -> EmailMessage | None:
    announcement = await session.get(Announcement, payload["announcement_id"])
    if announcement is None:
        return None
    event = await session.get(Event, announcement.event_id)
    return await personal_message(session, settings, event, draft_of(announcement), payload)


async def personal_message(session: AsyncSession, settings: Settings, event: Event | None, draft: Draft,
                           payload: Mapping[str, Any]) -> EmailMessage | None:
    """The message for the payload's person; None when they are gone or stopped announcements since."""
    if event is None:
        return None
    registration_id = payload.get("registration_id")
    if registration_id is not None:
        registration = await session.get(Registration, registration_id)
        if registration is None or registration.announcements_stopped_at is not None:
            return None
        person = Recipient(registration.email, registration.name, registration.locale or "en", registration.id)
        token = session.info.get(LINKS, {}).pop(registration.id, None)
        links = private_links(settings, token or await issue_manage_link(session, registration.id))
        link = links["manage_url"]
    else:
        person = Recipient(payload.get("to") or "", payload.get("name") or "", payload.get("locale") or "en")
        link = ""
    rendered = render(draft, event, person, manage_link=link, online_link=event.online_url)
    message = build_message(settings, to=person.email, subject=rendered.subject,
                            text_body=rendered.text, html_body=rendered.html)
    if link:
        add_unsubscribe_headers(message, links["unsubscribe_url"])
    return message


# ---- kept announcements, their progress, and stopping them ----------------------------------------------
@dataclass(frozen=True)
class Progress:
    queued: int
    sent: int
    failed: int
    dropped: int


async def list_for_event(session: AsyncSession, event: Event) -> list[tuple[Announcement, Progress]]:
    rows = list(await session.scalars(select(Announcement).where(Announcement.event_id == event.id)
                                      .order_by(Announcement.created_at.desc(), Announcement.id.desc())))
    counts: dict[str, dict[OutboxStatus, int]] = {}
    if rows:
        batches = [f"{KIND}:{row.id}" for row in rows]
        for batch, status, n in (await session.execute(
            select(OutboxMessage.batch, OutboxMessage.status, func.count())
            .where(OutboxMessage.batch.in_(batches)).group_by(OutboxMessage.batch, OutboxMessage.status)
        )).all():
            counts.setdefault(str(batch), {})[status] = n  # batch: one of `batches`, never NULL here
    result = []
    for row in rows:
        c = counts.get(f"{KIND}:{row.id}", {})
        # Finished rows are purged after the retention period: what is no longer in the outbox went out.
        queued, failed, dropped = (c.get(OutboxStatus.PENDING, 0), c.get(OutboxStatus.FAILED, 0),
                                   c.get(OutboxStatus.DROPPED, 0))
        sent = c.get(OutboxStatus.SENT, 0) if c else row.recipient_count
        result.append((row, Progress(queued=queued, sent=sent, failed=failed, dropped=dropped)))
    return result


def materials_online_draft(settings: Settings, event: Event) -> Draft:
    """The one-click "materials are online" message to every confirmed attendee, in both languages."""
    page = absolute_url("event", slug=event.slug, base_url=settings.base_url)
    versions = {}
    for lang in ("en", "zh"):
        with speaking(lang):
            versions[f"subject_{lang}"] = _("Slides and recordings of {event} are online")
            versions[f"body_{lang}"] = _("Dear {name},\n\nthe slides, documents and recordings of {event} are now "
                                         "online: %(page)s\n\nThank you for coming.", page=page)
    return Draft(audience=AnnouncementAudience.CONFIRMED.value, question_key="", question_value="", **versions)


async def organiser_page_context(session: AsyncSession, *, event: Event, **_: Any) -> dict[str, Any]:
    """Receiver of events.signals.organiser_event_page_shown: the announcements sent, on the event's page."""
    return {"announcements": await list_for_event(session, event)}


async def stop_announcements(session: AsyncSession, registration: Registration, *, stop: bool = True) -> None:
    registration.announcements_stopped_at = dt.datetime.now(dt.UTC) if stop else None
    await session.flush()
