from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt
from markupsafe import Markup

# Raw HTML is off and markdown-it refuses javascript:/data: links, so user Markdown can't inject script.
_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


# The same descriptions and bios are shown again and again; the HTML depends on the text alone.
@lru_cache(maxsize=512)
def _render(text: str) -> Markup:
    return Markup(_renderer.render(text))


def render_markdown(text: str | None) -> Markup:
    return _render(text or "")
