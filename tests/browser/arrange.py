"""Data the browser journeys start from, arranged through the services in the live server's database."""

from __future__ import annotations

QUESTIONS = [
    {"label": "Dietary needs", "kind": "single_choice", "required": True, "options": ["None", "Vegetarian", "Halal"]},
    {"label": "Sessions", "kind": "multiple_choice", "options": ["Morning", "Afternoon"]},
    {"label": "I need an invitation letter for a visa", "kind": "checkbox"},
    {"label": "Anything else?", "kind": "long_text"},
]


def open_lecture(site, *, capacity: int | None, registrants: tuple[str, ...] = (),
                 title: str = "Invited lecture: 开放科学", questions: list[dict] | None = None) -> dict:
    """An organiser's published lecture with open registration (and some people registered already).

    Answers the slug, the event's id, the organiser's e-mail, and each registrant's manage token and check-in
    code, in order.
    """
    email = site.organiser()

    async def arrange(session):
        from sqlalchemy import select

        from events_app.accounts.models import Account
        from events_app.registration.services import RegistrationService
        from events_app.settings import Settings
        from tests.conftest import make_event

        organiser = await session.scalar(select(Account).where(Account.email == email))
        event = await make_event(session, organiser, title=title, starts_at="2031-03-05T14:00",
                                 ends_at="2031-03-05T15:30")
        service = RegistrationService(session, Settings(base_url=site.url("").rstrip("/")))
        await service.update_settings(event, {"mode": "open", "capacity": capacity, "waitlist_enabled": True,
                                              "questions": QUESTIONS if questions is None else questions})
        tokens, codes = [], []
        for name in registrants:
            result = await service.register_and_commit(event, {"name": name, "email": f"{name.lower()}@example.org",
                                                    "country": "CN", "affiliation": "CAS",
                                                    "answers": {"dietary-needs": "None"}})
            tokens.append(result.token)
            codes.append(result.registration.checkin_code)
        await session.commit()
        return {"slug": event.slug, "id": event.id, "tokens": tokens, "codes": codes, "organiser": email}

    return site.arrange(arrange)


def workshop_with_two_rooms(site, *, clash: bool = False) -> dict:
    """An organiser's published workshop with talks in Room 201 and Room 305 and a published programme version;
    with `clash`, a third talk is booked into Room 201 on top of the first (the organiser overrode the warning).
    """
    email = site.organiser()

    async def arrange(session):
        from sqlalchemy import select

        from events_app.accounts.models import Account
        from events_app.schedule.services import ProgrammeVersionService, TalkService
        from tests.conftest import make_event

        organiser = await session.scalar(select(Account).where(Account.email == email))
        event = await make_event(session, organiser, title="Workshop on Multilingual Metadata", kind="workshop",
                                 starts_at="2031-05-12T09:00", ends_at="2031-05-12T17:00",
                                 venue_name="National Science Library")
        talks = TalkService(session=session)
        for title, room, starts, ends in [
            ("Metadata in Chinese research libraries", "Room 201", "10:00", "11:00"),
            ("Knowledge graphs for scholarly records", "Room 305", "10:00", "11:00"),
        ] + ([("Linked open data in practice", "Room 201", "10:30", "11:30")] if clash else []):
            await talks.create_talk(event, {"title": title, "room": room, "starts_at": f"2031-05-12T{starts}",
                                            "ends_at": f"2031-05-12T{ends}"}, override=clash)
        await ProgrammeVersionService(session=session).publish(event, note="First programme")
        await session.commit()
        return {"slug": event.slug, "organiser": email}

    return site.arrange(arrange)
