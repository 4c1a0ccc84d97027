"""manage.py purge: closed tickets past retention are anonymised; --dry-run changes nothing."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit.models import FailureTally, SecurityEvent
from tests.gdpr.conftest import close
from tickets import services
from tickets.models import Activity, Attachment, Contact, Ticket


def purge(*args: str) -> str:
    out = StringIO()
    call_command("purge", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def aged(person, agent, queue_a):
    contact, first, second = person
    old_one = close(agent, first, days_ago=4 * 365)
    old_two = close(agent, second, days_ago=3 * 365 + 10)
    recent = close(
        agent, services.ticket_create(actor=agent, queue=queue_a, subject="recent"), days_ago=30
    )
    open_old = services.ticket_create(actor=agent, queue=queue_a, subject="still open")
    return contact, old_one, old_two, recent, open_old


def test_dry_run_lists_and_changes_nothing(aged):
    contact, old_one, old_two, recent, open_old = aged
    output = purge("--dry-run")
    assert (
        f"would purge {old_one.reference}" in output
        and f"would purge {old_two.reference}" in output
    )
    assert recent.reference not in output and open_old.reference not in output
    assert f"would erase contact #{contact.pk}" in output
    assert (
        "2 ticket(s) closed more than 3y ago and 1 contact(s) would be anonymised, 0 failure "
        "count(s) older than 30 days deleted; nothing changed" in output
    )
    assert Ticket.objects.get(pk=old_one.pk).subject == "Erin's laptop"
    assert not Ticket.objects.filter(purged_at__isnull=False).exists()
    assert not SecurityEvent.objects.filter(action="purged").exists()


def test_it_anonymises_old_closed_tickets_and_keeps_their_statistics(aged):
    contact, old_one, _old_two, recent, open_old = aged
    output = purge("--closed-older-than", "3y", "--batch-size", "1")
    assert "purged 2 ticket(s) closed more than 3y ago; erased 1 contact(s)" in output
    ticket = Ticket.objects.get(pk=old_one.pk)
    assert (ticket.subject, ticket.description) == ("[purged]", "")
    assert (ticket.status, ticket.priority, ticket.created_at, ticket.closed_at) == (
        old_one.status,
        old_one.priority,
        old_one.created_at,
        old_one.closed_at,
    )
    assert [c.body for c in ticket.comments.all()] == ["", ""]
    assert not Attachment.objects.filter(ticket=ticket).exists()
    assert Activity.objects.filter(ticket=ticket, verb="purged").exists()
    assert not Activity.objects.filter(ticket=ticket, new_value__icontains="laptop").exists()
    assert Ticket.objects.get(pk=recent.pk).subject == "recent"
    assert Ticket.objects.get(pk=open_old.pk).subject == "still open"
    assert Contact.objects.get(pk=contact.pk).erased_at is not None
    events = SecurityEvent.objects.filter(action="purged")
    assert events.count() == 2  # one per batch
    assert sum(e.details["tickets"] for e in events) == 2


def test_a_second_run_finds_nothing(aged):
    purge()
    assert "purged 0 ticket(s)" in purge()


def test_contacts_with_a_live_ticket_are_kept(aged, agent, queue_a):
    contact = aged[0]
    services.ticket_create(actor=agent, queue=queue_a, subject="new problem", contact=contact)
    purge()
    assert Contact.objects.get(pk=contact.pk).erased_at is None


def test_the_default_period_comes_from_settings(aged, settings):
    settings.RETENTION_CLOSED_TICKETS = "20d"
    assert "purged 3 ticket(s) closed more than 20d ago" in purge()


@pytest.mark.parametrize("period", ["3 years", "0d", "y", "-1y", "99999y", "9999y"])
def test_a_bad_period_is_a_one_line_error(db, period):
    with pytest.raises(CommandError, match="--closed-older-than"):
        purge("--closed-older-than", period)


@pytest.mark.parametrize("size", ["0", str(10**30)])
def test_a_batch_size_out_of_range_is_a_one_line_error(aged, size):
    with pytest.raises(CommandError, match="--batch-size must be between 1 and"):
        purge("--batch-size", size)
    assert Ticket.objects.get(pk=aged[1].pk).subject == "Erin's laptop"


@pytest.mark.django_db
def test_failure_counts_older_than_30_days_are_deleted_recent_ones_kept() -> None:
    now = timezone.now().replace(second=0, microsecond=0)
    for days, ip in ((31, "192.0.2.1"), (29, "192.0.2.2")):
        FailureTally.objects.create(
            action="login_failed", username="x", ip=ip, minute=now - timedelta(days=days), count=4
        )

    assert "1 failure count(s) older than 30 days deleted; nothing changed" in purge("--dry-run")
    assert FailureTally.objects.count() == 2
    assert "deleted 1 failure count(s) older than 30 days" in purge()
    assert list(FailureTally.objects.values_list("ip", flat=True)) == ["192.0.2.2"]
