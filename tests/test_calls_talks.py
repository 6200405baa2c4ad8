"""Issue 16: an accepted abstract becomes an unscheduled talk whose speakers are the existing person records
(a returning speaker is not copied), each invited through the speakers' private link."""

from __future__ import annotations

from sqlalchemy import select

from events_app.calls import services
from events_app.calls.models import Submission
from events_app.events.models import Event
from events_app.schedule.models import Talk
from events_app.speakers.models import Invitation, Person
from tests.calls_helpers import make_call, submit


async def test_accepting_an_abstract_makes_an_unscheduled_talk_with_the_returning_speakers_own_record(
        db, organiser, settings):
    returning = Person(full_name="王小明", email="Wang.Xiaoming@example.cn", affiliation="Peking University Library")
    db.add(returning)
    await db.commit()
    call = await make_call(db, organiser)
    event = await db.get(Event, call.event_id)
    assert event is not None
    submission, _ = await submit(db, settings, call, name="Xiaoming Wang", email="wang.xiaoming@example.cn",
                                 title="Multilingual metadata", co_authors=[
                                     {"name": "Amélie Dubois", "email": "amelie@example.fr", "affiliation": "CNRS"}])
    assert await services.decide(db, settings, call, event, [submission.id], "accepted") == 1
    await db.commit()
    talk = (await db.scalars(select(Talk))).one()
    assert talk.title == "Multilingual metadata" and talk.starts_at is None and talk.ends_at is None
    assert [link.person_id for link in talk.speaker_links][0] == returning.id
    assert len(talk.speaker_links) == 2
    assert (await db.scalars(select(Person).where(Person.full_name == "Xiaoming Wang"))).all() == []  # no copy
    assert (await db.get(Submission, submission.id)).talk_id == talk.id  # type: ignore[union-attr]
    # Each speaker gets the speakers' private link (profile, photo, travel, visa letter) for this talk.
    invitations = (await db.scalars(select(Invitation).where(Invitation.talk_id == talk.id))).all()
    assert sorted(i.email for i in invitations) == ["Wang.Xiaoming@example.cn", "amelie@example.fr"]
    poster, _ = await submit(db, settings, call, name="Li Na", email="li.na@example.cn", title="A poster")
    await services.decide(db, settings, call, event, [poster.id], "poster")
    await db.commit()
    assert "Poster: A poster" in (await db.scalars(select(Talk.title))).all()
