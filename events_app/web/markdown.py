from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

# Raw HTML is off and markdown-it refuses javascript:/data: links, so user Markdown can't inject script.
_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def render_markdown(text: str | None) -> Markup:
    return Markup(_renderer.render(text or ""))
