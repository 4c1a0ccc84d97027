"""/metrics: Prometheus text for a bearer token or an allowed IP, nobody else."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from audit.events import record_event
from ops.models import BackupRun
from tickets.live.registry import registry
from tickets.models import Ticket

TOKEN = "m" * 20 + "etrics-token-for-tests"


@pytest.fixture
def metrics_settings(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.9.0.0/16")]
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = [ipaddress.ip_network("172.18.0.0/16")]
    return settings


def samples(response) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_it_requires_a_token_or_an_allowed_address(client, db, metrics_settings):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope", REMOTE_ADDR="203.0.113.5")
    assert wrong.status_code == 401
    assert b"ticketsystem_tickets" not in wrong.content


def test_a_bearer_token_opens_it(client, db, metrics_settings):
    response = client.get(
        "/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", REMOTE_ADDR="203.0.113.5"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")


def test_an_allowed_client_ip_through_our_proxy_opens_it(client, db, metrics_settings):
    # nginx appends the address it saw; anything the client put further left is ignored.
    allowed = client.get("/metrics", REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR="10.9.1.2")
    spoofed = client.get(
        "/metrics", REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR="10.9.1.2, 203.0.113.5"
    )
    assert allowed.status_code == 200
    assert spoofed.status_code == 401


def test_without_token_or_allow_list_it_is_closed(client, db, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = []
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_it_exposes_requests_tickets_security_backups_and_websockets(
    client, db, metrics_settings, ticket_a, ticket_b
):
    Ticket.objects.filter(pk=ticket_b.pk).update(due_at=timezone.now() - timedelta(hours=1))
    record_event("login_failed", username="mallory", ip="203.0.113.9")
    record_event("login_failed", username="mallory", ip="203.0.113.9")
    record_event("locked_out", username="mallory", ip="203.0.113.9")
    done = timezone.now() - timedelta(hours=2)
    BackupRun.objects.create(
        kind=BackupRun.Kind.BACKUP, name="x", started_at=done, finished_at=done, ok=True
    )
    cache.set("ws:open", 600)  # the old, drifting cache counter counts for nothing
    sockets = [object() for _ in range(3)]
    for n, socket in enumerate(sockets):
        assert registry.claim(socket, session_key=f"s{n}", user_id=n) is None
    client.get("/healthz")
    client.get("/no-such-page/")

    values = samples(client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"))

    assert values[("ticketsystem_tickets", (("status", "new"),))] == 2
    assert values[("ticketsystem_tickets", (("status", "closed"),))] == 0
    assert values[("ticketsystem_sla_breaches", ())] == 1
    assert values[("ticketsystem_failed_logins_15m", ())] == 2
    assert values[("ticketsystem_lockouts_15m", ())] == 1
    assert 7190 < values[("ticketsystem_backup_age_seconds", ())] < 7300
    assert values[("ticketsystem_restore_drill_age_seconds", ())] == float("inf")
    assert values[("ticketsystem_websockets_open", ())] == 3
    for socket in sockets:
        registry.release(socket)
    after = samples(client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"))
    assert after[("ticketsystem_websockets_open", ())] == 0
    assert values[("ticketsystem_database_up", ())] == 1
    healthz = (("method", "GET"), ("status", "200"), ("view", "healthz"))
    assert values[("ticketsystem_http_requests_total", healthz)] >= 1
    assert (
        "ticketsystem_http_requests_total",
        (("method", "GET"), ("status", "404"), ("view", "unresolved")),
    ) in values
    assert values[("ticketsystem_http_request_duration_seconds_count", (("view", "healthz"),))] >= 1
    cache.delete("ws:open")


def test_it_never_uses_raw_paths_as_labels(client, db, metrics_settings, agent_client, ticket_a):
    agent_client.get(f"/tickets/{ticket_a.reference}/")
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    assert 'view="ticket_detail"' in text
    assert ticket_a.reference not in text
