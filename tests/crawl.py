"""A small same-site crawler over the in-process app, shared by the link test and the form-garbage test."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

LINK = re.compile(r'\b(href|src|action)="([^"]*)"')
HOST = "testserver.local"


def site_links(page: str, base: str) -> list[tuple[str, str]]:
    found = []
    for attribute, value in LINK.findall(page):
        url = urljoin(base, value.replace("&amp;", "&"))
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc == HOST:
            found.append((attribute, parts.path + (f"?{parts.query}" if parts.query else "")))
    return found


async def crawl(client, start: list[str], *, limit: int = 400) -> tuple[dict[str, str], set[str]]:
    """GETs every same-site href/src reachable from `start`: (HTML of each page seen, form actions seen).
    Every page must answer 200."""
    queue, seen, actions = deque(start), set(start), set()
    pages: dict[str, str] = {}
    while queue and len(seen) <= limit:
        path = queue.popleft()
        response = await client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        pages[path] = response.text
        for attribute, link in site_links(response.text, f"http://{HOST}{path}"):
            if attribute == "action":
                actions.add(link)
            # ?lang= only switches the language of a page already crawled
            elif link not in seen and not link.startswith("/schema") and "lang=" not in link:
                seen.add(link)
                queue.append(link)
    return pages, actions


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # (name, input type, value)


class _FormParser(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__()
        self.base, self.forms, self._form, self._select, self._textarea = base, [], None, None, None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = Form(urlsplit(urljoin(self.base, a.get("action") or self.base)).path
                              + (f"?{urlsplit(a['action']).query}" if urlsplit(a.get("action", "")).query else ""),
                              (a.get("method") or "get").lower())
            self.forms.append(self._form)
        elif self._form is None or not a.get("name"):
            return
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind not in ("submit", "button", "image", "reset") and (kind not in ("checkbox", "radio")
                                                                      or "checked" in a):
                self._form.fields.append((a["name"], kind, a.get("value", "")))
        elif tag == "select":
            self._select = a["name"]
            self._form.fields.append((a["name"], "select", ""))
        elif tag == "textarea":
            self._textarea = a["name"]
            self._form.fields.append((a["name"], "textarea", ""))
        if tag == "option" and self._select is not None and self._form.fields[-1][2] == "":
            self._form.fields[-1] = (self._select, "select", a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms_of(page: str, path: str) -> list[Form]:
    parser = _FormParser(f"http://{HOST}{path}")
    parser.feed(page)
    return parser.forms
