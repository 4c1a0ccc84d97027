"""manage.py receivemail: the corpus of real-world shaped mail, each with its outcome; the
German Outlook reply threaded; exit codes an MTA acts on (0 stored, 65 refused, 75 retry)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from audit.models import SecurityEvent
from tests.live.daphne import free_port
from tests.mail.intake_helpers import CORPUS, corpus, message, with_address
from tickets import services
from tickets.mail.inbound_models import InboundMessage
from tickets.mail.threading import make_message_id
from tickets.models import Queue, Status, Ticket

ROOT = Path(__file__).resolve().parents[2]
FORGED_42 = f"<reply.42.0123456789abcdef.{'0' * 24}@helpdesk.example.com>"

# Every corpus message: (status, is_automatic, security events it records).
EXPECTED: dict[str, tuple[str, bool, set[str]]] = {
    "auto_reply.eml": ("ticket", True, {"mail_forged_token"}),
    "bounce_dsn.eml": ("ignored", True, set()),
    "broken_boundary.eml": ("quarantined", False, {"mail_quarantined"}),
    "header_injection.eml": ("quarantined", False, {"mail_quarantined"}),
    "html_only.eml": ("ticket", False, set()),
    "inline_image.eml": ("ticket", False, set()),
    "iso8859_headers.eml": ("ticket", False, set()),
    "mailing_list.eml": ("quarantined", True, {"mail_quarantined"}),  # not to a queue address
    "multipart_alternative.eml": ("ticket", False, set()),
    "nul_bytes.eml": ("quarantined", False, {"mail_quarantined"}),
    "outlook_german_reply.eml": ("ticket", False, {"mail_forged_token"}),
    "unknown_charset.eml": ("ticket", False, set()),
    "utf8_encoded_words.eml": ("ticket", False, set()),
    "winmail_dat.eml": ("ticket", False, set()),
}


@pytest.fixture
def queue(queue_a: Queue) -> Queue:
    return with_address(queue_a)


def receive(raw: bytes, *args: str) -> str:
    out = io.StringIO()
    call_command("receivemail", *args, stdin=io.BytesIO(raw), stdout=out)
    return out.getvalue()


def test_the_corpus_is_covered() -> None:
    assert sorted(EXPECTED) == sorted(p.name for p in CORPUS.glob("*.eml"))


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_corpus_message_is_stored_with_its_outcome(queue: Queue, name: str) -> None:
    status, automatic, actions = EXPECTED[name]
    output = receive(corpus(name))

    inbound = InboundMessage.objects.get()
    assert (inbound.status, inbound.is_automatic) == (status, automatic), inbound.reason
    assert inbound.get_status_display() in output
    assert set(SecurityEvent.objects.values_list("action", flat=True)) == actions
    assert bytes(InboundMessage.objects.get().raw) == corpus(name)  # nothing lost
    assert Ticket.objects.count() == (1 if status == "ticket" else 0)


@pytest.mark.django_db
def test_corpus_tickets_keep_subject_text_and_files(queue: Queue) -> None:
    receive(corpus("iso8859_headers.eml"))
    receive(corpus("inline_image.eml"))
    receive(corpus("winmail_dat.eml"))
    receive(corpus("html_only.eml"))

    german, image, winmail, html = Ticket.objects.order_by("pk")
    assert german.subject == "Änderung der Rechnungsadresse für März"
    assert german.contact.name == "Jürgen Müller"
    assert image.attachments.get().content_type == "image/png"
    note = winmail.comments.get(is_internal=True)
    assert "winmail.dat" in note.body
    assert "Dear customer" in html.description and "<p" not in html.description
    assert InboundMessage.objects.get(ticket=html).html_body


@pytest.mark.django_db
def test_a_german_outlook_reply_lands_on_its_ticket_with_the_quote_folded(
    queue: Queue, agent: Any
) -> None:
    ticket = services.mail_receive(
        raw=message(sender="Klaus Weber <klaus.weber@firma.example>")
    ).ticket
    services.ticket_change_status(actor=agent, ticket=ticket, status=Status.PENDING)
    token = make_message_id(ticket.pk, "helpdesk.example.com")
    receive(corpus("outlook_german_reply.eml", {FORGED_42: token}))

    ticket.refresh_from_db()
    comment = ticket.comments.get()
    inbound = InboundMessage.objects.get(comment=comment)
    assert ticket.status == Status.OPEN
    assert "Von:" not in comment.body and "Von:" in inbound.quoted_text
    assert comment.body.strip()


@pytest.mark.django_db
def test_a_mailing_list_message_given_a_queue_becomes_an_automatic_ticket(queue: Queue) -> None:
    receive(corpus("mailing_list.eml"), "--queue", queue.slug)

    inbound = InboundMessage.objects.get()
    assert inbound.status == "ticket" and inbound.is_automatic


@pytest.mark.django_db
def test_an_unknown_queue_slug_defers_the_message(queue: Queue) -> None:
    with pytest.raises(CommandError) as caught:
        receive(message(), "--queue", "nosuch")
    assert caught.value.returncode == 75
    assert not InboundMessage.objects.exists()


@pytest.mark.django_db
def test_an_empty_message_is_refused_for_the_mta_to_bounce(queue: Queue) -> None:
    with pytest.raises(CommandError) as caught:
        receive(b"  \r\n")
    assert caught.value.returncode == 65


@pytest.mark.django_db
@override_settings(MAIL_RECEIVE_MAX_BYTES=2048)
def test_an_oversized_message_is_rejected_with_an_event(queue: Queue) -> None:
    with pytest.raises(CommandError) as caught:
        receive(message(body="x" * 5000))
    assert caught.value.returncode == 65
    assert SecurityEvent.objects.filter(action="mail_rejected").count() == 1
    assert not InboundMessage.objects.exists()


@pytest.mark.django_db
@override_settings(MAIL_MAX_MESSAGE_BYTES=4096)
def test_a_message_over_the_parse_limit_is_quarantined_whole(queue: Queue) -> None:
    raw = message(body="y" * 10_000)
    receive(raw)

    inbound = InboundMessage.objects.get()
    assert inbound.status == "quarantined" and "too large" in inbound.reason
    assert bytes(inbound.raw) == raw


def _run_receivemail(env: dict[str, str], raw: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "manage.py", "receivemail"],
        cwd=ROOT,
        env=env,
        input=raw,
        capture_output=True,
        timeout=60,
    )


def test_an_unreachable_database_exits_75_in_one_line(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/ticketsystem",
        "SECURITY_LOG_FILE": str(tmp_path / "security.log"),
    }
    result = _run_receivemail(env, message())

    stderr = result.stderr.decode()
    assert result.returncode == 75, stderr
    assert len(stderr.strip().splitlines()) == 1
    assert "database unreachable" in stderr and "Traceback" not in stderr
