"""The invited-speaker workflow end to end: e-mail over SMTP, private link, answer, speaker board."""

from __future__ import annotations

import datetime as dt
import io
import re

from PIL import Image
from sqlalchemy import select

from events_app.schedule.services import TalkService
from events_app.speakers.models import Invitation
from events_app.speakers.services import InvitationService, hash_token, invitation_state
from tests.conftest import csrf_token_from, deliver_outbox, make_account, text_of
from tests.schedule_support import conference, person, room, sign_in, submit, talk

LINK = re.compile(r"http://testserver\.local(/invitations/[A-Za-z0-9_-]+)")


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 800), (10, 120, 60)).save(out, format="PNG")
    return out.getvalue()


async def invite_through_the_board(client, db, organiser, event, **form):
    await sign_in(client, organiser.email)
    data = {"person_id": "", "full_name": "李娜", "affiliation": "Fudan University", "email": "li.na@example.cn",
            "kind": "lecture", "talk_id": "", "title": "Proposed title"}
    data.update(form)
    response = await submit(client, f"/organiser/events/{event.slug}/speakers", data,
                            action=f"/organiser/events/{event.slug}/speakers/invite")
    assert response.status_code in (302, 303), response.text
    return response


async def received_link(settings, smtp_server, address: str, index: int = -1) -> str:
    await deliver_outbox(settings)
    message = smtp_server.to(address)[index]
    match = LINK.search(text_of(message))
    assert match, text_of(message)
    return match.group(1)


async def test_invited_speaker_accepts_through_the_emailed_link(client, db, organiser, settings, smtp_server):
    event = await conference(db, organiser)
    slot = await talk(db, event, "Evening lecture", "2030-03-05T18:00", "2030-03-05T19:00", room=await room(db, "Aula"))
    slot_id = slot.id
    await invite_through_the_board(client, db, organiser, event, talk_id=str(slot_id))
    link = await received_link(settings, smtp_server, "li.na@example.cn")
    [message] = smtp_server.messages
    assert "Symposium on Catalysis" in message["Subject"] and "lecture" in text_of(message)

    # not public before acceptance
    assert "李娜" not in (await client.get(f"/events/{event.slug}/programme")).text
    invited_id = await db.scalar(select(Invitation.person_id))
    assert (await client.get(f"/speakers/{invited_id}")).status_code == 404
    board = await client.get(f"/organiser/events/{event.slug}/speakers")
    assert "李娜" in board.text and "badge-invited" in board.text

    page = await client.get(link)
    assert page.status_code == 200 and "Proposed title" in page.text
    answer = await submit(client, link, {
        "action": "accept", "full_name": "李娜", "honorific": "Prof.", "affiliation": "Fudan University, Shanghai",
        "bio": "Studies *surface chemistry*.", "title": "Surfaces that matter", "abstract": "On surfaces.",
        "arrival_date": "2030-03-04", "departure_date": "2030-03-06", "needs_visa_letter": "1",
        "accommodation": "Near the campus, no stairs please",
    }, files={"photo": ("me.png", png(), "image/png")})
    assert answer.status_code in (302, 303), answer.text

    invitation = await db.scalar(select(Invitation).execution_options(populate_existing=True))
    assert invitation.status == "accepted" and invitation.responded_at is not None
    assert invitation.arrival_date == dt.date(2030, 3, 4) and invitation.needs_visa_letter
    assert invitation.accommodation == "Near the campus, no stairs please"
    accepted_talk = await TalkService(session=db).by_id(slot_id)
    assert accepted_talk.title == "Surfaces that matter"
    assert [link.person.display_name for link in accepted_talk.speaker_links] == ["Prof. 李娜"]
    assert accepted_talk.speaker_links[0].person.photo_path

    programme = (await client.get(f"/events/{event.slug}/programme")).text
    assert "Prof. 李娜" in programme and "Surfaces that matter" in programme
    speaker_page = (await client.get(f"/speakers/{accepted_talk.speaker_links[0].person_id}")).text
    assert "Fudan University, Shanghai" in speaker_page
    for public in (programme, speaker_page, (await client.get(f"/events/{event.slug}")).text):
        assert "li.na@example.cn" not in public and "no stairs" not in public  # private to organisers
    board = (await client.get(f"/organiser/events/{event.slug}/speakers")).text
    assert "badge-accepted" in board and "no stairs please" in board and "invitation letter for a visa" in board


