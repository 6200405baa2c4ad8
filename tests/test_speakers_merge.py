"""Organisers find speakers and merge duplicate records without losing anything."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from events_app.schedule.services import ScheduleSessionService, TalkService
from events_app.speakers.models import Invitation, Person
from events_app.speakers.services import PersonService, merge_people
from tests.schedule_support import conference, person, schedule_session, sign_in, submit, talk


async def test_merge_moves_talks_chairs_and_invitations_and_fills_empty_fields(db, organiser):
    event = await conference(db, organiser)
    keep = await person(db, "王小明", affiliation="Peking University")
    drop = await person(db, "Wang Xiaoming", email="wang@example.cn", orcid="0000-0002-1825-0097",
                        bio="Works on catalysis.")
    only_drop = await talk(db, event, "Drop's talk", "2030-03-04T09:00", "2030-03-04T09:30", speakers=[drop])
    shared = await talk(db, event, "Joint talk", "2030-03-04T10:00", "2030-03-04T10:30", speakers=[keep, drop])
    chaired = await schedule_session(db, event, "Session chaired by drop", "2030-03-05T09:00", "2030-03-05T10:00",
                                     chairs=[drop])
    db.add(Invitation(event_id=event.id, person_id=drop.id, kind="talk", status="invited", token_hash="a" * 64,
                      title="", abstract="", invited_at=dt.datetime.now(dt.UTC), accommodation="",
                      needs_visa_letter=False))
    await db.commit()
    ids = (keep.id, drop.id, only_drop.id, shared.id, chaired.id)

    merged = await merge_people(db, keep, drop)
    await db.commit()
    keep_id, drop_id, only_drop_id, shared_id, chaired_id = ids
    assert merged.id == keep_id and merged.full_name == "王小明"
    assert merged.affiliation == "Peking University"  # kept's own values stay
    assert merged.email == "wang@example.cn" and merged.orcid == "0000-0002-1825-0097"  # filled from the other
    assert merged.bio == "Works on catalysis."
    assert await db.get(Person, drop_id) is None
    talks = TalkService(session=db)
    assert [link.person_id for link in (await talks.by_id(only_drop_id)).speaker_links] == [keep_id]
    assert [link.person_id for link in (await talks.by_id(shared_id)).speaker_links] == [keep_id]
    assert [p.id for p in (await ScheduleSessionService(session=db).by_id(chaired_id)).chairs] == [keep_id]
    invitation = await db.scalar(select(Invitation))
    assert invitation.person_id == keep_id
    assert {t.title for t in await talks.talks_of_person(keep_id)} == {"Drop's talk", "Joint talk"}


async def test_organiser_searches_and_merges_through_the_pages(client, db, organiser):
    # The organiser's own new records (on no event yet): theirs to edit and merge.
    first = await person(db, "José Álvarez", affiliation="Universidad de Chile", creator=organiser)
    second = await person(db, "Jose Alvarez", email="jose@example.cl", creator=organiser)
    other = await person(db, "Ana Souza", creator=organiser)
    await sign_in(client, organiser.email)
    found = await client.get("/organiser/speakers", params={"q": "chile"})
    assert "José Álvarez" in found.text and "Ana Souza" not in found.text
    # The first POST shows which record merges into which, and merges nothing.
    asked = await submit(client, "/organiser/speakers/merge", {"keep_id": str(first.id), "drop_id": str(second.id)})
    assert asked.status_code == 200 and 'name="confirm" value="yes"' in asked.text
    assert f"move to #{first.id}" in asked.text and "Jose Alvarez" in asked.text and "José Álvarez" in asked.text
    assert (await PersonService(session=db).search(None))[1] == 3
    response = await submit(client, "/organiser/speakers/merge",
                            {"keep_id": str(first.id), "drop_id": str(second.id), "confirm": "yes"})
    assert response.status_code in (302, 303)
    rows, total = await PersonService(session=db).search(None)
    assert total == 2 and {p.id for p in rows} == {first.id, other.id}
    same = await submit(client, "/organiser/speakers/merge", {"keep_id": str(first.id), "drop_id": str(first.id)})
    assert same.status_code == 400 and "two different records" in same.text
