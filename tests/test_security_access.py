"""Security issue #10, the access rules: each attack tried over HTTP, as an attacker would.

The cast: Ana organises the "Closed retreat" and invites a speaker, Xu; Bo is another organiser with a
lecture of his own; an anonymous visitor; and people holding each other's private links.
"""

from __future__ import annotations

import datetime as dt
import io
import re

from PIL import Image
from sqlalchemy import select, update

from events_app.registration.mail import hash_token
from events_app.registration.models import Registration
from events_app.registration.services import RegistrationService
from events_app.speakers.models import Invitation, Person
from events_app.speakers.services import InvitationService, store_photo
from tests.conftest import deliver_outbox, make_account, make_event, make_token, post_form, text_of
from tests.registration_helpers import make_registration_event, register
from tests.schedule_support import conference, person, sign_in, submit, talk

CSRF = re.compile(r'name="_csrf_token" value="[^"]+"')
MANAGE_LINK = re.compile(r"http://testserver\.local(/registrations/[\w-]+)\s")


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def ana_and_bo(db):
    ana = await make_account(db, "ana@institute.example")
    bo = await make_account(db, "bo@institute.example")
    return ana, bo


async def invited_speaker(client, db, organiser):
    """Xu, invited by `organiser` through the speaker board to their (published) event: not public yet."""
    event = await conference(db, organiser, title="Closed retreat")
    await sign_in(client, organiser.email)
    response = await submit(client, f"/organiser/events/{event.slug}/speakers",
                            {"person_id": "", "full_name": "Xu Lin", "email": "xu@example.cn", "kind": "talk"},
                            action=f"/organiser/events/{event.slug}/speakers/invite")
    assert response.status_code in (302, 303), response.text
    client.cookies.clear()
    return event, await db.scalar(select(Person).where(Person.full_name == "Xu Lin"))


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (50, 50), (10, 120, 60)).save(out, format="PNG")
    return out.getvalue()


# ---- item 2: attendance leak from an e-mail address alone ------------------------------------------------------
async def test_typing_someone_elses_address_opens_no_page_of_theirs_and_no_feed_of_their_events(
    client, db, organiser, settings, smtp_server
):
    retreat = await make_registration_event(db, organiser, settings, event_overrides={"title": "Closed retreat"})
    lecture = await make_registration_event(db, organiser, settings, event_overrides={"title": "Open lecture"})
    victim = await register(db, settings, retreat, "Wang", email="wang@example.cn")
    service = RegistrationService(db, settings)
    await service.by_token(victim.token)  # Wang opened the link mailed to her
    await db.commit()

    # The attacker registers Wang's address for the open lecture, through the form and the API.
    form = await post_form(client, f"/events/{lecture.slug}", {"name": "Wang", "email": "wang@example.cn"},
                           action=f"/events/{lecture.slug}/register", follow_redirects=False)
    assert form.status_code == 200 and "location" not in form.headers
    assert "/registrations/" not in form.text and "Closed retreat" not in form.text
    api = await client.post(f"/api/events/{lecture.slug}/registrations", json={"name": "W", "email": "wang@example.cn"})
    assert api.status_code == 202 and "/registrations/" not in api.text and "manage_url" not in api.json()

    # The registration made in Wang's name joins nothing of hers until she opens the link mailed for it.
    made = await db.scalar(select(Registration).where(Registration.event_id == lecture.id))
    assert made.email_verified_at is None
    assert [r.event.title for r in await service.calendar_feed_registrations(await service.by_token(victim.token))] \
        == ["Closed retreat"]
    # Wang opens the link mailed for the lecture: that page shows that registration only.
    await deliver_outbox(settings)
    mail = next(m for m in smtp_server.to("wang@example.cn") if "Open lecture" in m["Subject"])
    page = (await client.get(MANAGE_LINK.search(text_of(mail)).group(1))).text
    assert "Open lecture" in page and "Closed retreat" not in page
    await db.rollback()
    feed = await service.calendar_feed_registrations(await service.by_token(victim.token))
    assert [r.event.title for r in feed] == ["Closed retreat", "Open lecture"]  # now that she opened it


