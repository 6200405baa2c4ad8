"""HTML form plumbing: read a posted form, re-render it with messages and the user's input kept."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Request
from litestar.plugins.flash import flash
from litestar.response import Template
from litestar.status_codes import HTTP_400_BAD_REQUEST

from events_app.core.timefmt import wall_time_warnings

# Route option that skips Litestar's CSRF middleware, by route rather than by path pattern (a pattern once
# matched "api" inside event slugs). Only for routes no cookie can authorise: the bearer-token API, the
# health check, calendar feeds and the API reference, all read-only or token-authenticated.
CSRF_EXEMPT = {"exclude_from_csrf": True}


async def read_form(request: Request, *, multi: tuple[str, ...] = ()) -> dict[str, Any]:
    form = await request.form()
    data: dict[str, Any] = {k: v for k, v in form.items() if k != "_csrf_token" and isinstance(v, str)}
    for name in multi:
        data[name] = [v for v in form.getall(name) if isinstance(v, str) and v] if name in form else []
    return data


CONFIRM_FIELD = "confirm"


def is_confirmed(values: Mapping[str, Any]) -> bool:
    """Acts that cannot be undone act only on a POST that says so (the confirmation page's button sends
    confirm=yes); any other POST, such as the first button's, answers with that confirmation page."""
    return values.get(CONFIRM_FIELD) == "yes"


class FormErrors(dict[str, str]):
    """A form's messages by field name, and the label of each field as the page's field macros render it
    (templates/macros/forms.html), so the error summary can say "Starts: Enter a date." for every form."""

    def __init__(self, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(errors or {})
        self.labels: dict[str, str] = {}

    def remember(self, name: str, label: str) -> str:
        self.labels[name] = str(label)
        return ""


def form_page(template_name: str, *, errors: dict[str, str] | None = None, status: int | None = None, **context: Any) -> Template:
    """Renders a form page; with errors it answers 400 so scripts and tests can tell, and browsers show it."""
    return Template(
        template_name=template_name,
        context={"errors": FormErrors(errors), **context},
        status_code=status or (HTTP_400_BAD_REQUEST if errors else 200),
    )


def flash_wall_time_warnings(request: Request, values: Mapping[str, Any], zone: str) -> None:
    """After saving: say so when a local time typed in the form was skipped or repeated by a daylight-saving
    change in the zone (core.timefmt.wall_time_warning); a warning, never a reason not to save."""
    for message in wall_time_warnings(dict(values), zone):
        flash(request, message, "warning")
