"""Builders shared by the calls tests (through the services, as the app does)."""

from __future__ import annotations

import datetime as dt
import io

from pypdf import PdfWriter

from events_app.calls import services
from events_app.calls.models import Call
from tests.conftest import make_event


def make_pdf(**metadata: str) -> bytes:
    """A real one-page PDF (pypdf), with document information such as Author="..." when given, else none."""
    writer = PdfWriter()
    writer.add_blank_page(72, 72)
    writer.metadata = {f"/{key}": value for key, value in metadata.items()} or None
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# What the upload check looks for is the content, not the name.
PDF = make_pdf()


def local(moment: dt.datetime) -> str:
    """An instant as the form's wall time would carry it (with its offset: unambiguous in any zone)."""
    return moment.astimezone(dt.UTC).isoformat()


async def make_call(db, organiser, *, kind: str = "abstracts", event=None, opens_in: dt.timedelta = -dt.timedelta(days=1),
                    closes_in: dt.timedelta = dt.timedelta(days=10), **overrides) -> Call:
    event = event or await make_event(db, organiser, title="Symposium on Catalysis", kind="conference",
                                      starts_at="2030-03-04T08:00", ends_at="2030-03-06T18:00")
    now = dt.datetime.now(dt.UTC)
    data = {"kind": kind, "title": "Call for abstracts" if kind == "abstracts" else "Exchange programme",
            "opens_at": local(now + opens_in), "closes_at": local(now + closes_in),
            "tracks": ["Catalysis", "Materials"], "co_authors_allowed": True,
            "criteria": [{"label": "Relevance", "min": 1, "max": 5}, {"label": "Quality", "min": 1, "max": 5}],
            **overrides}
    call = await services.create_call(db, event, data)
    await db.commit()
    return call


async def submit(db, settings, call, name: str = "Wang Fang", email: str = "wang.fang@example.cn", **fields):
    from events_app.events.models import Event

    event = await db.get(Event, call.event_id)
    data = {"name": name, "email": email, "affiliation": "Peking University", "title": "Catalysts at scale",
            "abstract": "We scale catalysts.", "track": "Catalysis", **fields}
    submission, token = await services.submit(db, settings, call, event, data, fields.pop("uploads", None))
    await db.commit()
    return submission, token
