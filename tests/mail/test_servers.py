"""The real-server fixtures work: mail sent over SMTP arrives, IMAPS appends and fetches."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

import pytest
from imap_tools import MailBox, MailBoxUnencrypted
from imap_tools.errors import MailboxLoginError

from tests.mail.dovecot import ImapServer
from tests.mail.smtpd import SmtpServer

RAW = (
    b"From: Anna <anna@example.org>\r\n"
    b"To: support@helpdesk.example.com\r\n"
    b"Subject: Drucker\r\n"
    b"Message-ID: <fixture.1@example.org>\r\n"
    b"\r\n"
    b"Der Drucker druckt nicht.\r\n"
)


def test_smtp_server_receives_what_smtplib_sends(smtp_server: SmtpServer) -> None:
    message = EmailMessage()
    message["From"] = "support@helpdesk.example.com"
    message["To"] = "anna@example.org"
    message["Subject"] = "Re: [T-000001] Drucker"
    message.set_content("Wir kümmern uns darum.")
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.send_message(message, to_addrs=["anna@example.org", "bob@example.org"])

    [received] = smtp_server.wait_for(1)
    assert received.mail_from == "support@helpdesk.example.com"
    assert received.rcpt_tos == ["anna@example.org", "bob@example.org"]
    assert received.message["Subject"] == "Re: [T-000001] Drucker"
    assert received.message.get_content().strip() == "Wir kümmern uns darum."


def test_imaps_server_stores_an_appended_message_and_serves_it(dovecot: ImapServer) -> None:
    with MailBox(dovecot.host, dovecot.port, ssl_context=dovecot.ssl_context()).login(
        dovecot.user, dovecot.password
    ) as mailbox:
        mailbox.append(RAW, "INBOX")
        [fetched] = list(mailbox.fetch(mark_seen=False))

    assert fetched.subject == "Drucker"
    assert fetched.from_ == "anna@example.org"
    assert fetched.obj["Message-ID"] == "<fixture.1@example.org>"
    assert fetched.text.strip() == "Der Drucker druckt nicht."


def test_imaps_server_certificate_is_verified(dovecot: ImapServer) -> None:
    # A client that does not trust the throwaway certificate refuses it: TLS is real.
    with pytest.raises(ssl.SSLCertVerificationError):
        MailBox(dovecot.host, dovecot.port, ssl_context=ssl.create_default_context())


def test_imap_server_refuses_a_wrong_password(dovecot: ImapServer) -> None:
    with pytest.raises(MailboxLoginError):
        MailBox(dovecot.host, dovecot.port, ssl_context=dovecot.ssl_context()).login(
            dovecot.user, "wrong"
        )


def test_plain_imap_port_serves_the_same_mailbox(dovecot: ImapServer) -> None:
    with MailBoxUnencrypted(dovecot.host, dovecot.plain_port).login(
        dovecot.user, dovecot.password
    ) as mailbox:
        mailbox.append(RAW, "INBOX")
        assert [msg.subject for msg in mailbox.fetch()] == ["Drucker"]
