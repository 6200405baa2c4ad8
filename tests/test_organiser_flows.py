from __future__ import annotations

from sqlalchemy import func, select

from events_app.events.models import Event, EventStatus
from tests.conftest import TEST_PASSWORD, csrf_token_from, login, make_account, make_event, post_form

NEW_EVENT = {
    "title": "Advanced Workshop on Research Data",
    "kind": "workshop",
    "starts_at": "2030-05-10T09:00",
    "ends_at": "2030-05-11T17:00",
    "timezone": "Asia/Shanghai",
    "venue_name": "Training Centre",
    "partners": "University of Edinburgh\nPeking University",
    "summary": "Two days, hands on.",
}


async def test_organiser_area_needs_login(client):
    response = await client.get("/organiser", follow_redirects=False)
    assert response.status_code in (302, 303)
    assert response.headers["location"].startswith("/login")


async def test_wrong_password_is_refused_with_the_form_again(client, organiser):
    response = await post_form(client, "/login", {"email": organiser.email, "password": "wrong-password"})
    assert response.status_code == 401
    assert "Wrong e-mail or password." in response.text
    assert (await client.get("/organiser", follow_redirects=False)).status_code in (302, 303)


async def test_organiser_creates_edits_publishes_and_cancels_an_event(client, db, organiser):
    await login(client, organiser.email)
    created = await post_form(client, "/organiser/events/new", NEW_EVENT, follow_redirects=False)
    assert created.status_code in (302, 303), created.text
    slug = created.headers["location"].rsplit("/", 1)[-1]
    assert slug == "advanced-workshop-on-research-data"
    assert (await client.get(f"/events/{slug}")).status_code == 404  # still a draft

    edited = await post_form(
        client, f"/organiser/events/{slug}/edit", {**NEW_EVENT, "title": "Advanced Workshop (joint)"},
        follow_redirects=False,
    )
    assert edited.status_code in (302, 303)
    event = await db.scalar(select(Event).where(Event.slug == slug))
    assert event.title == "Advanced Workshop (joint)" and event.slug == slug  # slug stays stable
    assert event.partners == ["University of Edinburgh", "Peking University"]
    revision_after_edit = event.revision

    published = await post_form(client, f"/organiser/events/{slug}", {"status": "published"},
                                action=f"/organiser/events/{slug}/status", follow_redirects=False)
    assert published.status_code in (302, 303)
    page = await client.get(f"/events/{slug}")
    assert page.status_code == 200 and "University of Edinburgh" in page.text

    await post_form(client, f"/organiser/events/{slug}", {"status": "cancelled", "confirm": "yes"},
                    action=f"/organiser/events/{slug}/status")
    await db.refresh(event)
    assert event.status == EventStatus.CANCELLED
    assert event.revision > revision_after_edit  # calendars will replace their copy
    assert "This event has been cancelled." in (await client.get(f"/events/{slug}")).text

    await post_form(client, f"/organiser/events/{slug}", {"status": "draft"}, action=f"/organiser/events/{slug}/status")
    assert (await client.get(f"/events/{slug}")).status_code == 404  # unpublished


async def test_invalid_event_form_comes_back_with_messages_and_input_kept(client, db, organiser):
    await login(client, organiser.email)
    bad = {**NEW_EVENT, "title": "Kept title 保留", "ends_at": "2030-05-09T09:00", "timezone": "Mars/Olympus",
           "online_url": "javascript:alert(1)"}
    response = await post_form(client, "/organiser/events/new", bad)
    assert response.status_code == 400
    assert "Unknown time zone" in response.text
    assert "Enter a full web address" in response.text
    assert 'value="Kept title 保留"' in response.text
    assert await db.scalar(select(func.count()).select_from(Event)) == 0


async def test_end_before_start_is_refused(client, db, organiser):
    await login(client, organiser.email)
    response = await post_form(client, "/organiser/events/new", {**NEW_EVENT, "ends_at": "2030-05-09T09:00"})
    assert response.status_code == 400 and "The end must be after the start." in response.text


