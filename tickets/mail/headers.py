"""Values that become mail headers: cleaned text, validated addresses and Message-IDs.

Anything from user data (a subject, a contact's name or address, a Message-ID we got in a
mail) passes through here before it is put into a header, so no value can carry a line break
and inject a header of its own.
"""

from __future__ import annotations

import re
from email.headerregistry import Address

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

MAX_HEADER_LENGTH = 998  # RFC 5322 line limit; callers may ask for less
MAX_ADDRESS_LENGTH = 254
MAX_MESSAGE_ID_LENGTH = 250

# C0/C1 controls, DEL, and the Unicode line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SPACES = re.compile(r"\s+")
_MESSAGE_ID = re.compile(r"<([^<>\s\x00-\x1f\x7f]{1,248})>")  # 250 with the brackets
_BARE_MESSAGE_ID = re.compile(r"[^<>\s\x00-\x1f\x7f@]+@[^<>\s\x00-\x1f\x7f@]+")


class HeaderValueError(ValueError):
    """A value that cannot safely become a header; the message is one line for the user."""


def has_line_break(text: str) -> bool:
    """True if the text holds CR, LF, NUL or another line separator (an injection attempt)."""
    return any(ch in text for ch in "\r\n\x00\x0b\x0c\x85\u2028\u2029")


def clean_text(text: str) -> str:
    """Replace lone surrogates (left by undecodable bytes) with U+FFFD so the text can be stored."""
    return _SURROGATE.sub("\ufffd", text)


def clean_header_value(text: str, *, max_length: int = MAX_HEADER_LENGTH) -> str:
    """One line: control characters become spaces, whitespace runs fold to one, length capped."""
    text = _CONTROL.sub(" ", clean_text(str(text)))
    text = _SPACES.sub(" ", text).strip()
    if len(text) > max_length:
        text = text[:max_length].rstrip()
    return text


def validate_address(address: str) -> str:
    """Return one bare address (``local@domain``, domain lower-cased) or raise HeaderValueError."""
    if not isinstance(address, str):
        raise HeaderValueError("An email address must be text.")
    value = address.strip()
    if not value:
        raise HeaderValueError("The email address is empty.")
    if _CONTROL.search(value) or any(ch in value for ch in '<>,;"() \t'):
        raise HeaderValueError("Enter a single email address without a name or separators.")
    if len(value) > MAX_ADDRESS_LENGTH:
        raise HeaderValueError("The email address is too long.")
    try:
        validate_email(value)
    except ValidationError:
        raise HeaderValueError("Enter a valid email address.") from None
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def format_address(address: str, name: str = "") -> str:
    """A From/To header value for one mailbox, the name encoded as the standard requires."""
    addr = validate_address(address)
    display = clean_header_value(name, max_length=200)
    try:
        return str(Address(display_name=display, addr_spec=addr))
    except (ValueError, IndexError, TypeError):
        raise HeaderValueError("This email address cannot be used in a mail header.") from None


def clean_message_id(value: str) -> str | None:
    """The first ``<id@domain>`` in a header value (brackets added if missing), or None."""
    value = clean_text(str(value))
    match = _MESSAGE_ID.search(value)
    if match:
        return f"<{match.group(1)}>"
    bare = _BARE_MESSAGE_ID.fullmatch(value.strip())
    if bare and len(bare.group(0)) <= MAX_MESSAGE_ID_LENGTH - 2:
        return f"<{bare.group(0)}>"
    return None


def message_ids(value: str, *, limit: int = 100) -> list[str]:
    """Every ``<id@domain>`` in a References/In-Reply-To value, in order, without repeats."""
    found: list[str] = []
    for match in _MESSAGE_ID.finditer(clean_text(str(value))):
        mid = f"<{match.group(1)}>"
        if mid not in found:
            found.append(mid)
        if len(found) >= limit:
            break
    return found
