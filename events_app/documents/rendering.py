"""PDF rendering with Typst (the ``typst`` package: the Typst compiler in one wheel, no system library).

Why Typst (measured on this machine, docs/benchmarks.md): a letter in ~25 ms warm and 1,000 badges in well
under a second, against ~160 ms and ~4 s with WeasyPrint; it shapes Arabic (right to left) and CJK with
HarfBuzz-compatible shaping (rustybuzz) from the fonts we give it, and installs from PyPI alone. fpdf2 would
need uharfbuzz and hand-made layout.

Nothing a person typed is ever Typst markup: the templates (templates/documents/*.typ) read every value from
``sys.inputs`` as JSON strings, so a name like ``#panic()`` or ``*bold*`` is printed as written.

Before rendering, every character is checked against the fonts' character maps: a name in a script that no
installed font covers fails with a message naming the script and the Debian package to install, instead of a
PDF with blank boxes.
"""

from __future__ import annotations

import json
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import segno
import typst

from events_app.settings import PROJECT_ROOT

TEMPLATES = PROJECT_ROOT / "templates" / "documents"

# (family, file, Debian package). The first three are required; the others join when installed.
FONTS: tuple[tuple[str, str, str], ...] = (
    ("Noto Sans", "NotoSans-Regular.ttf", "fonts-noto-core"),
    ("Noto Sans CJK SC", "NotoSansCJK-Regular.ttc", "fonts-noto-cjk"),
    ("Noto Naskh Arabic", "NotoNaskhArabic-Regular.ttf", "fonts-noto-core"),
    ("Noto Sans Hebrew", "NotoSansHebrew-Regular.ttf", "fonts-noto-core"),
    ("Noto Sans Devanagari", "NotoSansDevanagari-Regular.ttf", "fonts-noto-core"),
    ("Noto Sans Thai", "NotoSansThai-Regular.ttf", "fonts-noto-core"),
)
# Which package brings the fonts of a script (the first word of the character's Unicode name).
SCRIPT_PACKAGES = {"CJK": "fonts-noto-cjk", "HIRAGANA": "fonts-noto-cjk", "KATAKANA": "fonts-noto-cjk",
                   "HANGUL": "fonts-noto-cjk", "IDEOGRAPHIC": "fonts-noto-cjk", "FULLWIDTH": "fonts-noto-cjk"}


class MissingFontError(RuntimeError):
    """Some text is in a script no installed font covers; the message says what to install."""


def _find(font_dirs: Sequence[str], filename: str) -> Path | None:
    for directory in font_dirs:
        for path in Path(directory).rglob(filename):
            return path
    return None


@cache
def _cmap(path: Path) -> frozenset[int]:
    from fontTools.ttLib import TTCollection, TTFont  # type: ignore[import-untyped]

    font = TTCollection(str(path), lazy=True).fonts[0] if path.suffix == ".ttc" else TTFont(str(path), lazy=True)
    return frozenset(font.getBestCmap() or {})


class FontSet:
    """The fonts found in ``font_dirs``: their families for Typst and the characters they cover."""

    def __init__(self, font_dirs: Sequence[str]) -> None:
        self.font_dirs = tuple(font_dirs)
        self.families: list[str] = []
        self.paths: list[Path] = []
        for family, filename, _package in FONTS:
            path = _find(self.font_dirs, filename)
            if path is not None:
                self.families.append(family)
                self.paths.append(path)
        self._covered: frozenset[int] | None = None

    @property
    def covered(self) -> frozenset[int]:
        if self._covered is None:
            self._covered = frozenset().union(*(_cmap(path) for path in self.paths))
        return self._covered

    def check(self, texts: Iterable[str]) -> None:
        covered = self.covered
        for text in texts:
            for char in text:
                if ord(char) in covered or char.isspace() or unicodedata.category(char)[0] in "CZ":
                    continue
                script = unicodedata.name(char, "UNKNOWN").split()[0]
                package = SCRIPT_PACKAGES.get(script, "fonts-noto-core")
                raise MissingFontError(
                    f"No installed font has the {script.title()} character {char!r} (in {text!r}): install the "
                    f"Debian package {package} (fonts-noto-core and fonts-noto-cjk cover the scripts of our "
                    f"documents), or add a font folder to EVENTS_FONT_DIRS (now {':'.join(self.font_dirs)})."
                )


class DocumentRenderer:
    """One Typst compiler per process, kept warm (fonts loaded once); compilation is serialised by a lock."""

    def __init__(self, font_dirs: Sequence[str]) -> None:
        self.fonts = FontSet(font_dirs)
        self._compiler = typst.Compiler(font_paths=sorted({str(p.parent) for p in self.fonts.paths}),
                                        ignore_system_fonts=True)
        self._lock = threading.Lock()

    def render(self, template: str, data: Mapping[str, Any], *, check: Iterable[str]) -> bytes:
        self.fonts.check(check)
        source = (TEMPLATES / f"{template}.typ").read_bytes()
        families = self.fonts.families
        if data.get("lang") == "zh":  # Chinese punctuation and digits from the CJK font, as a Chinese reader expects
            families = sorted(families, key=lambda family: "CJK" not in family)
        payload = {**data, "fonts": families}
        with self._lock:
            pdf = self._compiler.compile(input=source, sys_inputs={"data": json.dumps(payload)}, pdf_tags=False)
        assert isinstance(pdf, bytes)  # one PDF, as no output path was given
        return pdf


_RENDERERS: dict[tuple[str, ...], DocumentRenderer] = {}


def renderer(font_dirs: Sequence[str]) -> DocumentRenderer:
    key = tuple(font_dirs)
    if key not in _RENDERERS:
        _RENDERERS[key] = DocumentRenderer(key)
    return _RENDERERS[key]


def qr_svg(text: str) -> str:
    # A fixed mask skips segno's penalty search; any reader decodes any mask.
    return segno.make(text, error="m", micro=False, mask=0).svg_inline(scale=4, border=0)


def fill_placeholders(body: str, values: Mapping[str, str]) -> str:
    """``{name}`` -> the value; unknown or malformed braces stay as written (an organiser's typo is visible)."""
    out, i = [], 0
    while i < len(body):
        start = body.find("{", i)
        if start < 0:
            out.append(body[i:])
            break
        end = body.find("}", start)
        key = body[start + 1:end] if end > start else ""
        if end > start and key in values:
            out.append(body[i:start])
            out.append(values[key])
            i = end + 1
        else:
            out.append(body[i:start + 1])
            i = start + 1
    return "".join(out)
