"""fetchmail's IMAP side: read each queue's mailbox, hand every message to mail_receive, and
mark it seen (or move it) on the server only after the database has committed it.

A crash between the commit and the flag leaves the message unseen; the next run fetches it
again and mail_receive, idempotent by Message-ID, finds the stored copy: nothing is lost and
nothing is duplicated.
"""

from __future__ import annotations

import imaplib
import ssl
from dataclasses import dataclass, field

from django.conf import settings
from django.db import InterfaceError, OperationalError
from imap_tools import BaseMailBox, MailBox, MailBoxUnencrypted, MailMessageFlags
from imap_tools.errors import MailboxLoginError

from audit.events import record_event
from tickets import services
from tickets.mail.inbound_models import QueueMailbox
from ticketsystem.crypto import is_undecryptable


class FetchError(Exception):
    """A mailbox could not be read (the message is one line, without secrets)."""


@dataclass
class FetchReport:
    mailbox: str
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.outcomes.items()))
        return (
            f"{self.mailbox}: {self.stored} stored ({counts or 'none'}), "
            f"{self.duplicates} already stored, {self.rejected} rejected"
        )


def _connect(mailbox: QueueMailbox) -> BaseMailBox:
    timeout = settings.MAIL_IMAP_TIMEOUT
    if mailbox.use_ssl:
        context = ssl.create_default_context(cafile=settings.MAIL_IMAP_CA_FILE or None)
        return MailBox(mailbox.host, mailbox.port, timeout=timeout, ssl_context=context)
    if not settings.MAIL_ALLOW_PLAINTEXT:
        raise FetchError("plain IMAP is refused (set MAIL_ALLOW_PLAINTEXT to allow it)")
    return MailBoxUnencrypted(mailbox.host, mailbox.port, timeout=timeout)


def _fetch_raw(client: BaseMailBox, uid: str) -> bytes | None:
    """The message's exact bytes (BODY.PEEK leaves it unseen until we flag it)."""
    status, data = client.client.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        return None
    for item in data:
        if isinstance(item, tuple) and len(item) > 1 and isinstance(item[1], bytes):
            return item[1]
    return None


def mark_done(client: BaseMailBox, uid: str, mailbox: QueueMailbox) -> None:
    """Seen or moved: called only after the message is committed to the database."""
    if mailbox.move_to:
        client.move(uid, mailbox.move_to)
    else:
        client.flag(uid, MailMessageFlags.SEEN, True)


def fetch_mailbox(mailbox: QueueMailbox) -> FetchReport:
    """Store every new message of one mailbox (up to MAIL_FETCH_BATCH per run)."""
    password = mailbox.password
    if is_undecryptable(password):
        raise FetchError("the stored IMAP password cannot be decrypted")
    report = FetchReport(str(mailbox.queue.slug))
    try:
        with _connect(mailbox).login(
            mailbox.username, str(password), initial_folder=mailbox.folder
        ) as client:
            criteria = "ALL" if mailbox.move_to else "UNSEEN"
            for uid in client.uids(criteria)[: settings.MAIL_FETCH_BATCH]:
                _store_one(client, uid, mailbox, report)
    except MailboxLoginError:
        raise FetchError("IMAP login refused (check username and password)") from None
    except ssl.SSLError as exc:
        raise FetchError(f"TLS failed: {exc.reason or type(exc).__name__}") from None
    except (OperationalError, InterfaceError):
        raise
    except (OSError, imaplib.IMAP4.error) as exc:
        text = str(exc).strip().splitlines()[0][:150] if str(exc).strip() else ""
        raise FetchError(f"IMAP failed: {type(exc).__name__} {text}".strip()) from None
    return report


def _store_one(client: BaseMailBox, uid: str, mailbox: QueueMailbox, report: FetchReport) -> None:
    raw = _fetch_raw(client, uid)
    if raw is None:
        return
    if len(raw) > settings.MAIL_RECEIVE_MAX_BYTES:
        record_event(
            "mail_rejected",
            resource=f"mailbox:{mailbox.pk}",
            details={"reason": "too large", "size": len(raw)},
        )
        report.rejected += 1
        mark_done(client, uid, mailbox)  # left on the server, never fetched again
        return
    inbound = services.mail_receive(raw=raw, queue=mailbox.queue)  # committed on return
    mark_done(client, uid, mailbox)
    if inbound.duplicate:
        report.duplicates += 1
    else:
        report.stored += 1
        report.outcomes[inbound.status] = report.outcomes.get(inbound.status, 0) + 1
