"""Materials of talks and events: slides and documents (uploaded, or a link) and recordings (links).

Added by the event's managers, or by a speaker through their invitation's private link (for their own talk).
An upload is judged by its content, never its name or declared type: PDF, or the Office Open XML and
OpenDocument formats (zip archives whose members say what they are); anything else is refused. The stored
file gets a name we generate, and is served with the type we found, as an attachment for anything but PDF.
The public page of an event shows its materials once it is published; the frab exports carry them.
"""

from __future__ import annotations

import datetime as dt
import io
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from events_app.core.i18n import gettext as _
from events_app.core.validation import Errors, clean_text, clean_url, parse_id
from events_app.events.models import Event
from events_app.schedule.models import Material, MaterialKind, Talk
from events_app.schedule.services import bump_programme
from events_app.settings import Settings
from events_app.web.urls import absolute_url, url_path

MAX_MATERIAL_BYTES = 50 * 1024 * 1024
FOLDER = "materials"

# What an upload may be, by what its content shows: (content type, file extension).
PDF = ("application/pdf", "pdf")
ZIP_FORMATS = {
    "ppt/": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
    "word/": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "xl/": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}
OPENDOCUMENT = {
    "application/vnd.oasis.opendocument.presentation": "odp",
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
}


def kind_labels() -> dict[str, str]:
    return {
        MaterialKind.SLIDES.value: _("Slides"),
        MaterialKind.DOCUMENT.value: _("Document"),
        MaterialKind.RECORDING.value: _("Recording"),
        MaterialKind.LINK.value: _("Link"),
    }


def detect_type(data: bytes) -> tuple[str, str] | None:
    """(content type, extension) of an acceptable document, or None."""
    if data.startswith(b"%PDF-"):
        return PDF
    if not data.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                mimetype = archive.read("mimetype").decode("ascii", "replace").strip()
                if mimetype in OPENDOCUMENT:
                    return mimetype, OPENDOCUMENT[mimetype]
                return None
            if "[Content_Types].xml" in names:
                for prefix, found in ZIP_FORMATS.items():
                    if any(name.startswith(prefix) for name in names):
                        return found
    except (zipfile.BadZipFile, OSError, ValueError, KeyError):
        return None
    return None


@dataclass(frozen=True)
class MaterialView:
    material: Material
    talk_title: str

    @property
    def href(self) -> str:
        m = self.material
        return m.url or url_path("material_file", material_id=m.id, name=Path(m.file_path).name)


def _clean(errors: Errors, data: dict[str, Any], talk_ids: set[int], *, talk_required: bool) -> dict[str, Any]:
    kind = str(data.get("kind") or MaterialKind.SLIDES.value)
    if kind not in kind_labels():
        errors.add("kind", _("Choose what kind of material it is."))
    title = clean_text(errors, "title", data.get("title"), max_length=300, required=True, multiline=False)
    talk_id = parse_id(data.get("talk_id"))
    if data.get("talk_id") not in (None, "") and talk_id not in talk_ids:
        errors.add("talk_id", _("Choose one of the event's talks."))
    if talk_required and talk_id is None:
        errors.add("talk_id", _("Choose one of your talks."))
    return {"kind": kind, "title": title, "talk_id": talk_id}