async def test_declined_invitation_cannot_be_accepted_by_replaying_the_form(client, db, organiser, settings, smtp_server):
    event = await conference(db, organiser)
    await invite_through_the_board(client, db, organiser, event)
    link = await received_link(settings, smtp_server, "li.na@example.cn")
    declined = await submit(client, link, {"action": "decline"})
    assert declined.status_code in (302, 303)
    page = await client.get(link)
    assert "You have declined this invitation." in page.text and 'value="accept"' not in page.text
    token_field = csrf_token_from((await client.get("/login")).text)
    replay = {"action": "accept", "full_name": "李娜", "title": "Sneaky", "_csrf_token": token_field}
    # without the token there is nothing to post to: ids or guesses are not tokens
    assert (await client.post("/invitations/1", data=replay, follow_redirects=False)).status_code == 404
    # with the token, a declined invitation stays declined
    again = await client.post(link, data=replay, follow_redirects=False)
    assert again.status_code == 409 and "declined" in again.text
    invitation = await db.scalar(select(Invitation).execution_options(populate_existing=True))
    assert invitation.status == "declined"
    board = (await client.get(f"/organiser/events/{event.slug}/speakers")).text
    assert "badge-declined" in board


async def test_missing_or_wrong_tokens_are_404(client, db, organiser, settings):
    event = await conference(db, organiser)
    speaker = await person(db, "Ana Souza", email="ana@example.br")
    _invitation, token = await InvitationService(session=db).invite(event, {"person_id": str(speaker.id)}, settings=settings,
                                                                by=organiser)
    await db.commit()
    assert (await client.get(f"/invitations/{token}")).status_code == 200
    assert (await client.get(f"/invitations/{token}x")).status_code == 404
    assert (await client.get("/invitations/" + "A" * 43)).status_code == 404
    stored = await db.scalar(select(Invitation.token_hash))
    assert stored == hash_token(token) and token not in stored  # only the hash is kept


async def test_reminder_sends_a_fresh_link_and_is_dated_on_the_board(client, db, organiser, settings, smtp_server):
    event = await conference(db, organiser)
    await invite_through_the_board(client, db, organiser, event)
    first_link = await received_link(settings, smtp_server, "li.na@example.cn")
    invitation_id = await db.scalar(select(Invitation.id))
    reminded = await submit(client, f"/organiser/events/{event.slug}/speakers", {},
                            action=f"/organiser/events/{event.slug}/invitations/{invitation_id}/remind")
    assert reminded.status_code in (302, 303)
    second_link = await received_link(settings, smtp_server, "li.na@example.cn")
    assert len(smtp_server.messages) == 2 and "Reminder" in smtp_server.messages[1]["Subject"]
    assert second_link != first_link
    assert (await client.get(first_link)).status_code == 404
    assert (await client.get(second_link)).status_code == 200
    invitation = await db.scalar(select(Invitation).execution_options(populate_existing=True))
    assert invitation.last_reminder_at is not None
    board = (await client.get(f"/organiser/events/{event.slug}/speakers")).text
    assert board.count("Send reminder") == 1 and "—" not in board.split("badge-invited")[1].split("</tr>")[0]


async def test_silent_invitations_show_as_no_answer_after_two_weeks(db, organiser, settings):
    event = await conference(db, organiser)
    speaker = await person(db, "Ana Souza", email="ana@example.br")
    invitation, _token = await InvitationService(session=db).invite(event, {"person_id": str(speaker.id)}, settings=settings,
                                                                by=organiser)
    now = invitation.invited_at
    assert invitation_state(invitation, now + dt.timedelta(days=3)) == "invited"
    assert invitation_state(invitation, now + dt.timedelta(days=15)) == "no_answer"
    invitation.last_reminder_at = now + dt.timedelta(days=14)
    assert invitation_state(invitation, now + dt.timedelta(days=15)) == "invited"


async def test_invitation_needs_an_email_address(client, db, organiser):
    event = await conference(db, organiser)
    await sign_in(client, organiser.email)
    response = await submit(client, f"/organiser/events/{event.slug}/speakers",
                            {"person_id": "", "full_name": "No Mail", "email": "", "kind": "talk"},
                            action=f"/organiser/events/{event.slug}/speakers/invite")
    assert response.status_code == 400 and "This field is required." in response.text


async def test_invitation_mail_is_in_its_events_mail_log_for_its_managers_only(client, db, organiser, settings,
                                                                            smtp_server):
    event = await conference(db, organiser)
    await invite_through_the_board(client, db, organiser, event)
    log = await client.get(f"/organiser/events/{event.slug}/mail")
    assert log.status_code == 200 and "li.na@example.cn" in log.text and "speaker_invitation" in log.text
    assert "li.na@example.cn" in (await client.get("/organiser/mail")).text

    stranger = await make_account(db, "stranger@example.org")
    await sign_in(client, stranger.email)
    assert "li.na@example.cn" not in (await client.get("/organiser/mail")).text
    assert (await client.get(f"/organiser/events/{event.slug}/mail")).status_code == 403