async def test_a_link_shown_after_the_form_before_the_fix_opens_its_registration_but_proves_nothing(
    client, db, organiser, settings
):
    retreat = await make_registration_event(db, organiser, settings, event_overrides={"title": "Closed retreat"})
    lecture = await make_registration_event(db, organiser, settings, event_overrides={"title": "Open lecture"})
    proven = await register(db, settings, retreat, "Wang", email="wang@example.cn")
    planted = await register(db, settings, lecture, "Wang", email="wang@example.cn")
    await RegistrationService(db, settings).by_token(proven.token)  # Wang opened her link for the retreat
    # What migration 0009 does with a link that was shown to whoever filled in the form.
    row = await db.get(Registration, planted.registration.id)
    row.shown_link_hash, row.manage_token_hash = row.manage_token_hash, hash_token("never given out")
    await db.commit()

    url = f"/registrations/{planted.token}"
    page = await client.get(url)
    assert page.status_code == 200 and "does not prove the address" in page.text
    made = await post_form(client, url, {}, action=f"{url}/subscription")
    feed_path = re.search(r'value="http://testserver\.local(/my/calendar/[\w-]+\.ics)"', made.text).group(1)
    feed = (await client.get(feed_path)).text
    assert "Open lecture" in feed and "Closed retreat" not in feed
    await db.refresh(row)
    assert row.email_verified_at is None


