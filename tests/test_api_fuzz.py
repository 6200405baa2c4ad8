"""Issue #10: a property-based run over the published OpenAPI finds no 5xx.

Schemathesis reads /schema/openapi.json from the app (in process, over ASGI) and sends generated requests to
every operation: valid ones (positive) and ones that break the schema (negative), each once with random path
parameters and once aimed at a real demo event, with an organiser's token that manages it. The budget is small
on purpose (it runs in every suite); raise EVENTS_FUZZ_EXAMPLES for a deeper run, e.g. before a release.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import select

from events_app.app import create_app
from events_app.demo import load_demo_data
from events_app.events.models import Event
from events_app.events.services import EventService
from events_app.schedule.models import ScheduleSession, Talk
from events_app.speakers.models import Person

EXAMPLES = int(os.environ.get("EVENTS_FUZZ_EXAMPLES", "4"))


@pytest.fixture
async def demo_targets(db, organiser, token) -> dict:
    """The demo programme, managed by the organiser whose token the run uses; ids to aim requests at."""
    await load_demo_data(db, only_if_empty=False)
    await db.commit()
    events = EventService(session=db)
    conference = await db.scalar(select(Event).where(Event.kind == "conference"))
    for event in await db.scalars(select(Event)):
        await events.add_manager(await events.by_slug(event.slug), organiser)
    await db.commit()
    return {
        "slug": conference.slug,
        "talk_id": await db.scalar(select(Talk.id).where(Talk.event_id == conference.id).limit(1)),
        "session_id": await db.scalar(select(ScheduleSession.id).where(ScheduleSession.event_id == conference.id)
                                      .limit(1)) or 1,
        "person_id": await db.scalar(select(Person.id).limit(1)),
        "registration_id": 1,
        "action": "approve",
        "token": token,
    }


def fuzz_operation(operation, mode: GenerationMode, headers: dict, path_parameters: dict | None) -> None:
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, print_blob=False,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        response = case.call(headers=headers)
        # A 5xx, or a 2xx whose body breaks its own documented schema, is a failure; 4xx answers are the point.
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    run()


def test_no_generated_request_gets_a_server_error(settings, demo_targets) -> None:
    # The app runs in schemathesis' own event loop thread (over ASGI), not in pytest-asyncio's.
    app = create_app(settings)
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    headers = {"Authorization": f"Bearer {demo_targets['token']}"}
    failures: list[str] = []
    operations = 0
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1
            names = {p.name for p in operation.path_parameters}
            aimed = {k: v for k, v in demo_targets.items() if k in names}
            # Negative cases need something to break: a query or a body (any string is a valid slug).
            negatable = bool(list(operation.query)) or bool(list(operation.body))
            modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if negatable else (GenerationMode.POSITIVE,)
            for mode in modes:
                for path_parameters in ([None, aimed] if aimed else [None]):
                    try:
                        fuzz_operation(operation, mode, headers, path_parameters)
                    except Unsatisfiable:
                        pass  # nothing to negate (any string is a valid slug), or every parameter is fixed
                    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every failing operation is reported
                        failures.append(f"{operation.label} ({mode.value}, {'aimed' if path_parameters else 'random'}"
                                        f"): {str(exc)[:1500]}")
    finally:
        shutdown_lifespans()
    assert operations >= 20, operations
    assert not failures, "\n\n".join(failures)
