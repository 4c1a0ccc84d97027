"""Mail that must not get an automatic answer, and delivery status notifications (bounces).

Automatic: Auto-Submitted other than "no", Precedence bulk/junk/list, X-Autoreply,
X-Autorespond, X-Auto-Response-Suppress (All/OOF/AutoReply), a mailer-daemon or postmaster
sender, a null Return-Path, a delivery report, and mailing-list mail (List-Id, and
List-Unsubscribe, which newsletters send without List-Id; no person's mail client adds it).
Such mail still becomes a ticket or comment; it only never triggers mail from us, which is what
breaks loops between two auto-responders.

Bounces: only standard reports (RFC 3464, multipart/report; report-type=delivery-status) are
read; each recipient block gives address, action, status and diagnostic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

from tickets.mail.headers import HeaderValueError, clean_header_value, validate_address

DAEMON_SENDERS = frozenset({"mailer-daemon", "postmaster"})
LIST_HEADERS = ("List-Id", "List-Unsubscribe")
AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder")
MAX_RECIPIENTS = 100


@dataclass(frozen=True, slots=True)
class BounceRecipient:
    address: str
    action: str  # failed, delayed, delivered, relayed, expanded (lower case)
    status: str  # e.g. 5.1.1
    diagnostic: str

    @property
    def permanent(self) -> bool:
        """A hard failure: the address should be marked as bouncing."""
        return self.action == "failed" or self.status.startswith("5")


def _raw(msg: Message, name: str) -> str:
    """A header's source text on one line (raw, so no header parser can raise on it)."""
    wanted = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == wanted:
            return clean_header_value(str(value), max_length=200)
    return ""


def _present(msg: Message, name: str) -> bool:
    wanted = name.lower()
    return any(key.lower() == wanted for key, _ in msg.raw_items())


def automatic_reasons(msg: Message, from_address: str | None) -> list[str]:
    """Why this mail is automatic or bulk (empty for a person's mail)."""
    reasons = []
    auto_submitted = _raw(msg, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        reasons.append(f"Auto-Submitted: {auto_submitted}")
    precedence = _raw(msg, "Precedence").lower()
    if precedence in {"bulk", "junk", "list"}:
        reasons.append(f"Precedence: {precedence}")
    reasons.extend(name for name in AUTO_HEADERS if _present(msg, name))
    suppress = _raw(msg, "X-Auto-Response-Suppress").lower()
    if any(word in suppress for word in ("all", "oof", "autoreply")):
        reasons.append(f"X-Auto-Response-Suppress: {suppress}")
    reasons.extend(name for name in LIST_HEADERS if _present(msg, name))
    if from_address and from_address.rpartition("@")[0].lower() in DAEMON_SENDERS:
        reasons.append(f"sender {from_address.rpartition('@')[0].lower()}")
    if _raw(msg, "Return-Path").replace(" ", "") == "<>":
        reasons.append("null Return-Path")
    if msg.get_content_type() == "multipart/report":
        reasons.append("delivery or disposition report")
    return reasons


def _blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8", "replace")
    if not isinstance(payload, str):
        return []
    parser = HeaderParser(policy=compat32)
    chunks = re.split(r"\r?\n[ \t]*\r?\n", payload.strip())
    return [parser.parsestr(chunk) for chunk in chunks if chunk.strip()]


def bounce_recipients(part: Message) -> list[BounceRecipient]:
    """The per-recipient blocks of a message/delivery-status part."""
    found: list[BounceRecipient] = []
    for block in _blocks(part):
        recipient = _raw(block, "Final-Recipient") or _raw(block, "Original-Recipient")
        if not recipient:
            continue  # the per-message block (Reporting-MTA, Arrival-Date)
        address = recipient.rpartition(";")[2].strip().strip("<>")
        try:
            address = validate_address(address).lower()
        except HeaderValueError:
            continue
        found.append(
            BounceRecipient(
                address=address,
                action=_raw(block, "Action").lower(),
                status=_raw(block, "Status")[:20],
                diagnostic=_raw(block, "Diagnostic-Code"),
            )
        )
        if len(found) >= MAX_RECIPIENTS:
            break
    return found
