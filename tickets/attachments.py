"""Attachments: checking uploads and handing them out audited (storing: services.attachment_add).

The content type is sniffed from the bytes, never taken from the browser or the filename,
and must be on ATTACHMENT_ALLOWED_TYPES; markup (HTML, SVG, XML) is refused whatever the
setting says. The filename is kept as encrypted data only, reduced to a printable base name
whose extension matches the sniffed type (``run.bat`` holding text becomes ``run.bat.txt``).
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from audit.events import record_event
from tickets.models import Attachment, format_reference
from ticketsystem.crypto import is_undecryptable

MAX_FILENAME = 200
# Never served, whatever ATTACHMENT_ALLOWED_TYPES says: a browser may run them.
FORBIDDEN_TYPES = frozenset(
    {"text/html", "image/svg+xml", "application/xml", "application/xhtml+xml"}
)

_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
_ODT = "application/vnd.oasis.opendocument.text"
_ODS = "application/vnd.oasis.opendocument.spreadsheet"
_MACRO = "application/vnd.ms-office.macroenabled"

# Content type -> (label, extensions; the first is added when the name has none of them).
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "application/pdf": ("PDF", (".pdf",)),
    "image/png": ("PNG image", (".png",)),
    "image/jpeg": ("JPEG image", (".jpg", ".jpeg", ".jpe")),
    "image/gif": ("GIF image", (".gif",)),
    "image/webp": ("WebP image", (".webp",)),
    "text/plain": (
        "plain text",
        (".txt", ".log", ".csv", ".tsv", ".md", ".json", ".yaml", ".yml", ".ini", ".conf", ".eml"),
    ),
    _DOCX: ("Word document", (".docx",)),
    _XLSX: ("Excel workbook", (".xlsx",)),
    _PPTX: ("PowerPoint presentation", (".pptx",)),
    _ODT: ("OpenDocument text", (".odt",)),
    _ODS: ("OpenDocument spreadsheet", (".ods",)),
    "application/zip": ("ZIP archive", (".zip",)),
    "text/html": ("HTML", (".html",)),
    "image/svg+xml": ("SVG image", (".svg",)),
    "application/xml": ("XML", (".xml",)),
    _MACRO: ("Office document with macros", (".docm",)),
    "application/octet-stream": ("unrecognised binary data", (".bin",)),
}

_MARKUP_RE = re.compile(
    rb"<\s*(?:!doctype|html|head|body|script|iframe|svg|object|embed|frameset|meta|style|"
    rb"link|img|a\s|div|table|form|\?xml)",
    re.IGNORECASE,
)


def sniff(data: bytes) -> str:
    """The content type the bytes themselves declare (magic numbers, zip layout, text)."""
    head = data[:16]
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(data)
    return _sniff_text(data)


def _sniff_zip(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                with archive.open("mimetype") as member:
                    declared = member.read(100).decode("ascii", "replace").strip()
                if declared in (_ODT, _ODS):
                    return declared
            if any(name.endswith("vbaProject.bin") for name in names):
                return _MACRO
            if "[Content_Types].xml" in names:
                if "word/document.xml" in names:
                    return _DOCX
                if "xl/workbook.xml" in names:
                    return _XLSX
                if "ppt/presentation.xml" in names:
                    return _PPTX
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, NotImplementedError):
        return "application/octet-stream"
    return "application/zip"


def _sniff_text(data: bytes) -> str:
    sample = data[:8192]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # not just a character cut at the sample's end
            return "application/octet-stream"
        text = sample[: exc.start].decode("utf-8")
    if any(ord(ch) < 32 and ch not in "\t\n\r\f" for ch in text):
        return "application/octet-stream"
    stripped = text.lstrip("\ufeff \t\r\n\f")
    lowered = stripped[:2048].lower()
    if "<svg" in lowered:
        return "image/svg+xml"
    if stripped.startswith("<?xml"):
        return "application/xml"
    # Markup near the start is how browsers recognise HTML; later it is just text.
    if stripped.startswith("<") or _MARKUP_RE.search(sample[:512]):
        return "text/html"
    return "text/plain"


def allowed_types() -> list[str]:
    return [t for t in settings.ATTACHMENT_ALLOWED_TYPES if t not in FORBIDDEN_TYPES]


def describe(content_type: str) -> str:
    return KINDS.get(content_type, (content_type, ()))[0]


def clean_filename(name: str, content_type: str) -> str:
    """A printable base name (no directories, no control or bidi characters) whose
    extension fits the sniffed content type."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"*:<>?|')
    name = name.strip(" .") or "attachment"
    extensions = KINDS.get(content_type, ("", (".bin",)))[1]
    if not name.lower().endswith(extensions):
        name = f"{name}{extensions[0]}"
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        keep = MAX_FILENAME - len(ext) - 1
        name = f"{stem[:keep]}.{ext}" if dot and keep > 0 else name[:MAX_FILENAME]
    return name


def human_size(size: int) -> str:
    """ "25.0 MB", in the reader's language ("25,0 MB")."""
    return str(filesizeformat(size)).replace("\xa0", " ")


@dataclass(frozen=True)
class CheckedUpload:
    data: bytes
    content_type: str
    filename: str


def check_upload(upload: Any) -> CheckedUpload:
    """Read and check an uploaded file; ValidationError({"file": ...}) says what is wrong."""
    limit = settings.ATTACHMENT_MAX_BYTES
    size = getattr(upload, "size", None) or 0
    if getattr(upload, "over_limit", False) or size > limit:
        raise ValidationError(
            {
                "file": _("The file is %(size)s; the limit is %(limit)s.")
                % {"size": human_size(size), "limit": human_size(limit)}
            }
        )
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ValidationError(
            {"file": _("The file is larger than %(limit)s.") % {"limit": human_size(limit)}}
        )
    if not data:
        raise ValidationError({"file": _("The file is empty.")})
    content_type = sniff(data)
    allowed = allowed_types()
    if content_type not in allowed:
        labels = ", ".join(sorted({describe(t) for t in allowed}))
        raise ValidationError(
            {
                "file": _("Files of this type (%(type)s) cannot be attached. Allowed: %(allowed)s.")
                % {"type": describe(content_type), "allowed": labels}
            }
        )
    return CheckedUpload(
        data, content_type, clean_filename(getattr(upload, "name", ""), content_type)
    )


class AttachmentUnavailable(Exception):
    """The stored content cannot be decrypted (the decrypt_failed event is recorded)."""


def attachment_read(*, actor: Any, attachment: Attachment, request: Any = None) -> bytes:
    """The decrypted content, with an ``attachment_downloaded`` security event."""
    content = attachment.content
    if is_undecryptable(content):
        raise AttachmentUnavailable(str(getattr(content, "reason", "")))
    record_event(
        "attachment_downloaded",
        actor=actor,
        request=request,
        resource=f"attachment:{attachment.uid}",
        details={"ticket": format_reference(attachment.ticket_id), "size": attachment.size},
    )
    return bytes(content)
