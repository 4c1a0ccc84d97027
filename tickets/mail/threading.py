"""Which ticket a mail belongs to: our signed Message-IDs and the reference tag in subjects.

Our Message-IDs read ``<{kind}.{ticket_id}.{random}.{mac}@{domain}>``; the MAC is an
HMAC-SHA256 (keyed from SECRET_KEY with a salt of its own, truncated) over kind, ticket id and
random part, so a sender cannot point a reply at a ticket by writing an id by hand. Tokens made
under a key listed in SECRET_KEY_FALLBACKS stay valid through a key rotation.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.crypto import salted_hmac

from tickets.mail.headers import clean_header_value
from tickets.models import REFERENCE_RE, Ticket

MAC_SALT = "tickets.mail.threading.message-id"
MAC_LENGTH = 24  # hex digits: 96 bits
KINDS = frozenset({"ticket", "reply", "ack", "note", "notify"})
SUBJECT_MAX_LENGTH = 200

_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
_TOKEN = re.compile(
    rf"<?([a-z]{{1,16}})\.(\d{{1,12}})\.([0-9a-f]{{16}})\.([0-9a-f]{{{MAC_LENGTH}}})@[^<>\s]+>?"
)
# The subject tag is the ticket reference (tickets.models.REFERENCE_RE) in brackets.
_REFERENCE = REFERENCE_RE.pattern.removeprefix("^").removesuffix("$")
_TAG = re.compile(r"\[(" + _REFERENCE + r")\]")
_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|antw|antwort|sv|vs|odp|rif|ref|res)(?:\s*[\[(]\d+[\])])?\s*:\s*)+",
    re.IGNORECASE,
)


class ForgedMessageIdError(Exception):
    """A Message-ID has our token's shape but a MAC we did not make (record a security event)."""

    def __init__(self, message_ids: list[str]) -> None:
        super().__init__(f"Forged reply token: {len(message_ids)} Message-ID(s) fail the MAC check")
        self.message_ids = message_ids


@dataclass(frozen=True)
class ThreadTokens:
    """What a list of Message-IDs says: ticket ids from valid tokens and the forged ids."""

    ticket_ids: list[int] = field(default_factory=list)
    forged: list[str] = field(default_factory=list)


def _mac(kind: str, ticket_id: int, random: str, secret: str | bytes | None = None) -> str:
    digest = salted_hmac(
        MAC_SALT, f"{kind}.{ticket_id}.{random}", secret=secret, algorithm="sha256"
    ).hexdigest()
    return digest[:MAC_LENGTH]


def _mac_valid(kind: str, ticket_id: int, random: str, mac: str) -> bool:
    secrets_to_try = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return any(
        hmac.compare_digest(_mac(kind, ticket_id, random, secret), mac) for secret in secrets_to_try
    )


def make_message_id(ticket_id: int, domain: str, *, kind: str = "reply") -> str:
    """A new signed Message-ID (with angle brackets) for a mail about this ticket."""
    if kind not in KINDS:
        raise ValueError(f"Unknown Message-ID kind {kind!r}.")
    if not isinstance(ticket_id, int) or isinstance(ticket_id, bool) or ticket_id <= 0:
        raise ValueError("The ticket id must be a positive integer.")
    if not _DOMAIN.fullmatch(domain or ""):
        raise ValueError("The Message-ID domain must be a plain host name.")
    random = secrets.token_hex(8)
    return f"<{kind}.{ticket_id}.{random}.{_mac(kind, ticket_id, random)}@{domain.lower()}>"


def inspect_message_ids(ids: Iterable[str]) -> ThreadTokens:
    """Sort Message-IDs into tickets named by valid tokens and forged tokens; others are ignored."""
    result = ThreadTokens()
    for value in ids:
        match = _TOKEN.fullmatch(str(value).strip())
        if not match:
            continue
        kind, ticket_id, random, mac = match.groups()
        if kind in KINDS and _mac_valid(kind, int(ticket_id), random, mac):
            if int(ticket_id) not in result.ticket_ids:
                result.ticket_ids.append(int(ticket_id))
        else:
            result.forged.append(str(value).strip())
    return result


def ticket_id_from_message_ids(ids: Iterable[str]) -> int | None:
    """The ticket named by the first valid token among ``ids`` (pass In-Reply-To first).

    Raises ForgedMessageIdError when no token is valid but at least one is forged; ids that
    are not ours at all give None.
    """
    tokens = inspect_message_ids(ids)
    if tokens.ticket_ids:
        return tokens.ticket_ids[0]
    if tokens.forged:
        raise ForgedMessageIdError(tokens.forged)
    return None


def reference_from_subject(subject: str) -> str | None:
    """The first ticket reference tag in a subject (``[T-000123]`` gives ``T-000123``)."""
    match = _TAG.search(str(subject))
    return match.group(1) if match else None


def ticket_id_from_subject(subject: str) -> int | None:
    """The ticket id of the subject's reference tag, or None (the caller checks the sender)."""
    reference = reference_from_subject(subject)
    return Ticket.pk_from_reference(reference) if reference else None


def strip_subject(subject: str) -> str:
    """The subject without reply prefixes (Re:, AW:, …) and reference tags, on one line."""
    text = clean_header_value(subject)
    while True:
        stripped = _REPLY_PREFIX.sub("", _TAG.sub(" ", text)).strip()
        stripped = re.sub(r"\s+", " ", stripped)
        if stripped == text:
            return text
        text = stripped


def reply_subject(subject: str, reference: str) -> str:
    """``Re: [T-000123] subject``, however many Re:/AW: prefixes and tags the subject had."""
    if not REFERENCE_RE.match(reference):
        raise ValueError("Not a ticket reference.")
    rest = strip_subject(subject)
    line = f"Re: [{reference}] {rest}" if rest else f"Re: [{reference}]"
    return clean_header_value(line, max_length=SUBJECT_MAX_LENGTH + len(reference) + 7)
