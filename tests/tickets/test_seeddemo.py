from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from tickets.models import Activity, Comment, Contact, Queue, Ticket

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
    raw = Ticket.objects.values_list("description", flat=True).first()
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
