"""Turn the raw bytes of one RFC 5322 message into a ParsedMail, whatever the bytes are.

``parse_message`` never raises: what it cannot read it records in ``problems`` (reasons to
quarantine the message: content may be lost or the mail is hostile) or ``notes`` (harmless
oddities, e.g. an unknown charset decoded with replacement characters). Addresses are
validated and lower-cased; every text is free of NUL, lone surrogates and, for one-line
values, line breaks, so it can be stored and put into headers as is.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import errors, policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from django.conf import settings

from tickets.mail import noise
from tickets.mail.headers import (
    HeaderValueError,
    clean_header_value,
    clean_message_id,
    clean_text,
    has_line_break,
    message_ids,
    validate_address,
)
from tickets.mail.html import html_to_text, sanitise_html
from tickets.mail.noise import BounceRecipient

MAX_MESSAGE_BYTES = 25 * 1024 * 1024
MAX_ATTACHMENTS = 100
MAX_DEPTH = 20  # MIME nesting
SUBJECT_MAX_LENGTH = 200  # Ticket.subject's max_length (a test keeps them equal)
NAME_MAX_LENGTH = 200
MAX_ADDRESSES = 200  # per header
INJECTION_HEADERS = ("Subject", "From", "Sender", "Reply-To", "To", "Cc", "Message-ID")
# Defects after which the parsed structure no longer holds all the content.
LOSSY_DEFECTS = (
    errors.NoBoundaryInMultipartDefect,
    errors.StartBoundaryNotFoundDefect,
    errors.MultipartInvariantViolationDefect,
    errors.InvalidMultipartContentTransferEncodingDefect,
    errors.InvalidBase64LengthDefect,
)
_BODY_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    inline: bool = False
    content_id: str | None = None


@dataclass(slots=True)
class ParsedMail:
    size: int = 0
    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    from_address: str | None = None
    from_name: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    delivered_to: list[str] = field(default_factory=list)
    subject: str = ""
    text: str = ""
    html: str | None = None
    attachments: list[ParsedAttachment] = field(default_factory=list)
    date: datetime | None = None
    auto_reply: list[str] = field(default_factory=list)
    bounce: list[BounceRecipient] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def is_automatic(self) -> bool:
        """Never answer this mail automatically (auto-reply, list, bulk, bounce)."""
        return bool(self.auto_reply)

    @property
    def bounced_addresses(self) -> list[str]:
        """Recipients a delivery status notification reports as permanently failed."""
        return [r.address for r in self.bounce if r.permanent]

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this mail answers, the most direct first (In-Reply-To, then newest ref)."""
        ids = [self.in_reply_to] if self.in_reply_to else []
        return ids + [mid for mid in reversed(self.references) if mid not in ids]

    @property
    def recipients(self) -> list[str]:
        """Every address the mail was delivered to: Delivered-To, To, Cc (for queue routing)."""
        return list(dict.fromkeys([*self.delivered_to, *self.to, *self.cc]))


def parse_message(
    raw: bytes, *, max_bytes: int | None = None, max_attachments: int | None = None
) -> ParsedMail:
    """Parse one message; never raises. Limits default to settings MAIL_MAX_MESSAGE_BYTES
    and MAIL_MAX_ATTACHMENTS (25 MB, 100)."""
    if max_bytes is None:
        max_bytes = getattr(settings, "MAIL_MAX_MESSAGE_BYTES", MAX_MESSAGE_BYTES)
    if max_attachments is None:
        max_attachments = getattr(settings, "MAIL_MAX_ATTACHMENTS", MAX_ATTACHMENTS)
    if not isinstance(raw, bytes | bytearray | memoryview):
        raw = str(raw).encode("utf-8", "surrogateescape")
    raw = bytes(raw)
    mail = ParsedMail(size=len(raw))
    try:
        _parse(raw, mail, max_bytes, max_attachments)
    except Exception as exc:  # the contract: record, never raise
        mail.problems.append(f"the message could not be parsed ({type(exc).__name__})")
    return mail


