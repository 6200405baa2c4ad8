"""The Jinja2 environment: autoescaping, gettext, and filters that show instants in an event's zone."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar.contrib.jinja import JinjaTemplateEngine
from markupsafe import Markup, escape

from events_app.core import timefmt
from events_app.core.i18n import LANGUAGES, current_locale, gettext, ngettext
from events_app.core.markdown import render_markdown
from events_app.core.validation import country_names, country_with_code, language_names
from events_app.web.fragments import cached_fragment
from events_app.web.urls import absolute_url, url_path

# Globals a domain contributes (calendar's calendar_links), added by the composition root (events_app.wiring)
# before any environment is built: web/ is plumbing and imports no domain.
DOMAIN_GLOBALS: dict[str, Any] = {}


def add_template_global(name: str, value: Any) -> None:
    DOMAIN_GLOBALS[name] = value


def country_name(code: str | None) -> str:
    if not code:
        return ""
    return country_names(current_locale.get()).get(code, code)


def country_and_code(code: str | None) -> str:
    return country_with_code(code, current_locale.get())


def languages_in_words(codes: str | None) -> str:
    return language_names(codes, current_locale.get())


@lru_cache(maxsize=32)
def _country_options_html(locale: str) -> str:
    return "".join(f'<option value="{escape(code)}">{escape(name)}</option>'
                   for code, name in country_names(locale).items())


def country_options(selected: str | None = None) -> Markup:
    """Every country as escaped <option>s in the interface language, `selected` marked: built once per
    language (rendering some 250 options through a macro was most of the event page's template time)."""
    html = _country_options_html(current_locale.get())
    if selected and isinstance(selected, str):
        option = f'<option value="{escape(selected)}">'
        html = html.replace(option, option[:-1] + " selected>", 1)
    return Markup(html)


def query_string(params: dict[str, Any], **changes: Any) -> str:
    merged = {**params, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "", False)})


def build_environment(templates_dir: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=select_autoescape(["html", "xml", "txt"], default_for_string=True, default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    # newstyle gettext: translated strings are escaped like any other value, and %(name)s works.
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        when=timefmt.format_when,
        day=timefmt.format_day,
        calendar_day=timefmt.format_calendar_day,
        clock=timefmt.format_clock,
        time_range=timefmt.format_range,
        zone_abbr=timefmt.zone_abbreviation,
        local_input=timefmt.local_input_value,
        markdown=render_markdown,
        country=country_name,
        country_code=country_and_code,
        languages=languages_in_words,
    )
    env.globals.update(LANGUAGES=LANGUAGES, current_locale=current_locale.get, query_string=query_string,
                       country_names=lambda: country_names(current_locale.get()),
                       country_options=country_options, cached_fragment=cached_fragment,
                       timezones=timefmt.common_timezones)
    env.globals.update(DOMAIN_GLOBALS)
    # Links by route name (web/urls.py): {{ url_for("event", slug=event.slug) }}; e-mails, which leave the
    # site, use {{ absolute_url("event", slug=event.slug, base_url=base_url) }}.
    env.globals.update(url_for=url_path, absolute_url=absolute_url)
    return env


def template_engine(templates_dir: Path) -> JinjaTemplateEngine:
    engine = JinjaTemplateEngine.from_environment(build_environment(templates_dir))
    # Litestar registers its own `url_for` (route_reverse, needs the request, quotes nothing); ours replaces it.
    engine.engine.globals["url_for"] = url_path
    return engine
