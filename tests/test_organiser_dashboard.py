from __future__ import annotations

from tests.conftest import login, make_event


async def test_dashboard_lists_a_finished_event_under_past_only(client, db, organiser):
    await make_event(db, organiser, title="Finished Lecture", starts_at="2020-05-01T14:00", ends_at="2020-05-01T15:30")
    await make_event(db, organiser, title="Coming Lecture", starts_at="2035-05-01T14:00", ends_at="2035-05-01T15:30")
    await make_event(db, organiser, title="Draft Workshop", publish=False,
                     starts_at="2035-06-01T09:00", ends_at="2035-06-01T17:00")
    await login(client, organiser.email)
    page = (await client.get("/organiser")).text
    upcoming, past = page.split("<h2>Past</h2>")
    assert "Coming Lecture" in upcoming and "Draft Workshop" in upcoming
    assert "Finished Lecture" not in upcoming
    assert "Finished Lecture" in past
