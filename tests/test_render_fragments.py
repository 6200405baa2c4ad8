"""Fragments of pages built once and reused (the country list of the registration form)."""

from __future__ import annotations

from events_app.core.i18n import current_locale
from events_app.web.templating import country_options


def test_country_options_mark_the_chosen_country_and_only_it():
    html = str(country_options("FR"))
    assert '<option value="FR" selected>' in html
    assert html.count(" selected") == 1
    assert '<option value="DE">' in html


def test_country_options_follow_the_interface_language():
    token = current_locale.set("zh")
    try:
        assert '<option value="CN">中国</option>' in str(country_options())
    finally:
        current_locale.reset(token)
    assert '<option value="CN">China</option>' in str(country_options())


def test_country_options_never_mark_or_echo_unknown_input():
    html = str(country_options('"><script>alert(1)</script>'))
    assert "<script>" not in html and " selected" not in html
    assert " selected" not in str(country_options(["FR"]))  # a repeated form field arrives as a list