def _parse(raw: bytes, mail: ParsedMail, max_bytes: int, max_attachments: int) -> None:
    parser = BytesParser(policy=policy.default)
    if b"\x00" in raw:
        mail.problems.append("NUL bytes in the message")
    if len(raw) > max_bytes:
        mail.problems.append(f"message too large ({len(raw)} bytes, limit {max_bytes})")
        end = raw.find(b"\n\n", 0, 1024 * 1024)
        if end < 0:
            end = raw.find(b"\r\n\r\n", 0, 1024 * 1024)
        head = raw[: end if end > 0 else 1024 * 1024]
        _read_headers(parser.parsebytes(head, headersonly=True), mail)
        return
    msg = parser.parsebytes(raw)
    _read_headers(msg, mail)
    _read_body(msg, mail, max_attachments)


def _header_values(msg: Message, name: str) -> list[str]:
    """Decoded values of every ``name`` header; raw text where the structured parse fails."""
    values = []
    wanted = name.lower()
    for key, raw_value in msg.raw_items():
        if key.lower() != wanted:
            continue
        try:
            values.append(clean_text(str(msg.policy.header_factory(key, _unfold(raw_value)))))
        except Exception:  # it raises on hostile input, e.g. an encoded line break
            values.append(_decode_words(_unfold(str(raw_value))))
    return values


def _unfold(value: str) -> str:
    return re.sub(r"\r\n|\r|\n", "", str(value))


def _decode_words(value: str) -> str:
    """Encoded words decoded the lenient way, for headers the structured parser refused."""
    try:
        return clean_text(str(make_header(decode_header(value))))
    except Exception:  # undecodable: the raw text is still worth keeping
        return clean_text(value)


def _addresses(msg: Message, name: str, mail: ParsedMail) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for key, raw_value in msg.raw_items():
        if key.lower() != name.lower():
            continue
        try:
            header = msg.policy.header_factory(key, _unfold(raw_value))
            pairs = [(a.display_name, a.addr_spec) for a in header.addresses]
        except Exception:  # fall back to the lenient, unstructured reading
            pairs = [
                (_decode_words(display), addr)
                for display, addr in getaddresses([_unfold(str(raw_value))])
            ]
        for display, addr in pairs[:MAX_ADDRESSES]:
            if has_line_break(display) or has_line_break(addr):
                mail.problems.append(f"header injection attempt in {name}")
            try:
                address = validate_address(clean_text(addr)).lower()
            except HeaderValueError:
                if addr:
                    mail.notes.append(f"invalid address in {name} ignored")
                continue
            found.append((clean_header_value(display, max_length=NAME_MAX_LENGTH), address))
    return found


def _read_headers(msg: Message, mail: ParsedMail) -> None:
    for name in INJECTION_HEADERS:
        if any(has_line_break(value) for value in _header_values(msg, name)):
            mail.problems.append(f"header injection attempt in {name}")
    from_headers = _header_values(msg, "From")
    senders = _addresses(msg, "From", mail)
    if len(from_headers) > 1:
        mail.problems.append("several From headers")
    if len(senders) > 1:
        mail.problems.append("several From addresses")
    if senders:
        mail.from_name, mail.from_address = senders[0]
    else:
        mail.problems.append("no valid From address")
    mail.to = _unique(addr for _, addr in _addresses(msg, "To", mail))
    mail.cc = _unique(addr for _, addr in _addresses(msg, "Cc", mail))
    delivered = [*_addresses(msg, "Delivered-To", mail), *_addresses(msg, "X-Original-To", mail)]
    mail.delivered_to = _unique(addr for _, addr in delivered)

    subjects = _header_values(msg, "Subject")
    subject = subjects[0] if subjects else ""
    if "\ufffd" in subject:
        mail.notes.append("undecodable characters in the subject replaced")
    mail.subject = clean_header_value(subject, max_length=SUBJECT_MAX_LENGTH)

    ids = _header_values(msg, "Message-ID")
    mail.message_id = clean_message_id(ids[0]) if ids else None
    if len(ids) > 1:
        mail.notes.append("several Message-ID headers; the first one counts")
    replies = _header_values(msg, "In-Reply-To")
    if replies:
        first = message_ids(replies[0], limit=1)
        mail.in_reply_to = first[0] if first else clean_message_id(replies[0])
    mail.references = message_ids(" ".join(_header_values(msg, "References")))
    mail.date = _date(_header_values(msg, "Date"))
    mail.auto_reply = noise.automatic_reasons(msg, mail.from_address)


