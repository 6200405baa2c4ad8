"""Author names taken out of a document's metadata, for double-blind review.

A PDF is written again without its document information dictionary and XMP packet (pypdf); an Office Open XML
or OpenDocument file is copied member by member with the creator, last editor, manager and company emptied, and
the author of every comment and tracked change blanked. Names written in the text itself are the author's to
leave out: metadata is what people forget is there.
"""

from __future__ import annotations

import io
import re
import zipfile

# Elements that name a person or an organisation, in docProps/core.xml, docProps/app.xml (OOXML) and meta.xml
# (OpenDocument), whatever namespace prefix the writer chose.
_NAMING_ELEMENTS = re.compile(
    rb"<((?:[\w.-]+:)?(?:creator|lastModifiedBy|initial-creator|Manager|Company))(\s[^>]*)?>.*?</\1>", re.S)
# The author attributes of comments and tracked changes (w:author, w:initials; OpenDocument's dc:creator of an
# annotation is an element, caught above).
_AUTHOR_ATTRIBUTES = re.compile(rb'\b((?:[\w.-]+:)?(?:author|initials))="[^"]*"')
# A document of the uploads' sizes (at most tens of MB) unpacks to far less than this.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
_METADATA_PARTS = ("docProps/core.xml", "docProps/app.xml", "meta.xml")


class UnreadableDocument(ValueError):
    """The file claims a format but cannot be read as one, so its metadata cannot be taken out."""


def without_author_metadata(data: bytes, extension: str) -> bytes:
    if extension == "pdf":
        return _pdf_without_metadata(data)
    return _archive_without_names(data)


def _pdf_without_metadata(data: bytes) -> bytes:
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if "/Info" not in reader.trailer and "/Metadata" not in reader.root_object and data.count(b"%%EOF") == 1:
            return data  # nothing names anyone: the author's own bytes are kept
        # Cloning writes the document once, so earlier revisions (incremental updates) with their metadata go too.
        writer = PdfWriter(clone_from=reader)
        writer.metadata = None
        writer.xmp_metadata = None
        out = io.BytesIO()
        writer.write(out)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UnreadableDocument(str(exc)) from exc
    return out.getvalue()


def _scrub_member(name: str, content: bytes) -> bytes:
    if name in _METADATA_PARTS:
        content = _NAMING_ELEMENTS.sub(lambda m: b"<" + m[1] + (m[2] or b"") + b"></" + m[1] + b">", content)
    if name.endswith(".xml"):
        content = _AUTHOR_ATTRIBUTES.sub(lambda m: m[1] + b'=""', content)
    return content


def _archive_without_names(data: bytes) -> bytes:
    out = io.BytesIO()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
            # Every member is read into memory: a small upload that unpacks to gigabytes (a zip bomb) is refused
            # by the sizes its directory declares, before anything is read (zipfile stops at the declared size).
            if sum(member.file_size for member in source.infolist()) > MAX_UNPACKED_BYTES:
                raise UnreadableDocument(f"the archive unpacks to more than {MAX_UNPACKED_BYTES} bytes")
            for member in source.infolist():
                content = _scrub_member(member.filename, source.read(member))
                # OpenDocument needs its `mimetype` member first and stored uncompressed; keep each member's own
                # compression, as the original writer chose it.
                target.writestr(member, content, compress_type=member.compress_type)
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError) as exc:
        raise UnreadableDocument(str(exc)) from exc
    return out.getvalue()
