"""One relative time format, with the absolute local time on hover."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone, translation

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


def test_german_says_it_in_the_dative_with_a_formal_word_order():
    with translation.override("de"):
        assert relative(AT - timedelta(days=3), AT) == "vor 3\xa0Tagen"
        assert relative(AT - timedelta(days=1, hours=2), AT) == "vor 1\xa0Tag"
        assert relative(AT - timedelta(seconds=20), AT) == "gerade eben"
        assert relative(AT + timedelta(hours=2), AT) == "in 2\xa0Stunden"
        assert due_text(AT - timedelta(days=362), AT) == "seit 11\xa0Monaten überfällig"
        assert due_text(AT + timedelta(minutes=1), AT) == "fällig in 1\xa0Minute"


def test_a_german_reader_in_berlin_sees_german_dates_in_berlin_time(settings):
    with translation.override("de"), timezone.override(zoneinfo.ZoneInfo("Europe/Berlin")):
        html = str(reltime(AT))
    assert 'title="5. Dezember 2026 13:00"' in html


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
