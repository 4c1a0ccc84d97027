"""Content types come from the bytes; filenames are data, reduced to a safe base name."""

from __future__ import annotations

import io
import zipfile

import pytest

from tests.helpers import PDF, PNG
from tickets.attachments import clean_filename, sniff


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"Hello,\nplain text\twith tabs\n", "text/plain"),
        ("Grüße, 你好\n".encode(), "text/plain"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "text/html"),
        (b"  \n<html><script>alert(1)</script>", "text/html"),
        (b"\xef\xbb\xbf<p>bom first</p>", "text/html"),
        (b"Dear team,\n<script>alert(1)</script>", "text/html"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/svg+xml"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"),
        (b'<?xml version="1.0"?><note/>', "application/xml"),
        (b"MZ\x90\x00\x03\x00\x00\x00", "application/octet-stream"),
        (b"\x00\x01\x02binary", "application/octet-stream"),
        (b"\x7fELF\x02\x01\x01", "application/octet-stream"),
        (b"PK\x03\x04broken zip", "application/octet-stream"),
    ],
)
def test_it_sniffs_the_type_from_the_bytes(data, expected):
    assert sniff(data) == expected


def test_it_recognises_office_documents_inside_zip_files():
    docx = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"})
    xlsx = _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>"})
    docm = _zip(
        {
            "[Content_Types].xml": b"<Types/>",
            "word/document.xml": b"<w/>",
            "word/vbaProject.bin": b"x",
        }
    )
    odt = _zip({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"})
    assert sniff(docx).endswith("wordprocessingml.document")
    assert sniff(xlsx).endswith("spreadsheetml.sheet")
    assert sniff(docm) == "application/vnd.ms-office.macroenabled"
    assert sniff(odt) == "application/vnd.oasis.opendocument.text"
    assert sniff(_zip({"a.txt": b"x"})) == "application/zip"


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("../../etc/passwd", "text/plain", "passwd.txt"),
        ("..\\..\\windows\\win.ini", "text/plain", "win.ini"),
        ("/absolute/report.pdf", "application/pdf", "report.pdf"),
        ("invoice.pdf.exe", "application/pdf", "invoice.pdf.exe.pdf"),
        ("run.bat", "text/plain", "run.bat.txt"),
        ("photo.JPEG", "image/jpeg", "photo.JPEG"),
        ("evil\u202egnp.exe", "image/png", "evilgnp.exe.png"),
        ('a"b<c>d|e?.txt', "text/plain", "abcde.txt"),
        ("new\nline\r.txt", "text/plain", "newline.txt"),
        ("..", "text/plain", "attachment.txt"),
        ("", "application/pdf", "attachment.pdf"),
        (" .hidden ", "text/plain", "hidden.txt"),
    ],
)
def test_filenames_are_reduced_to_a_safe_base_name(name, content_type, expected):
    assert clean_filename(name, content_type) == expected


def test_long_names_keep_their_extension():
    name = clean_filename("x" * 500 + ".pdf", "application/pdf")
    assert len(name) == 200 and name.endswith(".pdf")