async def test_post_without_csrf_token_is_refused(client, organiser, db):
    await login(client, organiser.email)
    response = await client.post("/organiser/events/new", data=NEW_EVENT)
    assert response.status_code == 403
    assert await db.scalar(select(func.count()).select_from(Event)) == 0


async def test_organiser_cannot_edit_an_event_they_do_not_manage(client, db, organiser):
    other = await make_account(db, "other@example.org")
    event = await make_event(db, other, title="Someone else's lecture")
    await login(client, organiser.email)
    assert (await client.get(f"/organiser/events/{event.slug}/edit")).status_code == 403
    page = await client.get("/organiser/events/new")
    response = await client.post(
        f"/organiser/events/{event.slug}/edit",
        data={**NEW_EVENT, "title": "Hijacked", "_csrf_token": csrf_token_from(page.text)},
    )
    assert response.status_code == 403
    await db.refresh(event)
    assert event.title == "Someone else's lecture"


async def test_admin_manages_every_event_and_creates_accounts(client, db, admin, organiser):
    event = await make_event(db, organiser, title="Organiser's lecture")
    await login(client, admin.email)
    assert (await client.get(f"/organiser/events/{event.slug}/edit")).status_code == 200
    response = await post_form(
        client, "/organiser/accounts/", {"email": "new@example.org", "password": TEST_PASSWORD, "role": "organiser"},
        action="/organiser/accounts", follow_redirects=False,
    )
    assert response.status_code in (302, 303), response.text


async def test_organiser_cannot_open_account_administration(client, organiser):
    await login(client, organiser.email)
    assert (await client.get("/organiser/accounts")).status_code == 403


async def test_manager_adds_a_co_manager_who_can_then_edit(client, db, organiser):
    colleague = await make_account(db, "colleague@example.org")
    event = await make_event(db, organiser)
    await login(client, organiser.email)
    await post_form(client, f"/organiser/events/{event.slug}", {"email": colleague.email},
                    action=f"/organiser/events/{event.slug}/managers")
    await client.post("/logout", data={"_csrf_token": csrf_token_from((await client.get("/organiser")).text)})
    await login(client, colleague.email)
    assert (await client.get(f"/organiser/events/{event.slug}/edit")).status_code == 200


async def test_organiser_creates_series_speaker_and_talk(client, db, organiser):
    await login(client, organiser.email)
    await post_form(client, "/organiser/series/new", {"title": "Distinguished Lectures", "description": "Visiting scholars"})
    assert "Distinguished Lectures" in (await client.get("/series/distinguished-lectures")).text

    bad = await post_form(client, "/organiser/speakers/new", {"full_name": "José Álvarez", "orcid": "0000-0002-1825-0098"})
    assert bad.status_code == 400 and "valid ORCID" in bad.text and "José Álvarez" in bad.text
    created = await post_form(
        client, "/organiser/speakers/new",
        {"full_name": "ليلى حداد", "affiliation": "American University of Beirut", "country": "LB",
         "orcid": "https://orcid.org/0000-0002-1825-0097", "email": "layla@example.lb"},
        follow_redirects=False,
    )
    assert created.status_code in (302, 303)
    person_id = int(created.headers["location"].split("/")[-2])

    event = await make_event(db, organiser, series="distinguished-lectures", starts_at="2030-03-05T14:00",
                             ends_at="2030-03-05T16:00")
    outside = await post_form(
        client, f"/organiser/events/{event.slug}/talks/new",
        {"title": "Too late", "starts_at": "2030-03-06T14:00", "ends_at": "2030-03-06T15:00"},
    )
    assert outside.status_code == 400 and "within the event" in outside.text
    added = await post_form(
        client, f"/organiser/events/{event.slug}/talks/new",
        {"title": "Multilingual metadata", "starts_at": "2030-03-05T14:00", "ends_at": "2030-03-05T15:00",
         "room": "Lecture Hall 1", "speaker_ids": str(person_id)},
        follow_redirects=False,
    )
    assert added.status_code in (302, 303), added.text
    page = (await client.get(f"/events/{event.slug}")).text
    assert "Multilingual metadata" in page and "ليلى حداد" in page and "Lebanon" in page
    assert "layla@example.lb" not in page
