"""Project-wide middleware: NUL in request headers."""

from __future__ import annotations

import pytest

from audit.models import SecurityEvent

pytestmark = pytest.mark.django_db


def test_a_nul_in_a_header_becomes_a_space_before_anything_stores_it(agent_client):
    # An agent on the audit pages is refused, and the refusal is an audit event holding the
    # user agent: PostgreSQL refuses NUL in text, so that used to be a 500.
    response = agent_client.get("/audit/", HTTP_USER_AGENT="evil\x00agent")
    assert response.status_code == 403
    event = SecurityEvent.objects.get(action="access_denied")
    assert event.user_agent == "evil agent"


def test_headers_without_nul_are_left_alone(agent_client):
    response = agent_client.get("/tickets/", HTTP_USER_AGENT="Mozilla/5.0\ttab")
    assert response.wsgi_request.META["HTTP_USER_AGENT"] == "Mozilla/5.0\ttab"
