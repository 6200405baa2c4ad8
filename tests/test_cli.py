from __future__ import annotations

from click.testing import CliRunner
from litestar.testing import TestClient

from events_app.app import create_app
from events_app.cli import main
from events_app.settings import Settings


def test_cli_sets_up_a_database_loads_demo_data_and_creates_an_organiser_with_a_token(empty_database_url, monkeypatch):
    monkeypatch.setenv("EVENTS_DATABASE_URL", empty_database_url)
    monkeypatch.setenv("EVENTS_SECRET_KEY", "cli-test-secret-key-0123456789-abcdefghijklmnop")
    runner = CliRunner()

    result = runner.invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["demo", "--if-empty"])
    assert result.exit_code == 0 and "Demo data loaded." in result.output
    result = runner.invoke(main, ["demo", "--if-empty"])
    assert "not loaded" in result.output  # never twice

    result = runner.invoke(main, ["create-organiser", "Admin@Example.org", "--admin"], env={"EVENTS_PASSWORD": "s3cret-password"})
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["create-organiser", "admin@example.org"], env={"EVENTS_PASSWORD": "s3cret-password"})
    assert result.exit_code != 0 and "already exists" in result.output
    result = runner.invoke(main, ["create-organiser", "short@example.org"], env={"EVENTS_PASSWORD": "short"})
    assert result.exit_code != 0 and "password" in result.output

    result = runner.invoke(main, ["create-token", "admin@example.org"])
    assert result.exit_code == 0
    token = result.output.strip()
    assert token.startswith("evt_")
    assert runner.invoke(main, ["create-token", "nobody@example.org"]).exit_code != 0

    with TestClient(create_app(Settings.from_env())) as client:
        home = client.get("/")
        assert "International Conference on Scholarly Information" in home.text
        assert "Distinguished Lectures on Open Science" in home.text
        response = client.post("/api/series", json={"title": "From the CLI token"}, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 201
        assert client.get("/events/draft-summer-school").status_code == 404
        # demo speakers in Chinese and Arabic script survive the round trip
        speakers = client.get("/api/speakers", params={"limit": 100}).json()["items"]
        names = {s["full_name"] for s in speakers}
        assert {"张晓林", "ليلى حداد", "Anna Müller"} <= names
        conference = client.get("/api/events", params={"kind": "conference"}).json()["items"][0]["slug"]
        conference_page = client.get(f"/events/{conference}").text
        assert "Registration is open." in conference_page and "Dietary needs" in conference_page
        login = client.get("/login")
        assert login.status_code == 200

def test_run_command_is_offered():
    result = CliRunner().invoke(main, ["run", "--help"])
    assert result.exit_code == 0 and "--port" in result.output and "--host" in result.output

def test_interactive_password_prompt_is_used_without_the_variable(empty_database_url, monkeypatch):
    monkeypatch.setenv("EVENTS_DATABASE_URL", empty_database_url)
    monkeypatch.delenv("EVENTS_PASSWORD", raising=False)
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(main, ["create-organiser", "prompted@example.org"], input="long-enough-pw\nlong-enough-pw\n")
    assert result.exit_code == 0, result.output
