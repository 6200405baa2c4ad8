from __future__ import annotations

import re

from sqlalchemy import func, select

from events_app.registration.models import Registration
from tests.conftest import deliver_outbox, login, post_form, text_of
from tests.registration_helpers import make_registration_event, register

QUESTIONS = [
    {"label": "Dietary needs", "kind": "single_choice", "required": True, "options": ["None", "Vegetarian"]},
    {"label": "I need an invitation letter for a visa", "kind": "checkbox"},
]


async def test_event_page_shows_open_registration_seats_left_and_the_questions(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=5, questions=QUESTIONS)
    await register(db, settings, event, "Ana", answers={"dietary-needs": "None"})
    page = (await client.get(f"/events/{event.slug}")).text
    assert "Registration is open." in page
    assert "4 seats left" in page
    assert "Dietary needs" in page and "I need an invitation letter for a visa" in page
    assert 'action="/events/' + event.slug + '/register"' in page


async def test_event_without_registration_settings_says_closed_and_shows_no_form(client, db, organiser):
    from tests.conftest import make_event

    event = await make_event(db, organiser)
    page = (await client.get(f"/events/{event.slug}")).text
    assert "Registration is closed." in page and "/register" not in page


async def test_registering_through_the_form_mails_the_link_to_the_private_status_page(client, db, organiser,
                                                                                       settings, smtp_server):
    # Until #10 the form redirected to the manage page itself: typing an address was enough to open it.
    event = await make_registration_event(db, organiser, settings, capacity=1, questions=QUESTIONS)
    await register(db, settings, event, "Ana", answers={"dietary-needs": "None"})
    response = await post_form(client, f"/events/{event.slug}", {
        "name": "José Álvarez", "email": "jose@example.es", "country": "ES", "answers.dietary-needs": "Vegetarian",
    }, action=f"/events/{event.slug}/register", follow_redirects=False)
    assert response.status_code == 200 and "location" not in response.headers
    assert "Check your e-mail" in response.text and "jose@example.es" in response.text
    assert "/registrations/" not in response.text
    await deliver_outbox(settings)
    [mail] = smtp_server.to("jose@example.es")
    manage_url = re.search(r"http://testserver\.local(/registrations/[\w-]+)\s", text_of(mail)).group(1)
    page = (await client.get(manage_url)).text
    assert "Waitlisted" in page and "position 1 on the waitlist" in page
    assert "José Álvarez" in page


async def test_form_errors_are_shown_beside_the_fields_and_nothing_is_stored(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, questions=QUESTIONS)
    response = await post_form(client, f"/events/{event.slug}", {"name": "", "email": "nope"},
                               action=f"/events/{event.slug}/register")
    assert response.status_code == 400
    assert "Enter a valid e-mail address." in response.text
    assert "Please choose one." in response.text
    assert 'value="nope"' in response.text  # the input is kept
    assert await db.scalar(select(func.count()).select_from(Registration)) == 0


async def test_unknown_event_is_404_on_both_form_and_api(client):
    assert (await client.get("/events/no-such-event/register")).status_code == 404
    response = await client.post("/api/events/no-such-event/registrations", json={"name": "A", "email": "a@b.org"})
    assert response.status_code == 404


async def test_manage_page_shows_qr_code_edits_answers_and_cancels(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=1, questions=QUESTIONS)
    ana = await register(db, settings, event, "Ana", answers={"dietary-needs": "None"})
    bo = await register(db, settings, event, "Bo", answers={"dietary-needs": "None"})
    url = f"/registrations/{ana.token}"
    page = (await client.get(url)).text
    assert "<svg" in page and ana.registration.checkin_code in page
    edited = await post_form(client, url, {"name": "Ana María", "affiliation": "CSIC", "country": "ES",
                                           "answers.dietary-needs": "Vegetarian"}, action=f"{url}/edit", follow_redirects=False)
    assert edited.status_code in (302, 303)
    row = await db.scalar(select(Registration).where(Registration.id == ana.registration.id)
                          .execution_options(populate_existing=True))
    assert row.name == "Ana María" and row.answers["dietary-needs"] == "Vegetarian"
    # "Cancel my registration" asks first (the same page as the e-mail's withdraw link); only the confirmed
    # POST frees the seat.
    asked = await post_form(client, url, {}, action=f"{url}/cancel", follow_redirects=False)
    assert asked.status_code == 200 and "Free my place" in asked.text and 'name="confirm" value="yes"' in asked.text
    assert "Waitlisted" in (await client.get(f"/registrations/{bo.token}")).text
    cancelled = await post_form(client, url, {"confirm": "yes"}, action=f"{url}/cancel", follow_redirects=False)
    assert cancelled.status_code in (302, 303)
    assert "Confirmed" in (await client.get(f"/registrations/{bo.token}")).text  # promoted at once


async def test_withdraw_link_from_an_email_needs_the_button_not_just_a_visit(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=1)
    ana = await register(db, settings, event, "Ana")
    page = await client.get(f"/registrations/{ana.token}/withdraw")
    assert page.status_code == 200 and "Free my place" in page.text
    assert "Confirmed" in (await client.get(f"/registrations/{ana.token}")).text  # a link scanner frees nothing
    await post_form(client, f"/registrations/{ana.token}/withdraw", {"confirm": "yes"},
                    action=f"/registrations/{ana.token}/cancel")
    assert "Cancelled" in (await client.get(f"/registrations/{ana.token}")).text


