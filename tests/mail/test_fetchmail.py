"""manage.py fetchmail against a real dovecot (IMAPS): fetch, flag only after commit, a crash
between commit and flag refetches without a duplicate, move mode, refusals in one line."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from imap_tools import MailBox

from tests.mail.dovecot import ImapServer
from tests.mail.intake_helpers import message
from tickets.mail import fetch
from tickets.mail.inbound_models import InboundMessage, QueueMailbox
from tickets.models import Queue, Ticket

# serialized_rollback: the flush of a transactional test would drop the role groups.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def imap(dovecot: ImapServer) -> Iterator[ImapServer]:
    with override_settings(MAIL_IMAP_CA_FILE=str(dovecot.cert_path)):
        yield dovecot


@pytest.fixture
def mailbox(imap: ImapServer, queue_a: Queue) -> QueueMailbox:
    return QueueMailbox.objects.create(
        queue=queue_a,
        host=imap.host,
        port=imap.port,
        username=imap.user,
        password=imap.password,
    )


def client(imap: ImapServer) -> MailBox:
    return MailBox(imap.host, imap.port, ssl_context=imap.ssl_context()).login(
        imap.user, imap.password
    )


def deliver(imap: ImapServer, *raws: bytes) -> None:
    with client(imap) as box:
        for raw in raws:
            box.append(raw, "INBOX")


def unseen(imap: ImapServer, folder: str = "INBOX") -> int:
    with client(imap) as box:
        box.folder.set(folder)
        return len(box.uids("UNSEEN"))


def fetchmail(*args: str) -> str:
    out = io.StringIO()
    call_command("fetchmail", *args, stdout=out)
    return out.getvalue()


def test_new_mail_becomes_tickets_and_is_marked_seen(
    imap: ImapServer, mailbox: QueueMailbox
) -> None:
    deliver(imap, message(subject="One"), message(subject="Two"))

    output = fetchmail()

    assert sorted(Ticket.objects.values_list("subject", flat=True)) == ["One", "Two"]
    assert {t.queue_id for t in Ticket.objects.all()} == {mailbox.queue_id}
    assert unseen(imap) == 0
    assert "2 stored" in output
    mailbox.refresh_from_db()
    assert mailbox.last_fetch_at is not None and mailbox.last_error == ""


def test_a_crash_between_commit_and_flag_refetches_without_a_duplicate(
    imap: ImapServer, mailbox: QueueMailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver(imap, message(subject="Only once"))

    def crash(*args: Any) -> None:
        raise KeyboardInterrupt("killed after the commit, before the flag")

    with monkeypatch.context() as patch:
        patch.setattr(fetch, "mark_done", crash)
        with pytest.raises(KeyboardInterrupt):
            fetchmail()
    assert Ticket.objects.count() == 1  # committed
    assert unseen(imap) == 1  # but not flagged

    output = fetchmail()

    assert Ticket.objects.count() == 1 and InboundMessage.objects.count() == 1
    assert "1 already stored" in output
    assert unseen(imap) == 0


def test_move_mode_moves_stored_mail_out_of_the_folder(
    imap: ImapServer, mailbox: QueueMailbox
) -> None:
    with client(imap) as box:
        box.folder.create("Done")
    mailbox.move_to = "Done"
    mailbox.save()
    deliver(imap, message())

    fetchmail("--queue", mailbox.queue.slug)

    with client(imap) as box:
        assert box.uids("ALL") == []
        box.folder.set("Done")
        assert len(box.uids("ALL")) == 1
    assert Ticket.objects.count() == 1


def test_a_wrong_password_fails_in_one_line_and_is_remembered(
    imap: ImapServer, mailbox: QueueMailbox
) -> None:
    mailbox.password = "wrong"
    mailbox.save()

    with pytest.raises(CommandError) as caught:
        fetchmail()

    assert "login refused" in str(caught.value) and "wrong" not in str(caught.value)
    mailbox.refresh_from_db()
    assert "login refused" in mailbox.last_error


def test_an_untrusted_certificate_is_refused(dovecot: ImapServer, queue_a: Queue) -> None:
    QueueMailbox.objects.create(
        queue=queue_a, host=dovecot.host, port=dovecot.port, username="u", password="p"
    )
    with pytest.raises(CommandError, match="TLS failed"):
        fetchmail()


def test_plain_imap_is_refused_unless_allowed(imap: ImapServer, queue_a: Queue) -> None:
    box = QueueMailbox.objects.create(
        queue=queue_a,
        host=imap.host,
        port=imap.plain_port,
        use_ssl=False,
        username=imap.user,
        password=imap.password,
    )
    deliver(imap, message())
    with pytest.raises(CommandError, match="plain IMAP is refused"):
        fetchmail()
    assert unseen(imap) == 1

    with override_settings(MAIL_ALLOW_PLAINTEXT=True):
        fetchmail("--queue", box.queue.slug)
    assert Ticket.objects.count() == 1


def test_the_password_is_stored_encrypted(mailbox: QueueMailbox) -> None:
    from tests.helpers import raw_get

    stored = raw_get("tickets_queuemailbox", "password", mailbox.pk)
    assert "imap-test-password" not in stored
    assert QueueMailbox.objects.get(pk=mailbox.pk).password == "imap-test-password"
