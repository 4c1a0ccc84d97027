"""/healthz and /readyz: open to monitoring without a login, terse, 503 when not ready."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ops import health
from ops.models import BackupRun


def test_healthz_answers_without_login_or_database(client):
    # No db fixture: any database access here would raise.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_answers_head_for_uptime_checkers_and_refuses_post(client):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_readyz_is_ready_when_database_redis_migrations_and_disk_are(
    client, db, settings, tmp_path
):
    settings.DATA_DIR = tmp_path
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["channel_layer"]["ok"] is True
    assert body["checks"]["migrations"]["ok"] is True
    assert body["checks"]["disk"]["ok"] is True


def test_readyz_reports_backup_age_without_gating_on_it(client, db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    stale = timezone.now() - timedelta(hours=30)
    BackupRun.objects.create(
        kind=BackupRun.Kind.BACKUP, name="x", started_at=stale, finished_at=stale, ok=True
    )
    body = client.get("/readyz").json()
    assert body["status"] == "ready"
    assert body["checks"]["backup_age"]["ok"] is False
    assert body["checks"]["backup_age"]["gates_readiness"] is False
    assert "30.0 h ago" in body["checks"]["backup_age"]["detail"]


def test_readyz_is_degraded_but_serving_when_redis_is_unreachable(client, db, settings, tmp_path):
    # Pages, writes and search work without Redis: pulling every node would be an outage.
    settings.DATA_DIR = tmp_path
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["channel_layer"] == {
        "ok": False,
        "detail": "Redis does not answer",
    }


def test_readyz_shows_details_only_to_allowed_addresses_or_the_token(
    client, db, settings, tmp_path
):
    settings.DATA_DIR = tmp_path
    settings.METRICS_TOKEN = "t" * 40
    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.9.0.0/16")]
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = [ipaddress.ip_network("127.0.0.1/32")]
    stranger = client.get("/readyz", REMOTE_ADDR="203.0.113.5")
    assert stranger.status_code == 200
    assert stranger.json() == {"status": "ready"}
    # A client reaching the app directly cannot claim an allowed address.
    spoofed = client.get("/readyz", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="10.9.0.1")
    assert "checks" not in spoofed.json()
    via_proxy = client.get("/readyz", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.9.0.1")
    assert via_proxy.json()["checks"]["database"]["ok"] is True
    token = client.get(
        "/readyz", REMOTE_ADDR="203.0.113.5", HTTP_AUTHORIZATION="Bearer " + "t" * 40
    )
    assert token.json()["checks"]["migrations"]["ok"] is True


def test_readyz_is_503_when_the_disk_is_nearly_full(client, db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.MONITOR_DISK_MIN_FREE_PERCENT = 100
    assert client.get("/readyz").status_code == 503


def test_readyz_is_503_with_unapplied_migrations(client, db, settings, tmp_path, monkeypatch):
    settings.DATA_DIR = tmp_path
    monkeypatch.setattr(health, "_migrations_applied", False)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = 'ops'")
    body = client.get("/readyz")
    assert body.status_code == 503
    assert body.json()["checks"]["migrations"]["detail"] == "1 migrations not applied"


def test_readyz_does_not_leak_connection_details(client, db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.REDIS_URL = "redis://:hunter2@127.0.0.1:1/0"
    text = client.get("/readyz").content.decode()
    assert "hunter2" not in text and "127.0.0.1" not in text


def test_readyz_checks_migrations_once_per_process(client, db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    client.get("/readyz")
    with CaptureQueriesContext(connection) as queries:
        client.get("/readyz")
    assert not any("django_migrations" in q["sql"] for q in queries.captured_queries)
