from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from tickets.models import Activity, Comment, Contact, Queue, Ticket, TicketBody

pytestmark = pytest.mark.django_db


def test_it_seeds_realistic_data_with_encrypted_personal_fields(capsys):
    call_command("seeddemo", tickets=300, agents=4, batch_size=100)
    assert Ticket.objects.count() == 300
    assert Queue.objects.count() == 6
    assert Contact.objects.count() == 60
    assert Comment.objects.exists()
    assert Activity.objects.filter(verb="created").count() == 300
    assert set(Ticket.objects.values_list("status", flat=True)) >= {"new", "open", "closed"}
    ticket = Ticket.objects.exclude(contact=None).first()
    assert ticket.description and "@example.com" in ticket.contact.email
    raw = TicketBody.objects.values_list("description", flat=True).first()
    assert TicketBody.objects.count() == 300
    assert raw.startswith("$v1$")
    assert "seeded 300 tickets" in capsys.readouterr().out


def test_seeded_agents_have_no_usable_password():
    call_command("seeddemo", tickets=10, agents=2)
    from django.contrib.auth import get_user_model

    assert not any(u.has_usable_password() for u in get_user_model().objects.all())


@pytest.mark.parametrize("args", [{"tickets": 0}, {"tickets": -5}, {"agents": 0}])
def test_it_rejects_bad_counts(args):
    with pytest.raises(CommandError):
        call_command("seeddemo", **args)
    assert not Ticket.objects.exists()


def test_it_refuses_production_without_explicit_consent(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="refusing to add demo data in production"):
        call_command("seeddemo", tickets=5)


def test_seeded_tickets_carry_the_due_dates_and_history_the_services_would_give():
    call_command("seeddemo", tickets=200, agents=4)
    for ticket in Ticket.objects.select_related("queue"):
        response, resolution = ticket.queue.sla_for(ticket.priority)
        assert ticket.due_at == ticket.created_at + resolution
        if ticket.first_response_at is None:
            assert ticket.response_due_at == ticket.created_at + response
        else:
            assert ticket.response_due_at is None
            assert ticket.created_at <= ticket.first_response_at <= ticket.created_at + response
    created = Activity.objects.filter(verb="created").select_related("ticket")
    assert all(
        (a.queue_id, a.new_value, a.created_at)
        == (a.ticket.queue_id, a.ticket.subject, a.ticket.created_at)
        for a in created
    )
    changed = Activity.objects.filter(verb="status").select_related("ticket")
    assert changed.count() == Ticket.objects.exclude(status="new").count()
    assert all(
        (a.queue_id, a.old_value, a.new_value, a.created_at)
        == (a.ticket.queue_id, "New", a.ticket.get_status_display(), a.ticket.updated_at)
        for a in changed
    )


def test_it_seeds_the_tag_vocabulary_and_tags_a_share_of_the_tickets(capsys):
    from tickets.organising_models import Tag

    call_command("seeddemo", tickets=400, agents=3, batch_size=150)
    assert sorted(Tag.objects.values_list("slug", flat=True)) == [
        "billing",
        "bug",
        "feature-request",
        "gdpr",
        "hardware",
        "onboarding",
        "urgent-customer",
        "vpn",
    ]
    tagged = Ticket.objects.filter(tags__isnull=False).distinct().count()
    assert 0.2 * 400 < tagged < 0.5 * 400
    assert all(tag.tickets.exists() for tag in Tag.objects.all())
    assert f"({tagged} tagged)" in capsys.readouterr().out
    # A tag reaches its tickets both ways.
    vpn = Tag.objects.get(slug="vpn")
    assert Ticket.objects.filter(tags=vpn).count() == vpn.tickets.count() > 0


def test_seeding_twice_keeps_one_vocabulary():
    from tickets.organising_models import Tag

    call_command("seeddemo", tickets=20, agents=2)
    call_command("seeddemo", tickets=20, agents=2)
    assert Tag.objects.count() == 8


def test_seeded_agents_have_names_to_show():
    from django.contrib.auth import get_user_model

    call_command("seeddemo", tickets=5, agents=3)
    agents = (
        get_user_model()
        .objects.filter(username__startswith="demo.")
        .exclude(username="demo.manager")
    )
    assert [a.get_full_name() for a in agents.order_by("id")] == [
        "Anna Schmidt",
        "Ben Novak",
        "Chiara Rossi",
    ]
