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
            result = await service.register(event, {"name": name, "email": f"{name.lower()}@example.org",
                                                    "country": "CN", "affiliation": "CAS",
                                                    "answers": {"dietary-needs": "None"}})
            tokens.append(result.token)
            codes.append(result.registration.checkin_code)
        await session.commit()
        return {"slug": event.slug, "id": event.id, "tokens": tokens, "codes": codes, "organiser": email}

    return site.arrange(arrange)
