"""Split a reply's text into the new part and the quoted tail (history, signature).

Nothing is deleted: ``reply + quoted == text`` always holds, so the tail can be folded away in
display and shown on demand. The split is at the earliest reply marker that leaves some text
above it: "On … wrote:", "Am … schrieb …:", "-----Original Message-----", an Outlook header
block (From:/Sent:/To:/Subject: or Von:/Gesendet:/An:/Betreff:), a trailing block of ">" lines,
or a "-- " signature delimiter.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_WROTE_START = re.compile(r"^\s*(?:On|Am|Le|El|Il|Op)\s.{0,300}$", re.IGNORECASE)
_WROTE_END = re.compile(
    r"(?:wrote|schrieb|a écrit|escribió|ha scritto|schreef)(?:\s.{0,120})?:\s*$",
    re.IGNORECASE,
)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(?:Original Message|Original-Nachricht|Ursprüngliche Nachricht|"
    r"Message d'origine|Mensaje original)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r"^\s*_{10,}\s*$")
_SIGNATURE = re.compile(r"^--[ ]?\r?\n?$")
_FIELD_FROM = re.compile(r"^\s*\*?(?:From|Von|De|Van)\s*:\*?\s*\S", re.IGNORECASE)
_FIELD_SENT = re.compile(
    r"^\s*\*?(?:Sent|Date|Gesendet|Datum|Envoyé|Enviado|Verzonden)\s*:\*?\s*\S", re.IGNORECASE
)
_FIELD_SUBJECT = re.compile(
    r"^\s*\*?(?:Subject|Betreff|Objet|Asunto|Onderwerp)\s*:\*?", re.IGNORECASE
)
HEADER_BLOCK_LINES = 8  # From: … Subject: must fall within this many lines


class SplitReply(NamedTuple):
    reply: str
    quoted: str


def _is_header_block(lines: list[str], start: int) -> bool:
    if not _FIELD_FROM.match(lines[start]):
        return False
    window = lines[start + 1 : start + HEADER_BLOCK_LINES]
    has_sent = any(_FIELD_SENT.match(line) for line in window)
    has_subject = any(_FIELD_SUBJECT.match(line) for line in window)
    return has_sent and has_subject


def _wrote_marker(lines: list[str], index: int) -> bool:
    line = lines[index]
    if not _WROTE_START.match(line):
        return False
    if _WROTE_END.search(line):
        return True
    # Mail clients wrap a long attribution line once ("On …, Jane Doe <\njane@x> wrote:").
    nxt = lines[index + 1] if index + 1 < len(lines) else ""
    return bool(nxt.strip()) and bool(_WROTE_END.search(nxt)) and len(line) + len(nxt) < 400


def _trailing_quote_start(lines: list[str]) -> int | None:
    """The first line of the ">" block that ends the text (trailing blank lines included)."""
    start = None
    for index in range(len(lines) - 1, -1, -1):
        stripped = lines[index].strip()
        if not stripped:
            continue
        if stripped.startswith(">"):
            start = index
            continue
        break
    return start


def _markers(lines: list[str]) -> list[int]:
    found = []
    for index, line in enumerate(lines):
        if (
            _ORIGINAL.match(line)
            or _SIGNATURE.match(line)
            or _wrote_marker(lines, index)
            or _is_header_block(lines, index)
        ):
            # An Outlook separator line directly above belongs to the quoted block.
            if index > 0 and _SEPARATOR.match(lines[index - 1]):
                found.append(index - 1)
            found.append(index)
    trailing = _trailing_quote_start(lines)
    if trailing is not None:
        found.append(trailing)
    return sorted(set(found))


def split_reply(text: str) -> SplitReply:
    """Split ``text`` at its reply marker into (reply, quoted); no marker gives (text, "")."""
    lines = text.splitlines(keepends=True)
    for index in _markers(lines):
        reply = "".join(lines[:index])
        if reply.strip():
            return SplitReply(reply, "".join(lines[index:]))
    return SplitReply(text, "")
