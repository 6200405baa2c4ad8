"""Issue 15: visa invitation letters, certificates, badges and the public verification page.

The story the issue asks to see: a foreign speaker asks for a letter with a passport number, a manager approves,
the PDF arrives over SMTP with the name in its own script and the dates, the verification page shows it (and,
after revocation, that it was revoked); an organiser who does not manage the event sees the passport number
through no page and no API route; the database file does not hold it readable.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pypdf
import pytest
from sqlalchemy import Text, func, insert, select, type_coerce

from events_app.core.crypto import configure_data_keys, new_data_key
from events_app.core.validation import Conflict
from events_app.documents.models import DocumentKind, IssuedDocument, LetterRequest, LetterStatus
from events_app.documents.rendering import FontSet, MissingFontError
from events_app.documents.services import DocumentService, family_name_key
from events_app.events.models import event_managers
from events_app.registration.models import Registration
from events_app.settings import Settings
from events_app.speakers.services import InvitationService
from tests.conftest import csrf_token_from, deliver_outbox, login, make_account, make_token, post_form
from tests.registration_helpers import make_registration_event, register
from tests.schedule_support import conference, person

DATA_KEY = new_data_key()
PASSPORT = "E98765432"
ARABIC_NAME = "محمد العربي"
CHINESE_NAME = "王小明"


@pytest.fixture
def settings(database_url: str, media_dir: Path, smtp_port: int) -> Settings:
    return Settings(database_url=database_url, secret_key="test-suite-secret-key-0123456789-abcdefghijklmnop",
                    base_url="http://testserver.local", smtp_url=f"smtp://127.0.0.1:{smtp_port}",
                    media_dir=media_dir, db_pool_size=5, data_key=DATA_KEY)


@pytest.fixture(autouse=True)
def data_key():
    # The key is process-wide (core/crypto.py); apps built earlier for other settings did not set it.
    configure_data_keys(DATA_KEY)
    yield
    configure_data_keys("")


def pdf_text(content: bytes) -> str:
    """The text of every page, line breaks made spaces (a date may wrap: "6 March\n2030")."""
    return " ".join(" ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(content)).pages)


def pdf_pages(content: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(content)).pages)


def database_bytes(path: Path) -> bytes:
    """The SQLite file and its write-ahead log, as a copy of the disk would have them."""
    wal = Path(f"{path}-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def letter_form(**overrides) -> dict[str, str]:
    form = {"passport_name": ARABIC_NAME, "nationality": "EG", "passport_number": PASSPORT,
            "birth_date": "1985-04-12", "stay_from": "2030-03-03", "stay_until": "2030-03-08",
            "purpose": "Invited talk", "language": "en"}
    form.update(overrides)
    return form


async def invited_speaker(db, organiser, settings, event, name: str = ARABIC_NAME):
    speaker = await person(db, name, email="speaker@example.eg")
    invitation, token = await InvitationService(session=db).invite(
        event, {"person_id": str(speaker.id), "email": "speaker@example.eg"}, settings=settings, by=organiser)
    await db.commit()
    return invitation, token


async def test_speaker_letter_approved_mailed_verified_and_revoked(client, db, organiser, settings, smtp_server):
    event = await conference(db, organiser)
    _invitation, token = await invited_speaker(db, organiser, settings, event)
    response = await post_form(client, f"/invitations/{token}/letter", letter_form())
    assert response.status_code in (302, 303), response.text

    await login(client, organiser.email)
    queue = await client.get(f"/organiser/events/{event.slug}/documents")
    assert queue.status_code == 200 and "speaker@example.eg" in queue.text
    request_id = await db.scalar(select(LetterRequest.id))
    detail = await client.get(f"/organiser/events/{event.slug}/documents/letters/{request_id}")
    assert PASSPORT in detail.text and ARABIC_NAME in detail.text  # the manager sees what they approve
    approved = await post_form(client, f"/organiser/events/{event.slug}/documents/letters/{request_id}",
                               {}, action=f"/organiser/events/{event.slug}/documents/letters/{request_id}/approve")
    assert approved.status_code in (302, 303)

    assert await deliver_outbox(settings) >= 1
    [mail] = [m for m in smtp_server.to("speaker@example.eg") if "letter" in str(m["Subject"]).lower()]
    [attachment] = [part for part in mail.iter_attachments() if part.get_content_type() == "application/pdf"]
    text = pdf_text(attachment.get_content())
    # pypdf gives Arabic in logical order word by word; the words must be there, in Arabic script.
    assert all(word in text for word in ARABIC_NAME.split())
    assert PASSPORT in text and "4 March 2030" in text and "6 March 2030" in text and "3 March 2030" in text
    reference = (await db.scalar(select(IssuedDocument.reference).execution_options(populate_existing=True)))
    assert reference in text

    verify = await client.get(f"/verify/{reference}")
    assert verify.status_code == 200
    assert ARABIC_NAME in verify.text and event.title in verify.text and "genuine" in verify.text
    assert PASSPORT not in verify.text and "EG" not in re.sub(r"<[^>]+>", "", verify.text).split()
    revoked = await post_form(client, f"/organiser/events/{event.slug}/documents", {},
                              action=f"/organiser/events/{event.slug}/documents/issued/{reference}/revoke")
    assert revoked.status_code in (302, 303)
    assert (await client.get(f"/organiser/events/{event.slug}/documents/issued/{reference}/pdf")).status_code == 410
    client.cookies.clear()
    after = await client.get(f"/verify/{reference.lower().replace('-', '')}")  # as a consulate might type it
    assert after.status_code == 200 and "revoked" in after.text and "genuine" not in after.text
    assert (await client.get("/verify/AAAA-AAAA")).status_code == 404


async def test_chinese_letter_in_chinese_holds_the_name_in_han_script(client, db, organiser, settings):
    event = await conference(db, organiser)
    invitation, _token = await invited_speaker(db, organiser, settings, event, name=CHINESE_NAME)
    service = DocumentService(db, settings)
    request = await service.request_for_invitation(invitation, event, letter_form(
        passport_name=CHINESE_NAME, nationality="CN", language="zh"))
    document = await service.approve(event, request, organiser)
    text = pdf_text(await service.pdf(document))
    dense = text.replace(" ", "")  # pypdf puts spaces between CJK runs ("2030年 3月 4日")
    assert CHINESE_NAME in text and "邀请函" in dense and "2030年3月4日" in dense and PASSPORT in text


async def test_a_non_manager_sees_no_passport_number_on_any_page_or_api_route(client, db, organiser, settings):
    event = await conference(db, organiser)
    invitation, token = await invited_speaker(db, organiser, settings, event)
    service = DocumentService(db, settings)
    request = await service.request_for_invitation(invitation, event, letter_form())
    document = await service.approve(event, request, organiser)
    await db.commit()
    other = await make_account(db, "other@example.org")
    other_token = await make_token(db, other)
    await login(client, other.email)
    base = f"/organiser/events/{event.slug}/documents"
    for url in (base, f"{base}/letters/{request.id}", f"{base}/issued/{document.reference}/pdf", f"{base}/badges"):
        response = await client.get(url)
        assert response.status_code == 403, url
        assert PASSPORT not in response.text
    headers = {"Authorization": f"Bearer {other_token}"}
    for url in (f"/api/events/{event.slug}/letters?include_passport=true", f"/api/events/{event.slug}/documents",
                f"/api/events/{event.slug}/documents/{document.reference}/pdf"):
        response = await client.get(url, headers=headers)
        assert response.status_code == 403, url
        assert PASSPORT not in response.text
    approve = await client.post(f"/api/events/{event.slug}/letters/{request.id}/approve", headers=headers)
    assert approve.status_code == 403
    # The manager's token gets it only when asking for it explicitly.
    manager = {"Authorization": f"Bearer {await make_token(db, organiser)}"}
    listed = await client.get(f"/api/events/{event.slug}/letters", headers=manager)
    assert listed.status_code == 200 and PASSPORT not in listed.text and listed.json()[0]["passport"] is None
    asked = await client.get(f"/api/events/{event.slug}/letters?include_passport=true", headers=manager)
    assert asked.json()[0]["passport"]["passport_number"] == PASSPORT
    # Nor is it in the speaker CSV, the only export that knows about visa letters.
    await login(client, organiser.email)
    csv = await client.get(f"/organiser/events/{event.slug}/speakers.csv")
    assert csv.status_code == 200 and PASSPORT not in csv.text
    # The speaker's own page never shows it back either.
    assert PASSPORT not in (await client.get(f"/invitations/{token}/letter")).text


async def test_the_stored_passport_number_is_not_readable_in_the_database(db, organiser, settings):
    event = await conference(db, organiser)
    invitation, _token = await invited_speaker(db, organiser, settings, event)
    await DocumentService(db, settings).request_for_invitation(invitation, event, letter_form())
    await db.commit()
    stored = await db.scalar(select(type_coerce(LetterRequest.passport_number, Text)))
    assert stored and PASSPORT not in stored
    assert await db.scalar(select(LetterRequest.passport_number)) == PASSPORT  # the app reads it with the key


async def test_the_database_file_holds_no_readable_passport_number_or_birth_date(tmp_path, settings):
    """A whole SQLite file of its own, read byte by byte once every connection to it is closed. (Never the
    suite's shared file: closing any handle on it drops this process's POSIX locks, SQLite's included.)"""
    import dataclasses

    from sqlalchemy.ext.asyncio import async_sessionmaker

    from events_app.db import create_engine
    from events_app.models import metadata

    path = tmp_path / "documents.db"
    own = dataclasses.replace(settings, database_url=f"sqlite+aiosqlite:///{path}")
    engine = create_engine(own, pooled=False)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            manager = await make_account(session, "manager@example.org")
            event = await conference(session, manager)
            invitation, _token = await invited_speaker(session, manager, own, event)
            request = await DocumentService(session, own).request_for_invitation(invitation, event, letter_form())
            await DocumentService(session, own).approve(event, request, manager)
            await session.commit()
    finally:
        await engine.dispose()
    raw = database_bytes(path)
    assert b"Invited talk" in raw  # the file is the one written (the purpose is not encrypted)
    # (The name is in the speaker's record anyway; the passport number and date of birth are only here.)
    assert PASSPORT.encode() not in raw and b"1985-04-12" not in raw


async def test_letter_form_refuses_bad_input_naming_the_field_and_keeps_it(client, db, organiser, settings):
    event = await conference(db, organiser)
    _invitation, token = await invited_speaker(db, organiser, settings, event)
    response = await post_form(client, f"/invitations/{token}/letter", letter_form(
        passport_number="E1", birth_date="2999-01-01", stay_until="2030-03-01", nationality="XX",
        passport_name="x" * 201))
    assert response.status_code == 400
    for field in ("passport_number", "birth_date", "stay_until", "nationality", "passport_name"):
        assert f'id="e-{field}"' in response.text, field
    assert "Invited talk" in response.text  # what was typed stays
    nul = await post_form(client, f"/invitations/{token}/letter", letter_form(passport_number="E1234\x005678"))
    assert nul.status_code == 422 and "NUL" in nul.text  # refused at the edge (web/edge.py)
    assert await db.scalar(select(func.count()).select_from(LetterRequest)) == 0



async def test_asking_twice_for_a_letter_answers_409_with_the_form_and_keeps_one_request(client, db, organiser,
                                                                                       settings):
    event = await conference(db, organiser)
    _invitation, token = await invited_speaker(db, organiser, settings, event)
    page = await client.get(f"/invitations/{token}/letter")
    csrf = csrf_token_from(page.text)
    first = await client.post(f"/invitations/{token}/letter", data={**letter_form(), "_csrf_token": csrf},
                              follow_redirects=False)
    assert first.status_code in (302, 303)
    # The same form sent again (a second tab, a double click): the page no longer offers it, the rule still holds.
    again = await client.post(f"/invitations/{token}/letter",
                              data={**letter_form(purpose="Second try"), "_csrf_token": csrf})
    assert again.status_code == 409 and "You have already asked for a letter." in again.text
    assert await db.scalar(select(func.count()).select_from(LetterRequest)) == 1

async def test_registrants_ask_only_when_the_event_offers_letters_and_reject_is_mailed(client, db, organiser,
                                                                                     settings, smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=10,
                                          event_overrides={"starts_at": "2030-03-04T09:00",
                                                           "ends_at": "2030-03-06T18:00"})
    registered = await register(db, settings, event, "Zoë Ångström", "zoe@example.se")
    page = f"/registrations/{registered.token}/documents"
    assert "passport_number" not in (await client.get(page)).text  # not offered yet
    service = DocumentService(db, settings)
    await service.update_template(event, {"letters_on_registration": "1", "signatory_name": "Prof. Li"})
    await db.commit()
    response = await post_form(client, page, letter_form(passport_name="Zoë Ångström", nationality="SE"),
                               action=f"{page}/letter")
    assert response.status_code in (302, 303), response.text
    [request] = list(await db.scalars(select(LetterRequest)))
    assert request.registration_id is not None
    await login(client, organiser.email)
    base = f"/organiser/events/{event.slug}/documents/letters/{request.id}"
    empty = await post_form(client, base, {"reason": " "}, action=f"{base}/reject")
    assert empty.status_code == 400 and 'id="e-reason"' in empty.text
    rejected = await post_form(client, base, {"reason": "Dates <b>outside</b> the event"}, action=f"{base}/reject")
    assert rejected.status_code in (302, 303)
    await db.refresh(request)
    assert request.status == LetterStatus.REJECTED and request.decided_by_name
    await deliver_outbox(settings)
    [mail] = smtp_server.to("zoe@example.se")[-1:]
    assert "Dates <b>outside</b> the event" in mail.get_body(preferencelist=("plain",)).get_content()
    # A second decision on the same request is refused (two managers at once: one wins).
    with pytest.raises(Exception, match="already been decided"):
        await service.approve(event, request, organiser)


async def test_deleting_my_registration_deletes_my_letter_request(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=10)
    registered = await register(db, settings, event, "Ana", "ana@example.org")
    service = DocumentService(db, settings)
    await service.update_template(event, {"letters_on_registration": "1"})
    registration = await db.get(Registration, registered.registration.id)
    await service.request_for_registration(registration, event, letter_form(stay_from="2030-03-05",
                                                                            stay_until="2030-03-06"))
    await db.commit()
    response = await post_form(client, f"/registrations/{registered.token}", {"confirm": "yes"},
                               action=f"/registrations/{registered.token}/delete")
    assert response.status_code in (302, 303)
    assert await db.scalar(select(func.count()).select_from(LetterRequest)) == 0


async def test_retention_job_empties_passport_data_after_the_event(db, organiser, settings):
    import datetime as dt

    event = await conference(db, organiser)
    invitation, _token = await invited_speaker(db, organiser, settings, event)
    service = DocumentService(db, settings)
    request = await service.request_for_invitation(invitation, event, letter_form())
    document = await service.approve(event, request, organiser)
    await db.commit()
    assert await service.purge_letter_data(now=event.ends_at + dt.timedelta(days=30)) == 0
    assert await service.purge_letter_data(now=event.ends_at + dt.timedelta(days=91)) == 1
    await db.commit()
    await db.refresh(request)
    assert request.passport_number is None and request.birth_date is None and request.purged_at is not None
    with pytest.raises(Exception, match="deleted after the event"):
        await service.pdf(document)
    assert (await service.verification(document.reference)).holder_name == ARABIC_NAME  # still verifiable


async def test_certificates_for_checked_in_attendees_and_speakers_sent_once(client, db, organiser, settings,
                                                                           smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=10)
    came = await register(db, settings, event, "李娜", "li.na@example.cn")
    await register(db, settings, event, "Absent", "absent@example.org")
    registration = await db.get(Registration, came.registration.id)
    registration.checked_in_at = event.starts_at
    invitation, _ = await invited_speaker(db, organiser, settings, event)
    invitation.status, invitation.title = "accepted", "Catalysis in deserts"
    await db.commit()
    service = DocumentService(db, settings)
    assert await service.send_certificates(event) == 2
    await db.commit()
    assert await service.send_certificates(event) == 0  # again: nothing twice
    await db.commit()
    await deliver_outbox(settings)
    [mail] = [m for m in smtp_server.to("speaker@example.eg") if "certificate" in str(m["Subject"]).lower()]
    [pdf] = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert "Catalysis in deserts" in pdf_text(pdf.get_content())
    assert smtp_server.to("absent@example.org") == [] or all(
        "certificate" not in str(m["Subject"]).lower() for m in smtp_server.to("absent@example.org"))
    # On demand from the manage link.
    response = await post_form(client, f"/registrations/{came.token}/documents", {},
                               action=f"/registrations/{came.token}/documents/certificate")
    assert response.status_code in (302, 303)
    download = await client.get(response.headers["location"])
    assert download.headers["content-type"] == "application/pdf" and "李娜" in pdf_text(download.content)


async def test_badges_for_300_people_come_out_as_one_pdf_with_the_right_page_count(client, db, organiser,
                                                                                  settings, token):
    event = await make_registration_event(db, organiser, settings, capacity=400)
    names = [CHINESE_NAME, "山田 太郎", ARABIC_NAME, "Zoë Ångström", "Ana Souza"]
    for i in range(300):
        db.add(Registration(event_id=event.id, name=f"{names[i % 5]} {i}", email=f"p{i}@example.org",
                            email_normalised=f"p{i}@example.org", status="confirmed", checkin_code=f"C{i:07d}",
                            manage_token_hash=f"{i:064d}", answers={}, locale="en", affiliation="Institute"))
    await db.commit()
    response = await client.get(f"/api/events/{event.slug}/badges.pdf", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert pdf_pages(response.content) == 38  # 300 badges, 8 to an A4 page
    text = pdf_text(response.content)
    assert "山田 太郎" in text and CHINESE_NAME in text and "Zoë Ångström" in text
    one_id = await db.scalar(select(Registration.id).limit(1))
    await login(client, organiser.email)
    single = await client.get(f"/organiser/events/{event.slug}/documents/badges?registration={one_id}")
    assert single.status_code == 200 and pdf_pages(single.content) == 1


def test_badges_are_sorted_by_family_name():
    names = ["Ana Souza", "王小明", "Zoë Ångström", "Li Na", "艾伦"]
    # Ai Lun, Ångström (accents folded), Na, Souza, Wang
    assert sorted(names, key=family_name_key) == ["艾伦", "Zoë Ångström", "Li Na", "Ana Souza", "王小明"]


def test_a_script_without_a_font_fails_with_a_clear_message(tmp_path):
    fonts = FontSet(["/usr/share/fonts/truetype/noto"])  # Noto Sans and Arabic, no CJK
    fonts.check([ARABIC_NAME, "Zoë"])
    with pytest.raises(MissingFontError, match="fonts-noto-cjk"):
        fonts.check([CHINESE_NAME])
    with pytest.raises(MissingFontError, match="EVENTS_FONT_DIRS"):
        FontSet([str(tmp_path)]).check(["Ana"])


async def test_a_letter_carries_user_text_as_text_not_typst_markup(db, organiser, settings):
    event = await conference(db, organiser)
    invitation, _token = await invited_speaker(db, organiser, settings, event)
    service = DocumentService(db, settings)
    request = await service.request_for_invitation(invitation, event, letter_form(
        passport_name="#panic(\"x\") *Bold* $x$", purpose="#read(\"/etc/passwd\")"))
    document = await service.approve(event, request, organiser)
    text = pdf_text(await service.pdf(document))
    assert '#panic("x") *Bold* $x$' in text and '#read("/etc/passwd")' in text
    assert document.kind == DocumentKind.LETTER


async def test_letters_csv_has_passport_data_only_when_asked_for(client, db, organiser, settings):
    event = await conference(db, organiser)
    invitation, _token = await invited_speaker(db, organiser, settings, event)
    await DocumentService(db, settings).request_for_invitation(invitation, event, letter_form())
    await db.commit()
    await login(client, organiser.email)
    plain = await client.get(f"/organiser/events/{event.slug}/documents/letters.csv")
    assert plain.status_code == 200 and "speaker@example.eg" in plain.text and PASSPORT not in plain.text
    asked = await client.get(f"/organiser/events/{event.slug}/documents/letters.csv?passport=yes")
    assert PASSPORT in asked.text and "1985-04-12" in asked.text
    assert asked.headers["cache-control"] == "private, no-store"


async def test_two_managers_approving_at_once_issue_one_letter(db, organiser, settings, is_postgres, monkeypatch):
    """Real concurrent requests on separate server processes (PostgreSQL: two; SQLite: one)."""
    import asyncio

    import httpx

    from events_app.notify.models import OutboxMessage
    from tests.test_registration_concurrency import running_servers

    event = await conference(db, organiser)
    invitation, _token = await invited_speaker(db, organiser, settings, event)
    request = await DocumentService(db, settings).request_for_invitation(invitation, event, letter_form())
    colleague = await make_account(db, "colleague@example.org")
    await db.execute(insert(event_managers).values(event_id=event.id, account_id=colleague.id))
    await db.commit()
    tokens = [await make_token(db, organiser), await make_token(db, colleague)]
    monkeypatch.setenv("EVENTS_DATA_KEY", DATA_KEY)  # read by the server processes started below
    with running_servers(settings, 2 if is_postgres else 1) as servers:
        async with httpx.AsyncClient(timeout=60) as http:
            responses = await asyncio.gather(*(
                http.post(f"{servers[n % len(servers)]}/api/events/{event.slug}/letters/{request.id}/approve",
                          headers={"Authorization": f"Bearer {tokens[n % 2]}"})
                for n in range(6)))
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409, 409, 409], [r.text for r in responses]
    assert await db.scalar(select(func.count()).select_from(IssuedDocument)) == 1
    assert await db.scalar(select(func.count()).select_from(OutboxMessage)
                           .where(OutboxMessage.composer == "document")) == 1


async def test_approving_a_name_no_installed_font_covers_is_refused_with_what_to_install(db, organiser, settings):
    import dataclasses

    event = await conference(db, organiser)
    invitation, _token = await invited_speaker(db, organiser, settings, event)
    only_latin = dataclasses.replace(settings, font_dirs=("/usr/share/fonts/truetype/noto",))
    service = DocumentService(db, only_latin)
    request = await service.request_for_invitation(invitation, event, letter_form(passport_name=CHINESE_NAME))
    with pytest.raises(Conflict, match="fonts-noto-cjk"):
        await service.approve(event, request, organiser)
    assert request.status == LetterStatus.PENDING
