"""Double-blind review and uploaded files: what reviewers download must not name the authors in its metadata
(a PDF's document information and XMP, an Office or OpenDocument file's creator, editor and comment authors)."""

from __future__ import annotations

import io
import zipfile

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from events_app.calls import services
from events_app.calls.models import SubmissionFile
from events_app.core.validation import ValidationFailed
from tests.calls_helpers import PDF, make_call, make_pdf, submit

FILE_FIELD = [{"label": "Paper", "kind": "file", "required": False, "types": ["pdf", "docx", "odt"], "max_mb": 5}]
AUTHOR = "Zhang Wei 张伟"


def docx(author: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", f'<w:document xmlns:w="w"><w:body><w:ins w:author="{author}" w:id="1">'
                                              "<w:r><w:t>Catalysts at scale</w:t></w:r></w:ins></w:body></w:document>"
                         )
        archive.writestr("word/comments.xml", f'<w:comments xmlns:w="w"><w:comment w:author="{author}" w:initials="ZW">'
                                              "<w:p>Check this</w:p></w:comment></w:comments>")
        archive.writestr("docProps/core.xml", '<cp:coreProperties xmlns:cp="cp" xmlns:dc="dc"><dc:title>Catalysts'
                                              f"</dc:title><dc:creator>{author}</dc:creator><cp:lastModifiedBy>"
                                              f"{author}</cp:lastModifiedBy></cp:coreProperties>")
        archive.writestr("docProps/app.xml", "<Properties><Company>Tsinghua University</Company></Properties>")
    return out.getvalue()


def odt(author: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text",
                         compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", "<office:document-content><text:p>Catalysts at scale</text:p>"
                                        "</office:document-content>")
        archive.writestr("meta.xml", f'<office:meta><meta:initial-creator>{author}</meta:initial-creator>'
                                     f'<dc:creator>{author}</dc:creator></office:meta>')
    return out.getvalue()


async def stored_bytes(db, settings) -> bytes:
    stored = (await db.scalars(select(SubmissionFile))).one()
    return services.stored_file(settings, stored).read_bytes()


async def test_a_double_blind_calls_pdf_loses_the_authors_metadata_and_keeps_its_pages(db, organiser, settings):
    call = await make_call(db, organiser, fields=FILE_FIELD, blind_authors=True)
    signed = make_pdf(Author=AUTHOR, Creator="Zhang Wei's Word", Title="Catalysts at scale")
    assert AUTHOR.split()[0].encode() in signed
    await submit(db, settings, call, uploads={"paper": signed})
    kept = await stored_bytes(db, settings)
    assert b"Zhang" not in kept and "张伟".encode("utf-16-be") not in kept
    reader = PdfReader(io.BytesIO(kept))
    assert len(reader.pages) == 1 and not reader.metadata and reader.xmp_metadata is None


@pytest.mark.parametrize("build, extension", [(docx, "docx"), (odt, "odt")])
async def test_a_double_blind_calls_office_file_loses_creator_editor_and_comment_authors(db, organiser, settings,
                                                                                         build, extension):
    call = await make_call(db, organiser, fields=FILE_FIELD, blind_authors=True)
    await submit(db, settings, call, uploads={"paper": build(AUTHOR)})
    kept = await stored_bytes(db, settings)
    with zipfile.ZipFile(io.BytesIO(kept)) as archive:
        everything = b"".join(archive.read(name) for name in archive.namelist())
        names = archive.namelist()
        first = archive.infolist()[0]
    assert AUTHOR.encode() not in everything and b"Tsinghua" not in everything and b'w:initials="ZW"' not in everything
    assert b"Catalysts at scale" in everything  # the text itself is the author's, and kept
    if extension == "odt":  # OpenDocument readers need the mimetype first and uncompressed
        assert names[0] == "mimetype" and first.compress_type == zipfile.ZIP_STORED


async def test_an_open_review_call_keeps_the_file_as_sent_and_a_clean_pdf_is_not_rewritten(db, organiser, settings):
    open_call = await make_call(db, organiser, fields=FILE_FIELD)
    signed = make_pdf(Author=AUTHOR)
    await submit(db, settings, open_call, uploads={"paper": signed})
    assert await stored_bytes(db, settings) == signed
    blind = await make_call(db, organiser, fields=FILE_FIELD, blind_authors=True, title="Second call")
    await submit(db, settings, blind, email="li.na@example.cn", uploads={"paper": PDF})
    rows = list(await db.scalars(select(SubmissionFile).order_by(SubmissionFile.id)))
    assert services.stored_file(settings, rows[1]).read_bytes() == PDF


async def test_a_pdf_that_cannot_be_read_is_refused_on_a_double_blind_call_naming_the_field(db, organiser, settings):
    call = await make_call(db, organiser, fields=FILE_FIELD, blind_authors=True)
    with pytest.raises(ValidationFailed) as refused:
        await submit(db, settings, call, uploads={"paper": b"%PDF-1.7\n garbage with no cross-reference"})
    assert set(refused.value.errors) == {"files.paper"}
    assert (await db.scalars(select(SubmissionFile))).first() is None


def test_an_archive_that_unpacks_to_more_than_the_bound_is_refused_before_it_is_read(monkeypatch):
    from events_app.core import file_metadata

    monkeypatch.setattr(file_metadata, "MAX_UNPACKED_BYTES", 1024 * 1024)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"0" * (2 * 1024 * 1024))  # 2 MB of zeros pack into a few KB
    assert len(out.getvalue()) < 20_000
    with pytest.raises(file_metadata.UnreadableDocument):
        file_metadata.without_author_metadata(out.getvalue(), "docx")
    assert file_metadata.without_author_metadata(docx(AUTHOR), "docx")  # a normal document still passes