async def test_deleting_ones_data_asks_first_and_acts_only_when_confirmed(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    ana = await register(db, settings, event, "Ana")
    url = f"/registrations/{ana.token}"
    asked = await post_form(client, url, {}, action=f"{url}/delete", follow_redirects=False)
    assert asked.status_code == 200 and "This cannot be undone." in asked.text
    assert 'name="confirm" value="yes"' in asked.text and ana.registration.email in asked.text
    assert await db.scalar(select(func.count()).select_from(Registration)) == 1
    deleted = await post_form(client, url, {"confirm": "yes"}, action=f"{url}/delete", follow_redirects=False)
    assert deleted.status_code in (302, 303)
    assert await db.scalar(select(func.count()).select_from(Registration)) == 0
    assert (await client.get(url)).status_code == 404


async def test_wrong_manage_token_is_404(client):
    assert (await client.get("/registrations/not-a-real-token")).status_code == 404


async def test_organiser_lists_filters_approves_and_exports(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, mode="approval", capacity=10, questions=QUESTIONS)
    ana = await register(db, settings, event, "Ana", answers={"dietary-needs": "None"})
    await register(db, settings, event, "王小明", email="wang@example.cn", answers={"dietary-needs": "Vegetarian"})
    await login(client, organiser.email)
    base = f"/organiser/events/{event.slug}/registrations"
    listing = (await client.get(base, params={"status": "pending", "q": "wang"})).text
    assert "王小明" in listing and "ana@example.org" not in listing
    response = await post_form(client, base, {}, action=f"{base}/{ana.registration.id}/approve",
                                follow_redirects=False)
    assert response.status_code in (302, 303)
    assert "Confirmed" in (await client.get(base, params={"status": "confirmed"})).text
    export = await client.get(f"{base}/export.csv")
    assert export.headers["content-type"].startswith("text/csv")
    assert export.content.startswith(b"\xef\xbb\xbf")
    assert "王小明" in export.content.decode("utf-8-sig") and "Vegetarian" in export.text


async def test_other_organisers_cannot_see_the_registrants(client, db, organiser, settings):
    from tests.conftest import make_account

    event = await make_registration_event(db, organiser, settings)
    stranger = await make_account(db, "stranger@example.org")
    await login(client, stranger.email)
    assert (await client.get(f"/organiser/events/{event.slug}/registrations")).status_code == 403


async def test_organiser_settings_form_saves_questions_and_capacity(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=1)
    await register(db, settings, event, "Ana")
    await register(db, settings, event, "Bo")
    await login(client, organiser.email)
    url = f"/organiser/events/{event.slug}/registrations/settings"
    response = await post_form(client, url, {
        "mode": "open", "capacity": "2", "waitlist_enabled": "on", "promotion": "confirm", "offer_hours": "48",
        "questions.1.label": "Dietary needs", "questions.1.kind": "single_choice", "questions.1.required": "on",
        "questions.1.options": "None\nVegetarian", "questions.1.order": "1",
        "questions.2.label": "Visa letter", "questions.2.kind": "checkbox", "questions.2.order": "2",
    }, follow_redirects=False)
    assert response.status_code in (302, 303), response.text
    page = (await client.get(f"/events/{event.slug}")).text
    assert "Visa letter" in page
    assert "Bo" in (await client.get(f"/organiser/events/{event.slug}/registrations",
                                      params={"status": "confirmed"})).text
    bad = await post_form(client, url, {"mode": "open", "capacity": "-3", "offer_hours": "48", "promotion": "confirm"})
    assert bad.status_code == 400 and "Enter a number from 0 to 100000." in bad.text


async def test_check_in_page_marks_once_and_says_when_on_the_second_scan(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings)
    ana = await register(db, settings, event, "Ana")
    await login(client, organiser.email)
    url = f"/organiser/events/{event.slug}/checkin"
    first = await post_form(client, url, {"code": ana.registration.checkin_code})
    assert first.status_code == 200 and "Checked in: Ana" in first.text
    second = await post_form(client, url, {"code": ana.registration.checkin_code})
    assert re.search(r"Ana is already checked in at .*\d\d:\d\d", second.text)
    found = await client.get(url, params={"q": "ana"})
    assert "checked in" in found.text


async def test_dashboard_shows_counts_and_country_bars(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=2)
    for name, country in [("Ana", "ES"), ("Bo", "CN"), ("Chen", "CN")]:
        await register(db, settings, event, name, country=country, affiliation="CAS")
    await login(client, organiser.email)
    page = (await client.get(f"/organiser/events/{event.slug}/registrations/dashboard")).text
    assert "Waitlisted" in page and "Checked in" in page
    assert "Spain" in page and "China" in page
    assert 'class="bar" style="width: 100.0%"' in page


async def test_registering_twice_through_the_form_answers_as_the_first_time_and_stores_no_second_row(
    client, db, organiser, settings
):
    # Until #10 this answered 409 "already registered": a way to learn who attends what.
    event = await make_registration_event(db, organiser, settings)
    await register(db, settings, event, "Ana")
    response = await post_form(client, f"/events/{event.slug}", {"name": "Ana", "email": "ANA@example.org"},
                               action=f"/events/{event.slug}/register")
    assert response.status_code == 200
    assert "Check your e-mail" in response.text and "already registered" not in response.text
    assert await db.scalar(select(func.count()).select_from(Registration)) == 1


async def test_full_event_without_waitlist_shows_no_form(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=1, waitlist_enabled=False)
    await register(db, settings, event, "Ana")
    page = (await client.get(f"/events/{event.slug}")).text
    assert "This event is full." in page and f"/events/{event.slug}/register" not in page
