"""Every HTML form of the demo programme, sent what an attacker would, answers 4xx (or a redirect), never 5xx.

The API has its property-based run over OpenAPI (test_api_fuzz.py); forms have no schema, so this test finds them
the way a person does: it crawls the public pages and the organiser area as an administrator, reads each POST
form (with its CSRF token) and sends it once per kind of garbage in every field: a NUL byte, numbers past 64
bits, dates in year 1 and 60,000-character strings."""

from __future__ import annotations

import re

from events_app.demo import load_demo_data
from tests.conftest import login, make_account
from tests.crawl import Form, crawl, forms_of

NOT_TOUCHED = {"_csrf_token"}
# Forms that would end the administrator's own session (and leave every later form answering "sign in").
SIGNS_OUT = re.compile(r"/(logout|sessions/end|active)$")

GARBAGE = {
    "NUL": lambda kind, value: "A\x00B",
    "past 64 bits": lambda kind, value: "9" * 25 if kind in ("number", "hidden", "select", "radio") else value,
    "year 1": lambda kind, value: {"date": "0001-01-01", "datetime-local": "0001-01-01T00:00",
                                   "time": "00:00"}.get(kind, value),
    "60,000 characters": lambda kind, value: "Z" * 60_000 if kind in ("text", "textarea", "email", "search",
                                                                     "url", "tel", "password") else value,
}


def _distinct_forms(app, pages: dict[str, str]) -> list[Form]:
    """One form per route handler: the talk forms of ten events are one piece of code."""
    forms: dict[object, Form] = {}
    for path, page in pages.items():
        for form in forms_of(page, path):
            path_only = form.action.split("?")[0]
            if form.method == "post" and not SIGNS_OUT.search(path_only):
                handler = app.asgi_router.handle_routing(path=path_only, method="POST")[1]
                forms.setdefault(handler, form)
    return list(forms.values())


async def _send_garbage(client, forms: list[Form]) -> tuple[list[str], int]:
    """(the server errors, how many answers refused the input with a 4xx)."""
    failures, refused = [], 0
    for form in forms:
        for name, garble in GARBAGE.items():
            data: dict[str, list[str]] = {}
            for field, kind, value in form.fields:
                data.setdefault(field, []).append(value if field in NOT_TOUCHED or kind == "file"
                                                  else garble(kind, value))
            response = await client.post(form.action, data=data, follow_redirects=False)
            if response.status_code >= 500:
                failures.append(f"{form.action} with {name}: {response.status_code}")
            refused += 400 <= response.status_code < 500
    return failures, refused


async def test_every_public_and_organiser_form_answers_garbage_without_a_server_error(app, client, db):
    await load_demo_data(db, only_if_empty=False)
    await make_account(db, "admin@example.org", admin=True)
    await db.commit()
    public, _ = await crawl(client, ["/", "/past"], limit=150)
    await login(client, "admin@example.org")
    organiser, _ = await crawl(client, ["/organiser"])
    forms = _distinct_forms(app, public | organiser)
    # The crawl reached the forms this round added as well as the old ones.
    actions = " ".join(form.action for form in forms)
    assert len(forms) >= 30 and "/calls" in actions and ("letter" in actions or "documents" in actions), actions
    failures, refused = await _send_garbage(client, forms)
    assert failures == []
    # Still signed in, so every form was judged by its handler rather than by the sign-in guard.
    assert (await client.get("/organiser", follow_redirects=False)).status_code == 200
    assert refused >= len(forms), refused