def _unique(items: object) -> list[str]:
    return list(dict.fromkeys(items))  # type: ignore[arg-type]


def _date(values: list[str]) -> datetime | None:
    if not values:
        return None
    try:
        value = parsedate_to_datetime(values[0])
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _read_body(msg: Message, mail: ParsedMail, max_attachments: int) -> None:
    plain: list[str] = []
    html: list[str] = []
    attachment_count = 0
    stack: list[tuple[Message, int]] = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        _record_defects(part, mail)
        ctype = part.get_content_type()
        if depth > MAX_DEPTH:
            mail.problems.append(f"MIME parts nested deeper than {MAX_DEPTH} levels")
            continue
        if ctype == "message/delivery-status":
            mail.bounce.extend(noise.bounce_recipients(part))
            continue
        if ctype != "message/rfc822" and part.is_multipart():
            children = part.get_payload()
            stack.extend((child, depth + 1) for child in reversed(children))
            continue
        disposition = part.get_content_disposition()
        filename = _filename(part)
        is_body = disposition != "attachment" and not filename
        if is_body and (ctype == "text/plain" or part.get_content_maintype() == "multipart"):
            plain.append(_decode_text(part, mail))
        elif is_body and ctype == "text/html":
            html.append(_decode_text(part, mail))
        else:
            attachment_count += 1
            if attachment_count <= max_attachments:
                mail.attachments.append(_attachment(part, ctype, filename, attachment_count))
    if attachment_count > max_attachments:
        mail.problems.append(f"too many attachments ({attachment_count}, limit {max_attachments})")
    mail.problems[:] = _unique(mail.problems)
    mail.notes[:] = _unique(mail.notes)
    if html:
        mail.html = sanitise_html("\n".join(html))
    plain_text = "\n\n".join(text for text in plain if text.strip())
    mail.text = plain_text if plain_text or not html else html_to_text("\n".join(html))


def _record_defects(part: Message, mail: ParsedMail) -> None:
    for defect in getattr(part, "defects", []):
        name = type(defect).__name__
        if isinstance(defect, LOSSY_DEFECTS):
            mail.problems.append(f"malformed MIME: {name}")
        else:
            mail.notes.append(f"MIME defect: {name}")


def _decode_text(part: Message, mail: ParsedMail) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(payload or "").encode("utf-8", "surrogateescape")
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload.decode(charset)
    except LookupError:
        mail.notes.append(f"unknown charset {clean_header_value(charset, max_length=40)!r}")
        text = _decode_fallback(payload)
    except UnicodeError:
        text = _decode_fallback(payload, charset)
        if "\ufffd" in text:
            mail.notes.append("undecodable bytes in a text part replaced")
    text = clean_text(text).replace("\r\n", "\n").replace("\r", "\n")
    return _BODY_CONTROL.sub("", text)


def _decode_fallback(payload: bytes, charset: str | None = None) -> str:
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode(charset or "utf-8", "replace")


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:  # a hostile RFC 2231 parameter
        name = ""
    name = re.split(r"[/\\]", clean_text(str(name)))[-1]
    return clean_header_value(name, max_length=200).lstrip(".")


def _attachment(part: Message, ctype: str, filename: str, index: int) -> ParsedAttachment:
    if ctype == "message/rfc822":
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else part
        try:
            data = inner.as_bytes(policy=policy.SMTP)
        except Exception:  # an unserialisable inner message: keep its text
            data = str(part.get_payload()).encode("utf-8", "replace")
        extension = ".eml"
    else:
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            data = b""
        extension = mimetypes.guess_extension(ctype) or ".bin"
    content_id = clean_message_id(_unfold(str(part.get("Content-ID", "") or "")))
    inline = part.get_content_disposition() != "attachment" and (
        content_id is not None or ctype.startswith("image/")
    )
    return ParsedAttachment(
        filename=filename or f"attachment-{index}{extension}",
        content_type=ctype,
        data=data,
        inline=inline,
        content_id=content_id,
    )
