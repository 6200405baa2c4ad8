"""PDF documents (issue 15): one letter cold and warm, 500 certificates, 1,000 badges, peak memory.

    python bench/documents.py                     # or: make bench-documents
    python bench/documents.py --certificates 500 --badges 1000

Runs the services' own code paths without a database (the PDFs are built from loaded rows; the queries around
them are the same as any page's): ``DocumentService.letter_data`` / ``certificate_data`` and the renderer for
letters and certificates, ``DocumentService.badges_pdf`` (QR codes, font check, Typst) for badges. Names mix
Chinese, Japanese, Arabic and accented Latin, so shaping and font fallback are part of every figure.

"Cold" is the first letter in a fresh process: loading Typst, scanning the font folders and reading the fonts'
character maps for the missing-script check. Targets (issue #15): a letter < 300 ms warm, 1,000 badges < 20 s on
2 cores, memory < 500 MB (peak RSS of this process).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import resource
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from events_app.documents.models import DocumentKind, DocumentSettings, IssuedDocument, LetterRequest  # noqa: E402
from events_app.documents.rendering import renderer  # noqa: E402
from events_app.documents.services import DocumentService, _texts, new_reference  # noqa: E402
from events_app.events.models import Event  # noqa: E402
from events_app.routes import build_route_table  # noqa: E402
from events_app.settings import Settings  # noqa: E402
from events_app.web.urls import use_routes  # noqa: E402

NAMES = ["王小明", "山田 太郎", "محمد العربي", "Zoë Ångström", "Ana Souza", "李娜", "فاطمة الزهراء", "Jürgen Müller"]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fixtures() -> tuple[Any, Any, Any]:
    event = SimpleNamespace(title="Symposium on Catalysis", timezone="Asia/Shanghai", organiser="Institute",
                            starts_at=dt.datetime(2030, 3, 4, 0, 0, tzinfo=dt.UTC),
                            ends_at=dt.datetime(2030, 3, 6, 10, 0, tzinfo=dt.UTC),
                            venue_name="Main Building", venue_address="1 Zhongguancun Road, Beijing")
    template = SimpleNamespace(letterhead=None, signatory_name="Prof. Li Wei", signatory_title="Director",
                               letter_body_en="", letter_body_zh="", certificate_body_en="", certificate_body_zh="")
    request = SimpleNamespace(passport_name="محمد العربي", nationality="EG", passport_number="E98765432",
                              birth_date="1985-04-12", stay_from=dt.date(2030, 3, 3), stay_until=dt.date(2030, 3, 8),
                              purpose="Invited talk", language="en")
    return event, template, request


def document(kind: DocumentKind, name: str, language: str = "en") -> Any:
    return SimpleNamespace(reference=new_reference(), kind=kind, holder_name=name, language=language,
                           issued_at=dt.datetime(2030, 3, 7, 2, 0, tzinfo=dt.UTC), detail="Catalysis in deserts")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--certificates", type=int, default=500)
    parser.add_argument("--badges", type=int, default=1000)
    parser.add_argument("--warm", type=int, default=20, help="letters timed after the first")
    args = parser.parse_args()

    settings = Settings(base_url="https://events.example.org")
    use_routes(build_route_table(settings))  # the verification links, as the worker builds them
    service = DocumentService(cast(Any, None), settings)
    event, template, request = fixtures()
    engine_for = renderer(settings.font_dirs)

    def letter() -> bytes:
        data = service.letter_data(cast(Event, event), cast(DocumentSettings, template),
                                   cast(IssuedDocument, document(DocumentKind.LETTER, request.passport_name)),
                                   cast(LetterRequest, request))
        return engine_for.render("letter", data, check=_texts(data))

    started = time.perf_counter()
    first = letter()
    cold = time.perf_counter() - started
    warm = []
    for _ in range(args.warm):
        started = time.perf_counter()
        letter()
        warm.append(time.perf_counter() - started)
    print(f"letter: cold {cold * 1000:.0f} ms, warm median {statistics.median(warm) * 1000:.1f} ms "
          f"(min {min(warm) * 1000:.1f}, max {max(warm) * 1000:.1f}; {len(first) // 1024} KB)")

    started = time.perf_counter()
    size = 0
    for i in range(args.certificates):
        doc = document(DocumentKind.CERTIFICATE, NAMES[i % len(NAMES)], "zh" if i % 3 == 0 else "en")
        data = service.certificate_data(cast(Event, event), cast(DocumentSettings, template), cast(IssuedDocument, doc))
        size += len(engine_for.render("letter", data, check=_texts(data)))
    took = time.perf_counter() - started
    print(f"{args.certificates} certificates (one PDF each, one after another): {took:.2f} s "
          f"({took / args.certificates * 1000:.1f} ms each, {size // 1024} KB in all)")

    people = [{"name": f"{NAMES[i % len(NAMES)]}", "affiliation": "Institute of Chemistry", "role": "Attendee",
               "code": f"K{i:07d}"} for i in range(args.badges)]
    started = time.perf_counter()
    pdf = asyncio.run(service.badges_pdf(cast(Event, event), people))
    took = time.perf_counter() - started
    import pypdf

    pages = len(pypdf.PdfReader(io.BytesIO(pdf)).pages)
    print(f"{args.badges} badges: {took:.2f} s, {pages} pages, {len(pdf) // 1024} KB")
    print(f"peak memory (RSS): {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
