"""Materials after the event (issue #14): uploads checked by content, links, speakers' own, shown and exported."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

from sqlalchemy import func, select, update

from events_app.events.models import Event
from events_app.notify.models import OutboxMessage
from events_app.schedule.models import Material
from events_app.speakers.services import InvitationService
from tests.conftest import deliver_outbox, login, make_account, make_event
from tests.registration_helpers import make_registration_event, register
from tests.schedule_support import person, submit, talk

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PAST = {"starts_at": "2024-03-05T14:00", "ends_at": "2024-03-05T18:00"}


def pptx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("ppt/presentation.xml", "<p:presentation/>")
    return out.getvalue()


async def past_event_with_talks(db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=5,
                                          event_overrides={"title": "Workshop on Catalysis", **PAST})
    ada = await person(db, "Ada Lovelace", email="ada@example.org")
    own = await talk(db, event, "Ada's talk", "2024-03-05T14:00", "2024-03-05T15:00", speakers=[ada])
    other = await talk(db, event, "Someone else's talk", "2024-03-05T15:00", "2024-03-05T16:00")
    return event, ada, own, other


async def test_uploads_of_a_wrong_type_are_refused_and_right_ones_shown_on_the_past_events_page(
        client, db, organiser, settings):
    event, _ada, own, _other = await past_event_with_talks(db, organiser, settings)
    await login(client, organiser.email)
    url = f"/organiser/events/{event.slug}/materials"
    for name, content in [("slides.pdf", b"<html><script>alert(1)</script></html>"),
                          ("slides.pdf", b"\x89PNG\r\n\x1a\n" + b"0" * 100),
                          ("evil.docx", b"PK\x03\x04 not really a zip")]:
        refused = await submit(client, url, {"kind": "slides", "title": "Slides", "talk_id": str(own.id)},
                               files={"file": (name, content, "application/pdf")})
        assert refused.status_code == 400, name
        assert "Upload PDF, PowerPoint, Word, Excel or OpenDocument files only." in refused.text
    assert await db.scalar(select(func.count()).select_from(Material)) == 0

    added = await submit(client, url, {"kind": "slides", "title": "Slides <b>1</b>", "talk_id": str(own.id)},
                         files={"file": ("whatever.exe", PDF, "application/octet-stream")})
    assert added.status_code in (302, 303), added.text[:500]
    deck = await submit(client, url, {"kind": "document", "title": "Handout", "talk_id": ""},
                        files={"file": ("handout.pptx", pptx(), "application/octet-stream")})
    assert deck.status_code in (302, 303)
    video = await submit(client, url, {"kind": "recording", "title": "Recording", "talk_id": str(own.id),
                                       "url": "https://video.example.org/ada"})
    assert video.status_code in (302, 303)

    client.cookies.clear()
    page = await client.get(f"/events/{event.slug}")
    assert "Took place on" in page.text
    assert f"/events/{event.slug}/register" not in page.text  # no registration panel
    assert "Slides &lt;b&gt;1&lt;/b&gt;" in page.text and "https://video.example.org/ada" in page.text
    pdf_href = next(m for m in await db.scalars(select(Material)) if m.content_type == "application/pdf")
    name = pdf_href.file_path.rsplit("/", 1)[-1]
    assert name.endswith(".pdf") and "whatever" not in name
    served = await client.get(f"/materials/{pdf_href.id}/{name}")
    assert served.status_code == 200 and served.content == PDF
    assert served.headers["content-type"].startswith("application/pdf")
    handout = next(m for m in await db.scalars(select(Material)) if m.kind == "document")
    download = await client.get(f"/materials/{handout.id}/{handout.file_path.rsplit('/', 1)[-1]}")
    assert download.status_code == 200 and download.headers["content-disposition"].startswith("attachment")
    assert (await client.get(f"/materials/{pdf_href.id}/other.pdf")).status_code == 404

    # frab XML and JSON carry them: attachments (files) and links (recordings).
    xml = (await client.get(f"/events/{event.slug}/schedule.xml")).text
    assert f'<attachment href="http://testserver.local/materials/{pdf_href.id}/{name}">Slides &lt;b&gt;1&lt;/b&gt;' \
        in xml
    assert '<link href="https://video.example.org/ada">Recording</link>' in xml
    data = (await client.get(f"/events/{event.slug}/schedule.json")).json()
    [ada_talk] = [e for day in data["schedule"]["conference"]["days"] for room in day["rooms"].values()
                  for e in room if e["title"] == "Ada's talk"]
    assert ada_talk["links"] == [{"url": "https://video.example.org/ada", "title": "Recording"}]
    assert ada_talk["attachments"][0]["title"] == "Slides <b>1</b>"


async def test_a_speaker_adds_materials_of_their_own_talk_through_their_private_link(client, db, organiser,
                                                                                    settings):
    event, ada, own, other = await past_event_with_talks(db, organiser, settings)
    _invitation, token = await InvitationService(session=db).invite(
        event, {"person_id": ada.id, "email": "ada@example.org", "kind": "talk", "talk_id": own.id},
        settings=settings, by=None)
    await db.commit()
    url = f"/invitations/{token}/materials"
    page = await client.get(url)
    assert page.status_code == 200 and "Ada&#39;s talk" in page.text and "Someone else" not in page.text
    refused = await submit(client, url, {"kind": "link", "title": "Mine?", "talk_id": str(other.id),
                                         "url": "https://example.org/x"})
    assert refused.status_code == 400 and "Choose one of the event&#39;s talks." in refused.text
    added = await submit(client, url, {"kind": "slides", "title": "Ada's slides", "talk_id": str(own.id)},
                         files={"file": ("s.pdf", PDF, "application/pdf")})
    assert added.status_code in (302, 303)
    [material] = await db.scalars(select(Material))
    assert material.talk_id == own.id and material.added_by == f"speaker:{ada.id}"
    assert (await client.get(f"/invitations/{token}x/materials")).status_code == 404


async def test_materials_are_online_goes_to_all_attendees_in_one_click(client, db, organiser, settings, smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    await register(db, settings, event, "Ana")
    past = dt.datetime(2024, 3, 5, 6, 0, tzinfo=dt.UTC)  # time passes: the lecture took place
    await db.execute(update(Event).where(Event.id == event.id).values(starts_at=past,
                                                                      ends_at=past + dt.timedelta(hours=2)))
    await db.commit()
    await deliver_outbox(settings)
    smtp_server.messages.clear()
    await login(client, organiser.email)
    answer = await submit(client, f"/organiser/events/{event.slug}/materials", {},
                          action=f"/organiser/events/{event.slug}/announcements/materials-online")
    assert answer.status_code in (302, 303)
    await db.execute(update(OutboxMessage).values(next_attempt_at=dt.datetime.now(dt.UTC)))
    await db.commit()
    await deliver_outbox(settings)
    [message] = smtp_server.to("ana@example.org")
    assert message["Subject"] == f"Slides and recordings of {event.title} are online"
    assert f"http://testserver.local/events/{event.slug}" in message.get_body(("plain",)).get_content()


async def test_only_the_events_managers_manage_its_materials(client, db, organiser, settings):
    event, *_ = await past_event_with_talks(db, organiser, settings)
    stranger = await make_account(db, "stranger@example.org")
    await make_event(db, stranger, title="Own")
    url = f"/organiser/events/{event.slug}/materials"
    assert (await client.get(url, follow_redirects=False)).status_code in (302, 303)
    await login(client, stranger.email)
    assert (await client.get(url)).status_code == 403
