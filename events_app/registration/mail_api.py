"""JSON API: an event's announcements and mail log, for its managers (the same rule as the HTML pages)."""

from __future__ import annotations

import datetime as dt

from litestar import Controller, get, post, put
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED
from msgspec import Struct
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account
from events_app.events.models import Event
from events_app.events.services import EventService
from events_app.notify import mail_log
from events_app.notify.models import OutboxMessage
from events_app.registration import announcements, reminders
from events_app.settings import Settings
from events_app.web.auth import provide_api_account


class AnnouncementIn(Struct, forbid_unknown_fields=True):
    audience: str
    subject_en: str = ""
    body_en: str = ""
    subject_zh: str = ""
    body_zh: str = ""
    question_key: str = ""
    question_value: str = ""


class AnnouncementPreview(Struct):
    recipients: int
    subject: str | None
    text: str | None


class AnnouncementOut(Struct):
    id: int
    audience: str
    subject_en: str
    subject_zh: str
    author: str
    created_at: dt.datetime
    recipients: int
    sent: int
    queued: int
    failed: int


class MailOut(Struct):
    id: int
    to: str
    subject: str
    kind: str
    status: str
    attempts: int
    last_error: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    next_attempt_at: dt.datetime | None


def mail_out(row: OutboxMessage) -> MailOut:
    return MailOut(id=row.id, to=row.to_address, subject=row.subject, kind=row.kind, status=row.status.value,
                   attempts=row.attempts, last_error=row.last_error, created_at=row.created_at, sent_at=row.sent_at,
                   next_attempt_at=row.next_attempt_at if row.status.value == "pending" else None)


class RemindersIn(Struct, forbid_unknown_fields=True):
    offsets_minutes: list[int] | None = None  # null: the default


class RemindersOut(Struct):
    offsets_minutes: list[int]
    default: bool
    sent: dict[str, int]


class MailApi(Controller):
    path = "/events/{slug:str}"
    tags = ["mail"]
    dependencies = {"account": Provide(provide_api_account)}

    async def _event(self, slug: str, account: Account, db_session: AsyncSession) -> Event:
        return await EventService(session=db_session).managed_by_slug(slug, account)

    async def _draft(self, db_session: AsyncSession, event: Event, data: AnnouncementIn) -> announcements.Draft:
        questions = await announcements.event_questions(db_session, event)
        return announcements.clean_draft({f: getattr(data, f) for f in AnnouncementIn.__struct_fields__}, questions)

    @get("/announcements", summary="The event's announcements with their progress (managers only)", name="api_list_announcements")
    async def list_announcements(self, slug: str, account: Account, db_session: AsyncSession
                                 ) -> list[AnnouncementOut]:
        event = await self._event(slug, account, db_session)
        return [AnnouncementOut(id=a.id, audience=a.audience, subject_en=a.subject_en, subject_zh=a.subject_zh,
                                author=a.author_name, created_at=a.created_at, recipients=a.recipient_count,
                                sent=p.sent, queued=p.queued, failed=p.failed)
                for a, p in await announcements.list_for_event(db_session, event)]

    @post("/announcements/preview", status_code=200,
          summary="How many would receive it, and the first recipient's message (nothing is sent)", name="api_announcement_preview")
    async def preview(self, slug: str, data: AnnouncementIn, account: Account, db_session: AsyncSession,
                      settings: Settings) -> AnnouncementPreview:
        event = await self._event(slug, account, db_session)
        count, rendered = await announcements.preview(db_session, settings, event,
                                                      await self._draft(db_session, event, data))
        return AnnouncementPreview(recipients=count, subject=rendered.subject if rendered else None,
                                   text=rendered.text if rendered else None)

    @post("/announcements/test", status_code=HTTP_202_ACCEPTED, summary="Send the message to yourself", name="api_announcement_test")
    async def test(self, slug: str, data: AnnouncementIn, account: Account, db_session: AsyncSession,
                   settings: Settings) -> dict[str, str]:
        event = await self._event(slug, account, db_session)
        await announcements.send_test(db_session, settings, event, await self._draft(db_session, event, data),
                                      account)
        return {"to": account.email}

    @post("/announcements", status_code=HTTP_201_CREATED,
          summary="Send an announcement: each recipient gets their own message, throttled, in their language", name="api_announcement_send")
    async def send(self, slug: str, data: AnnouncementIn, account: Account, db_session: AsyncSession,
                   settings: Settings) -> AnnouncementOut:
        event = await self._event(slug, account, db_session)
        a = await announcements.send(db_session, settings, event, await self._draft(db_session, event, data),
                                     account)
        return AnnouncementOut(id=a.id, audience=a.audience, subject_en=a.subject_en, subject_zh=a.subject_zh,
                               author=a.author_name, created_at=a.created_at, recipients=a.recipient_count,
                               sent=0, queued=a.recipient_count, failed=0)

    async def _reminders(self, db_session: AsyncSession, event: Event) -> RemindersOut:
        configured = await reminders.configured_offsets(db_session, event)
        sent = await reminders.sent_counts(db_session, event)
        return RemindersOut(offsets_minutes=reminders.offsets_for(event, configured), default=configured is None,
                            sent={str(k): v for k, v in sent.items()})

    @get("/reminders", summary="When confirmed attendees are reminded (minutes before the start), and how many were", name="api_get_reminders")
    async def get_reminders(self, slug: str, account: Account, db_session: AsyncSession) -> RemindersOut:
        return await self._reminders(db_session, await self._event(slug, account, db_session))

    @put("/reminders", summary="Set the reminders (minutes before the start, 5 to 43200; null for the default)", name="api_put_reminders")
    async def put_reminders(self, slug: str, data: RemindersIn, account: Account, db_session: AsyncSession
                            ) -> RemindersOut:
        event = await self._event(slug, account, db_session)
        offsets = reminders.clean_offsets(data.offsets_minutes, "offsets_minutes")
        await reminders.set_offsets(db_session, event, offsets)
        return await self._reminders(db_session, event)

    @get("/mail", summary="The mail log: every message queued for the event, newest first (managers only)", name="api_mail_log")
    async def mail(self, slug: str, account: Account, db_session: AsyncSession,
                   status: str | None = None) -> list[MailOut]:
        event = await self._event(slug, account, db_session)
        return [mail_out(r) for r in await mail_log.messages_for_event(db_session, event, status=status)]

    @post("/mail/{message_id:int}/retry", status_code=HTTP_202_ACCEPTED, summary="Send a failed message again", name="api_mail_retry")
    async def retry(self, slug: str, message_id: int, account: Account, db_session: AsyncSession) -> MailOut:
        event = await self._event(slug, account, db_session)
        row = await mail_log.message_for_event(db_session, event, message_id)
        if row is None:
            raise NotFoundException("No such message.")
        await mail_log.retry(db_session, row)
        return mail_out(row)
