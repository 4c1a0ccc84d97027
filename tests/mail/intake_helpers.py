"""Builders for the mail intake tests: messages as bytes, and a queue with an address."""

from __future__ import annotations

import itertools
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from tickets.models import Queue

CORPUS = Path(__file__).parent / "corpus"
QUEUE_ADDRESS = "support@helpdesk.example.com"
_counter = itertools.count(1)


def with_address(queue: Queue, address: str = QUEUE_ADDRESS) -> Queue:
    queue.email_address = address
    queue.save(update_fields=["email_address"])
    return queue


def message(
    *,
    sender: str = "Anna Schmidt <anna@example.org>",
    to: str = QUEUE_ADDRESS,
    subject: str = "Printer prints blank pages",
    body: str = "Since this morning the printer on floor 2 prints blank pages.",
    message_id: str | None = "",
    in_reply_to: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, bytes, str]] = (),  # type: ignore[assignment]
) -> bytes:
    """One message as an MTA would hand it over (a fresh Message-ID unless given or None)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    if message_id is not None:
        msg["Message-ID"] = message_id or make_msgid(f"t{next(_counter)}", "example.org")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    for filename, data, ctype in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def corpus(name: str, replace: dict[str, str] | None = None) -> bytes:
    """A corpus message, with text replaced (e.g. its forged token by a valid one)."""
    raw = (CORPUS / name).read_bytes()
    for old, new in (replace or {}).items():
        raw = raw.replace(old.encode(), new.encode())
    return raw
