"""One relative time format, with the absolute local time on hover."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tickets import services
from tickets.models import Ticket
from tickets.templatetags.timefmt import due_text, relative, reltime

AT = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_it_says_the_largest_unit_only():
    assert relative(AT - timedelta(days=362), AT) == "11\xa0months ago"
    assert relative(AT - timedelta(hours=2, minutes=30), AT) == "2\xa0hours ago"
    assert relative(AT - timedelta(seconds=20), AT) == "just now"
    assert relative(AT + timedelta(minutes=5), AT) == "in 5\xa0minutes"
    assert due_text(AT - timedelta(days=362), AT) == "overdue 11\xa0months"
    assert due_text(AT + timedelta(minutes=30), AT) == "due in 30\xa0minutes"


def test_the_time_element_carries_the_moment_and_the_local_time(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    html = str(reltime(AT))
    assert html.startswith(f'<time datetime="{AT.isoformat()}" title="')
    assert 'title="Dec. 5, 2026, 1 p.m."' in html  # 12:00 UTC is 1 p.m. in Berlin


@pytest.mark.django_db
def test_dashboard_and_list_say_the_same_overdue_time(agent_client, agent, queue_a):
    from django.utils import timezone

    t = services.ticket_create(actor=agent, queue=queue_a, subject="Late")
    Ticket.objects.filter(pk=t.pk).update(due_at=timezone.now() - timedelta(days=362))
    dashboard = agent_client.get("/dashboard/").content.decode()
    listing = agent_client.get("/tickets/").content.decode()
    assert "overdue 11\xa0months" in dashboard and "overdue 11\xa0months" in listing
    assert "362 days" not in dashboard and "362\xa0days" not in dashboard
