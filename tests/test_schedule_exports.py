"""Programme exports: frab schedule XML (checked element by element) and its JSON twin, speaker CSV."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from tests.schedule_support import conference, person, room, schedule_session, sign_in, talk

# What frab's schedule.xml gives every <event>, in order; Giggity, ConfClerk and Fahrplan read these.
FRAB_EVENT_CHILDREN = [
    "date", "start", "duration", "room", "slug", "url", "recording", "title", "subtitle", "track", "type",
    "language", "abstract", "description", "logo", "persons", "links", "attachments",
]
FRAB_CONFERENCE_CHILDREN = ["acronym", "title", "start", "end", "days", "timeslot_duration", "time_zone_name", "base_url"]


async def build_programme(db, organiser):
    event = await conference(db, organiser, title="Catalysis & <Materials> 2030")
    hall_a, hall_b = await room(db, "Hall A"), await room(db, "Hall B & Annex")
    wang = await person(db, "王小明", honorific="Prof.")
    jose = await person(db, "José Álvarez")
    plenary = await schedule_session(db, event, "Plenary", "2030-03-04T09:00", "2030-03-04T12:00", room=hall_a)
    plenary.track = "Keynotes"
    await db.commit()
    await talk(db, event, "Zeolites <at> scale & beyond", "2030-03-04T09:00", "2030-03-04T10:15", session=plenary,
               speakers=[wang, jose])
    await talk(db, event, "Enzymes", "2030-03-04T10:30", "2030-03-04T11:15", room=hall_b, speakers=[jose])
    await talk(db, event, "Coffee break", "2030-03-04T10:15", "2030-03-04T10:30", kind="break")
    await talk(db, event, "Day two talk", "2030-03-05T14:00", "2030-03-05T14:20", room=hall_b)
    return event


def check_frab_structure(root: ET.Element) -> list[ET.Element]:
    assert root.tag == "schedule"
    assert root.find("version") is not None and root.find("version").text
    conference = root.find("conference")
    assert [child.tag for child in conference] == FRAB_CONFERENCE_CHILDREN
    events = []
    for day in root.findall("day"):
        assert set(day.attrib) >= {"index", "date", "start", "end"}
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", day.get("date"))
        for room_element in day:
            assert room_element.tag == "room" and room_element.get("name")
            for event in room_element:
                assert event.tag == "event" and event.get("id").isdigit() and len(event.get("guid")) == 36
                assert [child.tag for child in event] == FRAB_EVENT_CHILDREN
                assert re.fullmatch(r"\d{2}:\d{2}", event.findtext("start"))
                assert re.fullmatch(r"\d{2}:\d{2}", event.findtext("duration"))
                assert event.findtext("room") == room_element.get("name")
                for p in event.find("persons"):
                    assert p.tag == "person" and p.get("id").isdigit()
                events.append(event)
    return events


async def test_frab_xml_has_the_structure_conference_apps_read(client, db, organiser):
    event = await build_programme(db, organiser)
    response = await client.get(f"/events/{event.slug}/schedule.xml")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    events = check_frab_structure(root)
    conference = root.find("conference")
    assert conference.findtext("title") == "Catalysis & <Materials> 2030"
    assert conference.findtext("time_zone_name") == "Asia/Shanghai"
    assert conference.findtext("start") == "2030-03-04" and conference.findtext("days") == "3"
    by_title = {e.findtext("title"): e for e in events}
    assert set(by_title) == {"Zeolites <at> scale & beyond", "Enzymes", "Day two talk"}  # breaks are not events
    zeolites = by_title["Zeolites <at> scale & beyond"]
    assert zeolites.findtext("date") == "2030-03-04T09:00:00+08:00"
    assert zeolites.findtext("start") == "09:00" and zeolites.findtext("duration") == "01:15"
    assert zeolites.findtext("room") == "Hall A"  # inherited from its session
    assert zeolites.findtext("track") == "Keynotes"
    assert [p.text for p in zeolites.find("persons")] == ["Prof. 王小明", "José Álvarez"]
    assert by_title["Enzymes"].findtext("room") == "Hall B & Annex"
    days = root.findall("day")
    assert [d.get("date") for d in days] == ["2030-03-04", "2030-03-05"]
    assert days[0].get("start") == "2030-03-04T09:00:00+08:00"


async def test_json_export_carries_the_same_programme(client, db, organiser):
    event = await build_programme(db, organiser)
    xml_events = check_frab_structure(ET.fromstring((await client.get(f"/events/{event.slug}/schedule.xml")).content))
    data = (await client.get(f"/events/{event.slug}/schedule.json")).json()
    conference = data["schedule"]["conference"]
    assert conference["acronym"] == event.slug and conference["time_zone_name"] == "Asia/Shanghai"
    talks = [t for day in conference["days"] for ts in day["rooms"].values() for t in ts]
    assert sorted(t["guid"] for t in talks) == sorted(e.get("guid") for e in xml_events)
    zeolites = next(t for t in talks if t["title"].startswith("Zeolites"))
    assert zeolites["persons"] == [{"id": zeolites["persons"][0]["id"], "public_name": "Prof. 王小明"},
                                   {"id": zeolites["persons"][1]["id"], "public_name": "José Álvarez"}]
    assert zeolites["duration"] == "01:15" and zeolites["room"] == "Hall A"


async def test_guids_stay_the_same_when_a_talk_moves(client, db, organiser):
    from events_app.schedule.services import TalkService

    event = await conference(db, organiser)
    moving = await talk(db, event, "Moving", "2030-03-04T09:00", "2030-03-04T09:30")
    first = (await client.get(f"/events/{event.slug}/schedule.json")).json()
    await TalkService(session=db).update_talk(event, moving, {"starts_at": "2030-03-05T09:00", "ends_at": "2030-03-05T09:30"})
    await db.commit()
    second = (await client.get(f"/events/{event.slug}/schedule.json")).json()

    def guids(doc):
        return [t["guid"] for d in doc["schedule"]["conference"]["days"] for ts in d["rooms"].values() for t in ts]

    assert guids(first) == guids(second)


async def test_speaker_csv_for_organisers_is_utf8_with_bom(client, db, organiser):
    event = await build_programme(db, organiser)
    assert (await client.get(f"/organiser/events/{event.slug}/speakers.csv", follow_redirects=False)).status_code in (302, 303)
    await sign_in(client, organiser.email)
    response = await client.get(f"/organiser/events/{event.slug}/speakers.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("name,honorific,affiliation,country,email,status")
    assert any(line.startswith("王小明,Prof.") for line in lines)
    assert any("José Álvarez" in line and "Zeolites <at> scale & beyond | Enzymes" in line for line in lines)


async def test_cached_exports_follow_deletions_session_moves_and_renames(client, db, organiser):
    from events_app.schedule.services import ScheduleSessionService, TalkService
    from events_app.speakers.services import PersonService

    event = await conference(db, organiser)
    hall_a, hall_b = await room(db, "Hall A"), await room(db, "Hall B")
    chair = await person(db, "Olga Petrova")
    block = await schedule_session(db, event, "Block", "2030-03-04T09:00", "2030-03-04T12:00", room=hall_a, chairs=[chair])
    inside = await talk(db, event, "Inside the block", "2030-03-04T09:00", "2030-03-04T09:30", session=block,
                        speakers=[chair])
    doomed = await talk(db, event, "Soon deleted", "2030-03-05T09:00", "2030-03-05T09:30", room=hall_b)
    url = f"/events/{event.slug}/schedule.xml"

    def talks_by_title(response):
        return {e.findtext("title"): e for e in check_frab_structure(ET.fromstring(response.content))}

    assert set(talks_by_title(await client.get(url))) == {"Inside the block", "Soon deleted"}  # warms the caches
    assert "Soon deleted" in (await client.get(f"/events/{event.slug}/programme")).text
    await TalkService(session=db).delete_talk(doomed)
    await ScheduleSessionService(session=db).update_session(event, block, {"room_id": hall_b.id})
    await PersonService(session=db).update_person(chair, {"full_name": "Ольга Петрова"})
    await db.commit()
    after = talks_by_title(await client.get(url))
    assert set(after) == {"Inside the block"}
    assert after["Inside the block"].findtext("room") == "Hall B"
    assert [p.text for p in after["Inside the block"].find("persons")] == ["Ольга Петрова"]
    page = (await client.get(f"/events/{event.slug}/programme")).text
    assert "Soon deleted" not in page and "Ольга Петрова" in page and inside.id
    sessions = page[page.index('class="sessions"'):]
    assert "chair: <a" in sessions and "Ольга Петрова" in sessions and "Olga Petrova" not in sessions
