"""Accepting an invitation to speak creates the talk (unscheduled, with the speaker's title and abstract) and
tells the event's managers; answering again neither duplicates the talk nor mails them again."""

from __future__ import annotations

from sqlalchemy import func, select

from events_app.notify.models import OutboxMessage
from events_app.schedule.models import Talk
from events_app.schedule.services import TalkService
from events_app.speakers.models import Invitation
from tests.conftest import deliver_outbox, text_of
from tests.schedule_support import conference, sign_in, submit, talk
from tests.test_speakers_invitations import invite_through_the_board, received_link

ANSWER = {
    "full_name": "李娜", "affiliation": "Fudan University", "title": "Surfaces that matter",
    "abstract": "On surfaces & <interfaces>.\n\nSecond paragraph.",
}


async def accept(client, link: str, **changes) -> None:
    response = await submit(client, link, {"action": "accept", **ANSWER, **changes})
    assert response.status_code in (302, 303), response.text


async def test_accepting_an_invitation_without_a_talk_creates_it_unscheduled(client, db, organiser, settings,
                                                                             smtp_server):
    event = await conference(db, organiser)
    await invite_through_the_board(client, db, organiser, event, talk_id="", kind="lecture")
    link = await received_link(settings, smtp_server, "li.na@example.cn")
    assert await db.scalar(select(func.count()).select_from(Talk)) == 0
    await accept(client, link)

    invitation = await db.scalar(select(Invitation).execution_options(populate_existing=True))
    created = await TalkService(session=db).by_id(invitation.talk_id)
    assert created.event_id == event.id and not created.is_scheduled
    assert created.title == "Surfaces that matter" and created.abstract == ANSWER["abstract"]
    assert created.kind == "lecture"
    assert [link.person_id for link in created.speaker_links] == [invitation.person_id]

    # The managers are told by mail, with the title, the abstract as plain text and the timetable's link.
    await deliver_outbox(settings)
    [told] = smtp_server.to(organiser.email)
    assert "李娜" in told["Subject"] and "Surfaces that matter" in told["Subject"]
    body = text_of(told).replace("\r\n", "\n")
    assert "On surfaces & <interfaces>." in body and "\n\nSecond paragraph." in body
    assert f"http://testserver.local/organiser/events/{event.slug}/timetable" in body
    assert "To be scheduled" in body
    # ... and on the event's page, above its talks.
    await sign_in(client, organiser.email)
    page = (await client.get(f"/organiser/events/{event.slug}")).text
    notice = page.split('class="flash flash-warning waiting-talks"', 1)[1].split("</div>", 1)[0]
    assert "1 talk is waiting for a time" in notice and "Surfaces that matter" in notice and "李娜" in notice
    # Not public until it has a time.
    assert "Surfaces that matter" not in (await client.get(f"/events/{event.slug}/programme")).text


async def test_answering_again_updates_the_same_talk_and_mails_nobody_again(client, db, organiser, settings,
                                                                            smtp_server):
    event = await conference(db, organiser)
    await invite_through_the_board(client, db, organiser, event, talk_id="")
    link = await received_link(settings, smtp_server, "li.na@example.cn")
    await accept(client, link)
    await accept(client, link, title="Surfaces that matter, revised")
    saved = await submit(client, link, {"action": "save", **ANSWER, "title": "Surfaces, final"})
    assert saved.status_code in (302, 303)
    talks = list(await db.scalars(select(Talk).execution_options(populate_existing=True)))
    assert [t.title for t in talks] == ["Surfaces, final"]
    mails_to_managers = await db.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.to_address == organiser.email))
    assert mails_to_managers == 1
    # A talk the organisers deleted is not made again by a later answer.
    service = TalkService(session=db)
    await service.delete_talk(await service.by_id(talks[0].id))
    await db.commit()
    await accept(client, link)
    assert await db.scalar(select(func.count()).select_from(Talk)) == 0


async def test_accepting_an_invitation_to_an_existing_talk_creates_nothing_new(client, db, organiser, settings,
                                                                               smtp_server):
    event = await conference(db, organiser)
    slot = await talk(db, event, "Evening lecture", "2030-03-05T18:00", "2030-03-05T19:00")
    await invite_through_the_board(client, db, organiser, event, talk_id=str(slot.id))
    link = await received_link(settings, smtp_server, "li.na@example.cn")
    await accept(client, link)
    titles = [t.title for t in await db.scalars(select(Talk).execution_options(populate_existing=True))]
    assert titles == ["Surfaces that matter"]
    assert (await TalkService(session=db).by_id(slot.id)).is_scheduled


async def test_a_declined_invitation_creates_no_talk(client, db, organiser, settings, smtp_server):
    event = await conference(db, organiser)
    await invite_through_the_board(client, db, organiser, event, talk_id="")
    link = await received_link(settings, smtp_server, "li.na@example.cn")
    response = await submit(client, link, {"action": "decline", **ANSWER})
    assert response.status_code in (302, 303)
    assert await db.scalar(select(func.count()).select_from(Talk)) == 0
    assert await db.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.to_address == organiser.email)) == 0
