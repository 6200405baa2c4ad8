"""What a person does in the browser, and what the checks look at, shared by the journeys."""

from __future__ import annotations

import re
from email.message import EmailMessage

from tests.conftest import TEST_PASSWORD, text_of

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture then skips (or fails, in CI) with the reason
    expect = None  # type: ignore[assignment]


def log_in(page, email: str, password: str = TEST_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/organiser")


# Reports what the Content-Security-Policy blocked: the DOM event (while scripts run) as a console error, next
# to Chromium's own console error (always).
CSP_REPORTER = """
document.addEventListener('securitypolicyviolation', event => {
  console.error(`CSP violation: ${event.effectiveDirective} blocked ${event.blockedURI || 'inline'}`);
});
"""
_csp_reports: dict[int, list[str]] = {}


def watch_csp_violations(context, page) -> None:
    context.add_init_script(CSP_REPORTER)
    reports = _csp_reports.setdefault(id(page), [])

    def on_console(message) -> None:
        if "Content Security Policy" in message.text or "CSP violation" in message.text:
            reports.append(f"{page.url}: {message.text}")

    page.on("console", on_console)


def csp_violations(page) -> list[str]:
    """What the policy blocked on this page so far (all navigations)."""
    return _csp_reports.get(id(page), [])


def forget_csp_violations(page) -> list[str]:
    return _csp_reports.pop(id(page), [])


def links_in(message: EmailMessage) -> list[str]:
    """The addresses in an e-mail's plain-text part, in order (manage links, confirmation links)."""
    return re.findall(r"https?://[^\s<>\"]+", text_of(message))


def axe_violations(page, axe_script: str, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """Runs axe-core on the page; returns readable lines for each violation of the given impacts."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the pages' Content-Security-Policy forbids inline <script>
        # (page.add_script_tag(content=...) would be blocked, and rightly so).
        page.evaluate(axe_script)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    lines = []
    for violation in result["violations"]:
        if violation["impact"] in impacts:
            targets = [" ".join(node["target"]) for node in violation["nodes"]][:5]
            lines.append(f"{violation['impact']}: {violation['id']} — {violation['help']} — {targets}")
    return lines


# Fields a person fills in; each must be named by a <label> (or aria-label / aria-labelledby).
UNLABELLED_FIELDS_JS = """
() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => !['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type))
  .filter(el => el.labels.length === 0 && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML.slice(0, 120))
"""


def unlabelled_fields(page) -> list[str]:
    return page.evaluate(UNLABELLED_FIELDS_JS)


def page_width(page) -> int:
    return page.evaluate("document.scrollingElement.scrollWidth")


def wider_than_viewport(page) -> list[str]:
    """Elements that stick out to the right of the viewport, to explain a horizontal scrollbar."""
    return page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
            .slice(0, 8)
            .map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' '
                       + Math.round(el.getBoundingClientRect().right) + 'px')"""
    )


_BROKEN_WORDS = """() => {
  const broken = [];
  for (const cell of document.querySelectorAll("table th, table td")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      // Latin words only: Chinese text has no spaces and wraps between any two characters, as it should.
      for (const match of node.data.matchAll(/[A-Za-z\\u00C0-\\u024F]{2,}/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (lines.size > 1) broken.push(match[0]);
      }
    }
  }
  return broken;
}"""


def words_broken_in_tables(page) -> list[str]:
    """Words in table cells split across two lines ("Decli-/ned"): columns squeezed below their longest word."""
    return page.evaluate(_BROKEN_WORDS)
