"""Demo data modelled on a national science library's international programme."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.accounts.models import Account, Role
from events_app.accounts.passwords import hash_password
from events_app.events.models import Event, EventKind, EventStatus, Series
from events_app.schedule.models import Room, ScheduleSession, Talk, TalkSpeaker, Venue
from events_app.settings import Settings
from events_app.speakers.models import Person

HOST = "National Science Library, Chinese Academy of Sciences"
NSL_ADDRESS = "33 Beisihuan Xilu, Zhongguancun, Haidian District, Beijing 100190, China"

PEOPLE = [
    dict(full_name="张晓林", honorific="Prof.", affiliation="National Science Library, CAS", country="CN",
         email="zhang.xiaolin@example.cn", bio="Works on open science infrastructure and research evaluation.",
         orcid="0000-0002-1825-0097"),
    dict(full_name="Maria González", honorific="Dr.", affiliation="Universidad de Granada", country="ES",
         email="mgonzalez@example.es", bio="Bibliometrics and research assessment in the Spanish-speaking world."),
    dict(full_name="Jean-Luc Dupont", honorific="Prof.", affiliation="Université Paris-Saclay", country="FR",
         email="jl.dupont@example.fr", bio="Digital libraries, persistent identifiers, long-term preservation."),
    dict(full_name="Anna Müller", honorific="Dr.", affiliation="TIB – Leibniz Information Centre for Science and Technology",
         country="DE", email="anna.mueller@example.de", bio="Knowledge graphs for scholarly communication."),
    dict(full_name="李明", honorific="Dr.", affiliation="Peking University Library", country="CN",
         email="liming@example.cn", bio="Research data management and data curation."),
    dict(full_name="ليلى حداد", honorific="Dr.", affiliation="American University of Beirut", country="LB",
         email="l.haddad@example.lb", bio="Arabic-script metadata and multilingual discovery."),
    dict(full_name="Kwame Mensah", honorific="Prof.", affiliation="University of Ghana", country="GH",
         email="k.mensah@example.gh", bio="Open access publishing in Africa."),
    dict(full_name="Sarah O'Connor", honorific="Prof.", affiliation="Columbia University", country="US",
         email="s.oconnor@example.edu", bio="History of science and scholarly communication."),
    dict(full_name="田中 健二", honorific="Prof.", affiliation="National Institute of Informatics", country="JP",
         email="tanaka@example.jp", bio="Research information systems in Japan."),
    dict(full_name="Fiona Campbell", honorific="Dr.", affiliation="University of Edinburgh", country="GB",
         email="f.campbell@example.ac.uk", bio="Data stewardship training for researchers."),
    dict(full_name="王芳", honorific="", affiliation="Institute of Scientific and Technical Information of China",
         country="CN", email="wangfang@example.cn", bio="Science policy and text mining."),
    dict(full_name="João Silva", honorific="Dr.", affiliation="Universidade de São Paulo", country="BR",
         email="jsilva@example.br", bio="Open research information in Latin America."),
]


def at(day: dt.date, hour: int, minute: int, zone: str) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(dt.UTC)


async def load_demo_data(session: AsyncSession, *, only_if_empty: bool = True, today: dt.date | None = None,
                         settings: Settings | None = None) -> bool:
    if only_if_empty and await session.scalar(select(func.count()).select_from(Event)):
        return False
    today = today or dt.date.today()
    shanghai, new_york = "Asia/Shanghai", "America/New_York"

    people = [Person(**p) for p in PEOPLE]
    session.add_all(people)
    lectures = Series(slug="distinguished-lectures", title="Distinguished Lectures on Open Science",
                      description="Invited lectures by visiting foreign experts and scholars, held at the National "
                                  "Science Library and streamed online.")
    icsi = Series(slug="icsi", title="International Conference on Scholarly Information",
                  description="An annual international conference on scholarly information, held every autumn in Beijing.")
    session.add_all([lectures, icsi])
    # A system account owns the demo events; real organisers are created with `events-app create-organiser`.
    owner = await session.scalar(select(Account).where(Account.email == "demo-owner@localhost"))
    if owner is None:
        owner = Account(email="demo-owner@localhost", full_name="Demo data", role=Role.ORGANISER, is_active=False,
                        password_hash=await hash_password("disabled-account-" + str(id(session))))
        session.add(owner)
    await session.flush()

    def event(**fields: Any) -> Event:
        fields.setdefault("status", EventStatus.PUBLISHED)
        fields.setdefault("organiser", HOST)
        fields.setdefault("language", "en")
        fields.setdefault("partners", [])
        item = Event(revision=0, **fields)
        item.managers = [owner]
        session.add(item)
        return item

    conf_day = today + dt.timedelta(days=45)
    conference = event(
        slug=f"icsi-{conf_day.year}", kind=EventKind.CONFERENCE, series=icsi,
        title=f"International Conference on Scholarly Information {conf_day.year}",
        summary="Three days on open science, research data and multilingual discovery, with keynotes from five continents.",
        description="The **International Conference on Scholarly Information** brings together librarians, "
                    "information scientists and research managers.\n\n- Keynotes in the Main Auditorium\n"
                    "- Parallel sessions in Rooms 201 and 305\n- Simultaneous interpretation English ↔ 中文",
        starts_at=at(conf_day, 9, 0, shanghai), ends_at=at(conf_day + dt.timedelta(days=2), 17, 30, shanghai),
        timezone=shanghai, venue_name="National Science Library, Main Building", venue_address=NSL_ADDRESS,
        geo_lat=39.9869, geo_lon=116.3275, language="en, zh",
        partners=["International Federation of Library Associations (IFLA)", "Peking University"],
    )
    workshop_day = today + dt.timedelta(days=20)
    workshop = event(
        slug="advanced-workshop-research-data-management", kind=EventKind.WORKSHOP,
        title="Advanced Workshop on Research Data Management",
        summary="A two-day hands-on workshop organised jointly with the University of Edinburgh.",
        description="Data management plans, FAIR principles in practice, and curation of multilingual datasets. "
                    "Places are limited; bring a laptop.",
        starts_at=at(workshop_day, 9, 30, shanghai), ends_at=at(workshop_day + dt.timedelta(days=1), 16, 0, shanghai),
        timezone=shanghai, venue_name="National Science Library, Training Centre", venue_address=NSL_ADDRESS,
        partners=["University of Edinburgh", "Peking University Library"],
    )
    lecture_events = []
    for offset, person_index, title, zone, online in [
        (7, 1, "Responsible Metrics: What the Leiden Manifesto Means for Libraries", shanghai, ""),
        (14, 7, "Scholarly Communication in the Age of Preprints", new_york, "https://meet.example.org/lecture-preprints"),
        (30, 5, "Multilingual Metadata: Lessons from Arabic-Script Collections", shanghai, ""),
        (-21, 2, "Persistent Identifiers and the Long Memory of Science", shanghai, ""),
        (-60, 6, "Open Access Publishing in Africa: Progress and Gaps", shanghai, ""),
    ]:
        day = today + dt.timedelta(days=offset)
        start_hour = 10 if zone == new_york else 14
        lecture = event(
            kind=EventKind.LECTURE, series=lectures, slug=f"lecture-{day.isoformat()}", title=title,
            summary=f"An invited lecture by {PEOPLE[person_index]['honorific']} {PEOPLE[person_index]['full_name']} "
                    f"({PEOPLE[person_index]['affiliation']}).",
            starts_at=at(day, start_hour, 0, zone), ends_at=at(day, start_hour + 1, 30, zone), timezone=zone,
            venue_name="" if online else "National Science Library, Lecture Hall 1",
            venue_address="" if online else NSL_ADDRESS, online_url=online,
            organiser=HOST if not online else f"{HOST}, with Columbia University Libraries",
        )
        lecture_events.append((lecture, person_index))
    cancelled_day = today + dt.timedelta(days=10)
    cancelled = event(
        kind=EventKind.LECTURE, series=lectures, slug=f"lecture-{cancelled_day.isoformat()}-cancelled",
        title="Research Information Systems in Japan", status=EventStatus.CANCELLED,
        summary="Cancelled: the speaker's travel could not be arranged. A new date will be announced.",
        starts_at=at(cancelled_day, 15, 0, shanghai), ends_at=at(cancelled_day, 16, 30, shanghai), timezone=shanghai,
        venue_name="National Science Library, Lecture Hall 1", venue_address=NSL_ADDRESS,
    )
    past_conf_day = today - dt.timedelta(days=320)
    past_conference = event(
        slug=f"icsi-{past_conf_day.year}", kind=EventKind.CONFERENCE, series=icsi,
        title=f"International Conference on Scholarly Information {past_conf_day.year}",
        summary="Last year's conference on research evaluation and open infrastructure.",
        starts_at=at(past_conf_day, 9, 0, shanghai), ends_at=at(past_conf_day + dt.timedelta(days=1), 17, 0, shanghai),
        timezone=shanghai, venue_name="National Science Library, Main Building", venue_address=NSL_ADDRESS,
    )
    event(
        slug="draft-summer-school", kind=EventKind.WORKSHOP, status=EventStatus.DRAFT,
        title="Summer School on Scientometrics (draft)", summary="Still being planned; not public.",
        starts_at=at(today + dt.timedelta(days=120), 9, 0, shanghai),
        ends_at=at(today + dt.timedelta(days=124), 17, 0, shanghai), timezone=shanghai,
    )
    await session.flush()

    # Rooms are records of a venue, so the timetable's clash checks see the demo programme too.
    main_building = Venue(name="National Science Library, Main Building", address=NSL_ADDRESS)
    training = Venue(name="National Science Library, Training Centre", address=NSL_ADDRESS)
    rooms = {
        name: Room(venue=venue, name=name, capacity=capacity)
        for venue, name, capacity in [
            (main_building, "Main Auditorium", 400), (main_building, "Room 201", 80), (main_building, "Room 305", 60),
            (main_building, "Lecture Hall 1", 150), (training, "Training Room A", 40),
        ]
    }
    session.add_all([main_building, training, *rooms.values()])
    await session.flush()

    def talk(ev: Event, day_offset: int, hour: int, minute: int, length: int, title: str, room: str, speakers: list[int],
             abstract: str = "") -> None:
        day = ev.local_start.date() + dt.timedelta(days=day_offset)
        start = at(day, hour, minute, ev.timezone)
        item = Talk(event_id=ev.id, title=title, abstract=abstract, room=room, revision=0,
                    room_id=rooms[room].id if room in rooms else None,
                    starts_at=start, ends_at=start + dt.timedelta(minutes=length))
        item.speaker_links = [TalkSpeaker(person=people[i], position=n) for n, i in enumerate(speakers)]
        session.add(item)

    hall, r201, r305 = "Main Auditorium", "Room 201", "Room 305"
    conference_day = conference.local_start.date()
    opening = ScheduleSession(event_id=conference.id, title="Opening and keynote", track="Plenary",
                              room_id=rooms[hall].id, starts_at=at(conference_day, 9, 0, shanghai),
                              ends_at=at(conference_day, 10, 30, shanghai))
    opening.chairs = [people[0]]
    session.add(opening)
    talk(conference, 0, 9, 0, 30, "Opening remarks / 开幕致辞", hall, [0])
    talk(conference, 0, 9, 30, 60, "Keynote: Open Science, Open Infrastructure", hall, [3],
         "Why knowledge graphs matter for open science; experiences from TIB.")
    talk(conference, 0, 11, 0, 30, "Research data services in Chinese universities", r201, [4])
    talk(conference, 0, 11, 0, 30, "Identifiers that last: DOIs, ORCID, ROR", r305, [2])
    talk(conference, 0, 14, 0, 45, "Multilingual discovery beyond Latin script", r201, [5])
    talk(conference, 0, 14, 0, 45, "Open access in Africa: a progress report", r305, [6])
    talk(conference, 1, 9, 0, 60, "Keynote: Responsible metrics around the world", hall, [1])
    talk(conference, 1, 10, 30, 30, "科技文献中的文本挖掘 (Text mining of scientific literature)", r201, [10])
    talk(conference, 1, 10, 30, 30, "Research information systems in Japan", r305, [8])
    talk(conference, 1, 14, 0, 60, "Panel: Training data stewards", hall, [9, 4, 11])
    talk(conference, 2, 9, 0, 60, "Keynote: The history of scholarly communication", hall, [7])
    talk(conference, 2, 11, 0, 30, "Open research information in Latin America", r201, [11])
    talk(conference, 2, 16, 30, 60, "Closing session and ICSI next year", hall, [0, 3])
    talk(workshop, 0, 9, 30, 90, "Writing a data management plan", "Training Room A", [9])
    talk(workshop, 0, 13, 30, 120, "FAIR principles in practice", "Training Room A", [4, 9])
    talk(workshop, 1, 9, 30, 120, "Curating multilingual datasets", "Training Room A", [5, 4])
    for lecture, person_index in lecture_events:
        local = lecture.local_start
        talk(lecture, 0, local.hour, local.minute, 75, lecture.title, "Lecture Hall 1" if not lecture.online_url else "",
             [person_index])
    talk(cancelled, 0, 15, 0, 75, cancelled.title, "Lecture Hall 1", [8])
    talk(past_conference, 0, 9, 30, 60, "Keynote: Research evaluation reform", hall, [1])
    talk(past_conference, 1, 10, 0, 45, "Open infrastructure in China", hall, [0])
    await session.flush()
    await open_demo_registration(session, conference, workshop, [lecture for lecture, _ in lecture_events],
                                 settings or Settings())
    await open_demo_call(session, conference, today)
    return True


async def open_demo_call(session: AsyncSession, conference: Event, today: dt.date) -> None:
    """The conference's call for abstracts, open now and closing three weeks before the conference."""
    from events_app.calls.services import create_call

    zone = ZoneInfo(conference.timezone)
    closes = dt.datetime.combine(conference.local_start.date() - dt.timedelta(days=21), dt.time(23, 59), zone)
    await create_call(session, conference, {
        "kind": "abstracts", "title": "Call for abstracts",
        "description": "Submit an abstract for a 20-minute talk in one of the parallel tracks. "
                       "Abstracts are reviewed double-blind by the programme committee.",
        "opens_at": dt.datetime.combine(today - dt.timedelta(days=7), dt.time(0, 0), zone).isoformat(),
        "closes_at": closes.isoformat(),
        "tracks": ["Research data", "Identifiers and metadata", "Open access"],
        "fields": [{"label": "Extended abstract (PDF, optional)", "kind": "file", "required": False,
                    "types": ["pdf"], "max_mb": 5}],
        "co_authors_allowed": True, "languages": "en, zh", "max_abstract_chars": 2500, "blind_authors": True,
        "criteria": [{"label": "Relevance", "min": 1, "max": 5}, {"label": "Originality", "min": 1, "max": 5},
                     {"label": "Clarity", "min": 1, "max": 5}],
    })


async def open_demo_registration(session: AsyncSession, conference: Event, workshop: Event, lectures: list[Event],
                                 settings: Settings) -> None:
    """Registration as an organiser would set it up: lectures open, the workshop small with approval."""
    from events_app.registration.services import RegistrationService

    registration = RegistrationService(session, settings)
    await registration.update_settings(conference, {
        "mode": "open", "capacity": 300, "waitlist_enabled": True,
        "questions": [
            {"label": "Dietary needs", "kind": "short_text", "required": False},
            {"label": "Which parallel track will you mostly attend?", "kind": "single_choice", "required": True,
             "options": ["Research data", "Identifiers and metadata", "Open access"]},
            {"label": "I need an invitation letter for a visa", "kind": "checkbox", "required": False},
        ],
    })
    await registration.update_settings(workshop, {
        "mode": "approval", "capacity": 25, "waitlist_enabled": True,
        "questions": [{"label": "Your research field", "kind": "short_text", "required": True}],
    })
    for lecture in lectures:
        if lecture.ends_at > dt.datetime.now(dt.UTC):
            await registration.update_settings(lecture, {"mode": "open", "capacity": 120, "waitlist_enabled": True})
