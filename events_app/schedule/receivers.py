"""Schedule's receivers of what speakers announce (connected in events_app.wiring): the programme shows people,
so a change to a person or an answered invitation changes the programme. Speakers never import schedule."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from events_app.schedule.models import TalkKind
from events_app.schedule.services import (
    TalkService,
    bump_programme,
    events_of_person,
    touch,
    touch_talks_of_person,
)
from events_app.speakers.models import Invitation, InvitationStatus, Person


async def person_changed(session: AsyncSession, *, person_id: int, printed: bool, **_: Any) -> None:
    """speakers.signals.person_changed: names and affiliations are printed in every programme the person
    appears in (their talks and chaired sessions are rendered again); a photo only bumps the programmes."""
    if printed:
        await touch_talks_of_person(session, person_id)
    await bump_programme(session, await events_of_person(session, person_id))


async def invitation_answered(session: AsyncSession, *, invitation: Invitation, person: Person, title: str,
                              abstract: str, previous_status: str | None = None, **_: Any) -> None:
    """speakers.signals.invitation_answered: only accepted speakers reach public pages, so the link to the
    invited talk is made on acceptance (with the speaker's title and abstract) and undone on a decline.

    An invitation to speak without a talk gets one when it is accepted: unscheduled, with the speaker's title
    and abstract, for the organisers to place. The invitation then points at it, so answering again updates
    that talk; a talk the organisers deleted since is not made again by a later answer."""
    talks = TalkService(session=session)
    if not invitation.talk_id:
        newly_accepted = (invitation.status == InvitationStatus.ACCEPTED.value
                          and previous_status != InvitationStatus.ACCEPTED.value)
        if newly_accepted:
            kind = TalkKind.LECTURE.value if invitation.kind == TalkKind.LECTURE.value else TalkKind.TALK.value
            created = await talks.create_unscheduled(invitation.event_id, title or invitation.title, abstract,
                                                     [person.id], kind=kind)
            invitation.talk_id = created.id
        return
    talk = await talks.by_id(invitation.talk_id)
    if invitation.status == InvitationStatus.ACCEPTED.value:
        await talks.add_speaker(talk, person)
        changes = {k: v for k, v in (("title", title), ("abstract", abstract)) if v and getattr(talk, k) != v}
        for key, value in changes.items():
            setattr(talk, key, value)
        if changes:
            talk.revision += 1
            touch(talk)
            await bump_programme(session, talk.event_id)
    elif invitation.status == InvitationStatus.DECLINED.value:
        await talks.remove_speaker(talk, person.id)


async def speaker_page_context(session: AsyncSession, *, person_id: int, **_: Any) -> dict[str, Any]:
    """speakers.signals.speaker_page_shown: the person's scheduled talks at public events, by start (an
    unscheduled talk is not public yet)."""
    talks = await TalkService(session=session).talks_of_person(person_id)
    return {"talks": [t for t in talks if t.event.is_public and t.is_scheduled]}


async def speaker_board_context(session: AsyncSession, *, event: Any, **_: Any) -> dict[str, Any]:
    """speakers.signals.speaker_board_shown: the event's talks, to invite a speaker to one."""
    return {"talks": await TalkService(session=session).talks_of(event)}