async def test_a_private_link_opens_only_its_own_registration(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    other = await make_registration_event(db, organiser, settings, event_overrides={"title": "Ana's workshop"})
    bo = await register(db, settings, event, "Bo")
    ana = await register(db, settings, other, "Ana")
    await RegistrationService(db, settings).by_token(ana.token)
    await db.commit()
    page = (await client.get(f"/registrations/{bo.token}")).text
    assert "bo@example.org" in page and "ana@example.org" not in page and "Ana's workshop" not in page
    url = f"/registrations/{bo.token}"
    made = await post_form(client, url, {}, action=f"{url}/subscription")
    feed_path = re.search(r'value="http://testserver\.local(/my/calendar/[\w-]+\.ics)"', made.text).group(1)
    assert "Ana's workshop" not in (await client.get(feed_path)).text
    # A token is the key: the id of someone else's registration opens nothing.
    assert (await client.get(f"/registrations/{ana.registration.id}")).status_code == 404


# ---- item 9: registration status probing and mail flooding -----------------------------------------------------
async def test_known_and_unknown_addresses_get_the_same_answer_from_the_form_and_the_api(client, db, organiser,
                                                                                       settings):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    await register(db, settings, event, "Ana")

    async def form(email: str) -> tuple[int, str]:
        response = await post_form(client, f"/events/{event.slug}", {"name": "Someone", "email": email},
                                   action=f"/events/{event.slug}/register", follow_redirects=False)
        return response.status_code, CSRF.sub("", response.text).replace(email, "ADDRESS")

    assert await form("ana@example.org") == await form("new@example.org")
    known = await client.post(f"/api/events/{event.slug}/registrations", json={"name": "S", "email": "ana@example.org"})
    unknown = await client.post(f"/api/events/{event.slug}/registrations", json={"name": "S", "email": "cy@example.org"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == {**unknown.json(), "email": "ana@example.org"}


async def test_a_full_event_refuses_known_and_unknown_addresses_alike(client, db, organiser, settings):
    event = await make_registration_event(db, organiser, settings, capacity=1, waitlist_enabled=False)
    await register(db, settings, event, "Ana")
    known = await client.post(f"/api/events/{event.slug}/registrations", json={"name": "S", "email": "ana@example.org"})
    unknown = await client.post(f"/api/events/{event.slug}/registrations", json={"name": "S", "email": "cy@example.org"})
    assert known.status_code == unknown.status_code == 422
    assert known.json() == unknown.json()


async def test_repeating_a_known_address_mails_its_link_again_at_most_once_an_hour(client, db, organiser, settings,
                                                                                 smtp_server):
    event = await make_registration_event(db, organiser, settings, capacity=5)
    await register(db, settings, event, "Ana")
    for _ in range(5):
        answer = await client.post(f"/api/events/{event.slug}/registrations",
                                   json={"name": "Ana", "email": "ana@example.org"})
        assert answer.status_code == 202
    await deliver_outbox(settings)
    subjects = [m["Subject"] for m in smtp_server.to("ana@example.org")]
    assert len(subjects) == 2 and subjects[1].startswith("Your registration link")  # confirmation, then one link
    # The limit lives in the database: an hour later, one more.
    await db.execute(update(Registration).values(link_resent_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=61)))
    await db.commit()
    for _ in range(3):
        await client.post(f"/api/events/{event.slug}/registrations", json={"name": "Ana", "email": "ana@example.org"})
    await deliver_outbox(settings)
    assert len(smtp_server.to("ana@example.org")) == 3


# ---- item 3: speaker takeover across events ---------------------------------------------------------------------
async def test_organiser_of_another_event_cannot_change_a_speakers_address_or_merge_them_away(
    client, db, settings, smtp_server
):
    ana, bo = await ana_and_bo(db)
    retreat, xu = await invited_speaker(client, db, ana)
    bo_token = await make_token(db, bo)

    # The API: Bo's token may not change Xu (not on any event of his).
    patched = await client.patch(f"/api/speakers/{xu.id}", json={"email": "bo-inbox@evil.example"},
                                 headers=auth(bo_token))
    assert patched.status_code == 403
    # The pages: the edit form, its submission and the photo upload.
    await sign_in(client, bo.email)
    assert (await client.get(f"/organiser/speakers/{xu.id}/edit")).status_code == 403
    own_page = "/organiser/speakers/new"
    posted = await submit(client, own_page, {"full_name": "Xu Lin", "email": "bo-inbox@evil.example"},
                          action=f"/organiser/speakers/{xu.id}/edit")
    assert posted.status_code == 403
    photo = await submit(client, own_page, {}, action=f"/organiser/speakers/{xu.id}/photo",
                         files={"photo": ("x.png", png(), "image/png")})
    assert photo.status_code == 403
    # Merging Xu into a record of Bo's own.
    decoy = (await client.post("/api/speakers", json={"full_name": "Xu L.", "email": "bo-inbox@evil.example"},
                               headers=auth(bo_token))).json()
    merged = await submit(client, "/organiser/speakers/merge", {"keep_id": str(decoy["id"]), "drop_id": str(xu.id)})
    assert merged.status_code == 403
    assert await db.get(Person, xu.id) is not None

    await db.refresh(xu)
    assert xu.email == "xu@example.cn"
    invitation = await db.scalar(select(Invitation))
    await InvitationService(session=db).remind(retreat, invitation, settings=settings)
    await db.commit()
    await deliver_outbox(settings)
    assert smtp_server.to("bo-inbox@evil.example") == []
    assert len(smtp_server.to("xu@example.cn")) == 2  # the invitation and its reminder


async def test_inviting_a_speaker_to_ones_own_event_gives_no_power_over_the_other_events_links(
    client, db, settings, smtp_server
):
    ana, bo = await ana_and_bo(db)
    retreat, xu = await invited_speaker(client, db, ana)
    lecture = await conference(db, bo, title="Bo's lecture", starts_at="2030-05-04T08:00", ends_at="2030-05-04T18:00")
    await sign_in(client, bo.email)
    # Bo invites Xu to his own event, at an address of his choosing.
    invited = await submit(client, f"/organiser/events/{lecture.slug}/speakers",
                           {"person_id": str(xu.id), "email": "bo-inbox@evil.example", "kind": "talk"},
                           action=f"/organiser/events/{lecture.slug}/speakers/invite")
    assert invited.status_code in (302, 303)
    # Xu is on his event now, so Bo may edit the record, but not the address that reaches Xu for Ana's event.
    assert (await client.get(f"/organiser/speakers/{xu.id}/edit")).status_code == 200
    refused = await submit(client, f"/organiser/speakers/{xu.id}/edit",
                           {"full_name": "Xu Lin", "email": "bo-inbox@evil.example"})
    assert refused.status_code == 400 and "only an administrator can change the address" in refused.text
    bo_token = await make_token(db, bo)
    api = await client.patch(f"/api/speakers/{xu.id}", json={"email": "bo-inbox@evil.example"}, headers=auth(bo_token))
    assert api.status_code == 422 and api.json()["errors"][0]["field"] == "email"
    await db.refresh(xu)
    assert xu.email == "xu@example.cn"

    # Even if the shared record's address changes (an administrator), Ana's link still goes where she sent it.
    xu.email = "new-address@example.cn"
    await db.commit()
    invitation = await db.scalar(select(Invitation).where(Invitation.event_id == retreat.id))
    await InvitationService(session=db).remind(retreat, invitation, settings=settings)
    await db.commit()
    await deliver_outbox(settings)
    to_bo = smtp_server.to("bo-inbox@evil.example")
    assert len(to_bo) == 1 and "Bo's lecture" in to_bo[0]["Subject"]  # his own invitation only
    assert len(smtp_server.to("xu@example.cn")) == 2


async def test_organisers_see_the_addresses_of_speakers_of_their_own_events_only(client, db, settings):
    ana, bo = await ana_and_bo(db)
    retreat, xu = await invited_speaker(client, db, ana)
    lecture = await make_event(db, bo, title="Bo's lecture")
    mine = await person(db, "Bo's speaker", email="bos-speaker@example.org")
    await talk(db, lecture, "A talk", "2030-03-05T14:00", "2030-03-05T14:30", speakers=[mine])
    bo_token = await make_token(db, bo)

    listed = (await client.get("/api/speakers", headers=auth(bo_token))).json()["items"]
    emails = {p["full_name"]: p.get("email") for p in listed}
    assert emails == {"Xu Lin": None, "Bo's speaker": "bos-speaker@example.org"}
    assert "email" not in (await client.get(f"/api/speakers/{xu.id}", headers=auth(bo_token))).json()
    await sign_in(client, bo.email)
    for page in ("/organiser/speakers", "/organiser/speakers/merge"):
        text = (await client.get(page)).text
        assert "Xu Lin" in text and "xu@example.cn" not in text and "bos-speaker@example.org" in text
    # Ana's board and speaker list are hers.
    assert (await client.get(f"/organiser/events/{retreat.slug}/speakers")).status_code == 403
    assert (await client.get(f"/organiser/events/{retreat.slug}/speakers.csv")).status_code == 403
    # Ana sees Xu's address.
    ana_token = await make_token(db, ana)
    assert (await client.get(f"/api/speakers/{xu.id}", headers=auth(ana_token))).json()["email"] == "xu@example.cn"


# ---- item 10: unpublished speakers -----------------------------------------------------------------------------
async def test_a_speaker_on_no_published_programme_is_unknown_to_the_public_everywhere(client, db, settings):
    ana, bo = await ana_and_bo(db)
    _retreat, xu = await invited_speaker(client, db, ana)
    await store_photo(db, settings, xu, png())
    await db.commit()
    draft = await make_event(db, ana, title="Draft", publish=False)
    drafted = await person(db, "On a draft only")
    await talk(db, draft, "Secret", "2030-03-05T14:00", "2030-03-05T14:30", speakers=[drafted])
    bo_token = await make_token(db, bo)

    for someone in (xu, drafted):
        for url in (f"/speakers/{someone.id}", f"/api/speakers/{someone.id}", f"/speakers/{someone.id}.ics",
                    f"/speakers/{someone.id}/photo"):
            assert (await client.get(url)).status_code == 404, url
    assert (await client.get("/api/speakers")).json()["items"] == []
    # An organiser of another event may not see the photo either; organisers list every record by name.
    await sign_in(client, bo.email)
    assert (await client.get(f"/speakers/{xu.id}/photo")).status_code == 404
    assert len((await client.get("/api/speakers", headers=auth(bo_token))).json()["items"]) == 2


async def test_the_organisers_of_a_speakers_event_see_the_photo_before_it_is_public(client, db, organiser, settings):
    _retreat, xu = await invited_speaker(client, db, organiser)
    await store_photo(db, settings, xu, png())
    await db.commit()
    await sign_in(client, organiser.email)
    photo = await client.get(f"/speakers/{xu.id}/photo")
    assert photo.status_code == 200 and photo.headers["cache-control"] == "private, no-store"


# ---- item 13: drafts of other organisers are 404, like unknown slugs ------------------------------------------
DRAFT_PAGES = ("", "/edit", "/registrations", "/registrations/settings", "/timetable", "/speakers", "/speakers.csv",
               "/talks/new", "/checkin")


async def test_another_organisers_draft_answers_404_like_an_unknown_slug(client, db):
    ana, bo = await ana_and_bo(db)
    draft = await make_event(db, ana, title="Ana's draft", publish=False)
    published = await make_event(db, ana, title="Ana's lecture")
    bo_token = await make_token(db, bo)
    await sign_in(client, bo.email)
    for suffix in DRAFT_PAGES:
        assert (await client.get(f"/organiser/events/{draft.slug}{suffix}")).status_code == 404, suffix
        assert (await client.get(f"/organiser/events/no-such-event{suffix}")).status_code == 404, suffix
        assert (await client.get(f"/organiser/events/{published.slug}{suffix}")).status_code == 403, suffix
    for method, path, body in (
        ("PATCH", "", {"title": "Mine"}), ("POST", "/publish", None), ("GET", "/registrations", None),
        ("GET", "/registration-settings", None), ("POST", "/talks", {"title": "x", "starts_at": "2030-03-05T14:00:00+08:00",
                                                                     "ends_at": "2030-03-05T15:00:00+08:00"}),
        ("GET", "/talks", None), ("GET", "/sessions", None), ("GET", "", None),
    ):
        for slug in (draft.slug, "no-such-event"):
            response = await client.request(method, f"/api/events/{slug}{path}", json=body, headers=auth(bo_token))
            assert response.status_code == 404, (method, path, slug, response.status_code)
    # The anonymous: the organiser area asks them to log in; the API wants a token, or hides the draft.
    client.cookies.clear()
    assert (await client.get(f"/organiser/events/{draft.slug}/edit", follow_redirects=False)).status_code in (302, 303)
    assert (await client.patch(f"/api/events/{draft.slug}", json={"title": "x"})).status_code == 401
    assert (await client.get(f"/api/events/{draft.slug}")).status_code == 404
    # Ana still manages her draft.
    ana_token = await make_token(db, ana)
    assert (await client.get(f"/api/events/{draft.slug}", headers=auth(ana_token))).status_code == 200


# ---- item 14: series -------------------------------------------------------------------------------------------
async def test_only_its_creator_the_organisers_of_its_events_and_admins_change_a_series(client, db, admin):
    ana, bo = await ana_and_bo(db)
    ana_token, bo_token, admin_token = (await make_token(db, ana), await make_token(db, bo),
                                        await make_token(db, admin))
    created = await client.post("/api/series", json={"title": "Ana's lectures"}, headers=auth(ana_token))
    slug = created.json()["slug"]
    assert (await client.patch(f"/api/series/{slug}", json={"title": "Hijacked"}, headers=auth(bo_token))).status_code \
        == 403
    # Joining the series with an event of his own is no way in either.
    joined = await client.post("/api/events", json={"title": "Bo's", "kind": "lecture", "timezone": "UTC",
                                                    "starts_at": "2030-01-01T10:00:00Z", "ends_at": "2030-01-01T11:00:00Z",
                                                    "series": slug}, headers=auth(bo_token))
    assert joined.status_code == 422 and joined.json()["errors"][0]["field"] == "series"
    mine = await make_event(db, bo, title="Bo's other")
    moved = await client.patch(f"/api/events/{mine.slug}", json={"series": slug}, headers=auth(bo_token))
    assert moved.status_code == 422
    await sign_in(client, bo.email)
    assert (await client.get(f"/organiser/series/{slug}/edit")).status_code == 403
    hijack = await submit(client, "/organiser/series/new", {"title": "Hijacked"},
                          action=f"/organiser/series/{slug}/edit")
    assert hijack.status_code == 403
    assert (await client.get(f"/series/{slug}")).status_code == 200 and "Hijacked" not in (
        await client.get(f"/series/{slug}")).text

    # Ana puts her event in it and adds Bo as its co-manager: now he may.
    event = await make_event(db, ana, series=slug)
    ana_adds = await client.patch(f"/api/series/{slug}", json={"title": "Open lectures"}, headers=auth(ana_token))
    assert ana_adds.status_code == 200
    from events_app.events.services import EventService

    events = EventService(session=db)
    await events.add_manager(await events.by_slug(event.slug), bo)
    await db.commit()
    assert (await client.patch(f"/api/series/{slug}", json={"description": "By both"},
                               headers=auth(bo_token))).status_code == 200
    assert (await client.patch(f"/api/series/{slug}", json={"description": "Admin"},
                               headers=auth(admin_token))).status_code == 200

