"""Project-wide middleware: NUL in request headers."""

from __future__ import annotations

import pytest

from audit.models import SecurityEvent

pytestmark = pytest.mark.django_db

NUL_AGENT = {"HTTP_USER_AGENT": "evil\x00agent"}


def test_a_nul_in_a_header_becomes_a_space_before_anything_sees_it(agent_client):
    response = agent_client.get("/audit/", **NUL_AGENT)
    assert response.status_code == 403
    assert response.wsgi_request.META["HTTP_USER_AGENT"] == "evil agent"
    assert SecurityEvent.objects.get(action="access_denied").user_agent == "evil agent"


def test_headers_without_nul_are_left_alone(agent_client):
    response = agent_client.get("/tickets/", HTTP_USER_AGENT="Mozilla/5.0\ttab")
    assert response.wsgi_request.META["HTTP_USER_AGENT"] == "Mozilla/5.0\ttab"
