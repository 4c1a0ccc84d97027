"""Mail sources are personal data: exportperson includes them, eraseperson and purge remove
them (including quarantined mail from the person's address)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.mail.intake_helpers import message, with_address
from tickets import services
from tickets.mail.inbound_models import InboundMessage
from tickets.mail.threading import make_message_id
from tickets.models import Queue, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail(queue_a: Queue) -> dict[str, Any]:
    """Anna's new ticket, her reply, and a mail of hers stuck in quarantine."""
    with_address(queue_a)
    first = services.mail_receive(raw=message(body="My secret is 4711."))
    ticket = first.ticket
    token = make_message_id(ticket.pk, "helpdesk.example.com")
    reply = services.mail_receive(raw=message(body="And 4712.", in_reply_to=token))
    stuck = services.mail_receive(raw=message(to="nobody@example.com", body="Lost?"))
    other = services.mail_receive(raw=message(sender="bob@example.org", to="nobody@example.com"))
    return {"ticket": ticket, "anna": [first, reply, stuck], "other": other}


def test_exportperson_includes_the_contacts_mail_sources(
    mail: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "anna.json"
    out = StringIO()
    call_command("exportperson", "--email", "anna@example.org", "--output", str(target), stdout=out)

    [person] = json.loads(target.read_text())["contacts"]
    sources = [base64.b64decode(m["source_base64"]) for m in person["mail"]]
    assert len(sources) == 3
    assert any(b"4711" in s for s in sources) and any(b"Lost?" in s for s in sources)
    assert {m["status"] for m in person["mail"]} == {"ticket", "comment", "quarantined"}


def test_eraseperson_removes_the_contacts_mail_sources(mail: dict[str, Any]) -> None:
    call_command("eraseperson", "--email", "anna@example.org", stdout=StringIO())

    assert list(InboundMessage.objects.all()) == [mail["other"]]


def test_purge_removes_the_sources_of_purged_tickets_and_old_quarantine(
    mail: dict[str, Any], agent: Any
) -> None:
    ticket = mail["ticket"]
    services.ticket_change_status(actor=agent, ticket=ticket, status="resolved")
    services.ticket_change_status(actor=agent, ticket=ticket, status="closed")
    long_ago = timezone.now() - timedelta(days=4 * 365)
    Ticket.objects.filter(pk=ticket.pk).update(closed_at=long_ago)
    InboundMessage.objects.filter(pk=mail["other"].pk).update(received_at=long_ago)
    recent = services.mail_receive(raw=message(sender="carol@example.org", to="x@example.com"))

    out = StringIO()
    call_command("purge", stdout=out)

    # Anna's contact was left with purged tickets only: erased, with all her mail.
    remaining = set(InboundMessage.objects.values_list("pk", flat=True))
    assert remaining == {recent.pk}  # recent quarantine stays until it ages out
    assert "deleted 1 mail source(s)" in out.getvalue()