async def add_material(session: AsyncSession, settings: Settings, event: Event, data: dict[str, Any], *,
                       upload: bytes | None, added_by: str, talk_ids: set[int] | None = None) -> Material:
    """A link (``data["url"]``) or an uploaded file; ``talk_ids`` limits the talks (a speaker's own)."""
    errors = Errors()
    allowed = talk_ids if talk_ids is not None else set(await session.scalars(
        select(Talk.id).where(Talk.event_id == event.id)))
    cleaned = _clean(errors, data, allowed, talk_required=talk_ids is not None)
    url = clean_url(errors, "url", data.get("url"))
    found = None
    if upload and url:
        errors.add("url", _("Give a link or a file, not both."))
    elif upload:
        if len(upload) > MAX_MATERIAL_BYTES:
            errors.add("file", _("A file may be at most 50 MB."))
        else:
            found = detect_type(upload)
            if found is None:
                errors.add("file", _("Upload PDF, PowerPoint, Word, Excel or OpenDocument files only."))
    elif not url:
        errors.add("url", _("Give a link or choose a file."))
    if cleaned["kind"] == MaterialKind.RECORDING.value and upload:
        errors.add("file", _("Recordings are added as links (to the video platform), not uploaded."))
    errors.raise_if_any()
    material = Material(event_id=event.id, added_by=added_by, url=url, **cleaned)
    if found is not None and upload is not None:
        content_type, extension = found
        folder = settings.media_dir / FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{event.id}-{secrets.token_hex(8)}.{extension}"
        (folder / name).write_bytes(upload)
        material.file_path, material.content_type, material.size = f"{FOLDER}/{name}", content_type, len(upload)
    session.add(material)
    await session.flush()
    await _changed(session, event, material.talk_id)
    return material


async def delete_material(session: AsyncSession, settings: Settings, event: Event, material_id: int) -> None:
    material = await material_of_event(session, event, material_id)
    if material is None:
        return
    path = file_of(settings, material)
    talk_id = material.talk_id
    await session.delete(material)
    await session.flush()
    await _changed(session, event, talk_id)
    if path is not None:
        path.unlink(missing_ok=True)


async def _changed(session: AsyncSession, event: Event, talk_id: int | None) -> None:
    # The programme's exports carry materials: the talk's new version and the programme's revision make every
    # cached rendering and ETag move on.
    if talk_id is not None:
        await session.execute(update(Talk).where(Talk.id == talk_id).values(updated_at=dt.datetime.now(dt.UTC)))
    await bump_programme(session, event.id)


async def material_of_event(session: AsyncSession, event: Event, material_id: int) -> Material | None:
    return await session.scalar(select(Material).where(Material.id == material_id, Material.event_id == event.id))


async def materials_of_event(session: AsyncSession, event_id: int) -> list[MaterialView]:
    rows = list((await session.execute(
        select(Material, Talk.title, Talk.starts_at).outerjoin(Talk, Talk.id == Material.talk_id)
        .where(Material.event_id == event_id)
    )).all())
    # The event's own materials first, then by talk in programme order.
    rows.sort(key=lambda r: (r[1] is not None, r[2] or dt.datetime.min.replace(tzinfo=dt.UTC), r[0].id))
    return [MaterialView(material, title or "") for material, title, _start in rows]


async def materials_by_talk(session: AsyncSession, talk_ids: list[int]) -> dict[int, list[Material]]:
    found: dict[int, list[Material]] = {}
    if talk_ids:
        for material in await session.scalars(select(Material).where(Material.talk_id.in_(talk_ids))
                                              .order_by(Material.id)):
            if material.talk_id is not None:  # always: selected by talk
                found.setdefault(material.talk_id, []).append(material)
    return found


def file_of(settings: Settings, material: Material) -> Path | None:
    if not material.file_path:
        return None
    root = settings.media_dir.resolve()
    path = (root / material.file_path).resolve()
    # file_path is always a name we generated; the check keeps it that way even if a row is tampered with.
    if root not in path.parents or not path.is_file():
        return None
    return path


def public_href(settings: Settings, material: Material) -> str:
    return material.url or absolute_url("material_file", material_id=material.id, name=Path(material.file_path).name,
                                        base_url=settings.base_url)


async def event_page_context(session: AsyncSession, *, event: Any, kept_parts: frozenset[str] = frozenset(),
                             **_: Any) -> dict[str, Any]:
    """Receiver of events.signals.event_page_shown: the materials, on the public page (unless the page keeps
    them rendered: a change of materials is a write that drops it)."""
    if "event-materials" in kept_parts:
        return {}
    return {"materials": await materials_of_event(session, event.id), "material_kinds": kind_labels()}
