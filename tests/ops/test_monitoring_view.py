"""The managers' monitoring page."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from ops.models import BackupRun, MonitorCheck


def test_it_shows_each_check_and_the_last_backups(manager_client):
    now = timezone.now()
    MonitorCheck.objects.create(
        name="backup_age",
        failing=True,
        summary="last good backup 30.0 h ago (limit 26 h)",
        since=now,
        last_checked_at=now,
        last_alert_at=now,
    )
    MonitorCheck.objects.create(
        name="disk", failing=False, summary="80.0% free", since=now, last_checked_at=now
    )
    BackupRun.objects.create(
        kind=BackupRun.Kind.BACKUP,
        name="ticketsystem-20250101T020000Z",
        started_at=now - timedelta(seconds=12),
        finished_at=now,
        ok=True,
        size=2048,
    )
    BackupRun.objects.create(
        kind=BackupRun.Kind.VERIFY,
        name="ticketsystem-20250101T020000Z",
        started_at=now,
        finished_at=now,
        ok=False,
        message="row count mismatch in x",
    )

    response = manager_client.get("/ops/monitoring/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "last good backup 30.0 h ago" in html
    assert "ops-failing" in html and "not checked yet" in html  # e.g. audit_chain
    assert "ticketsystem-20250101T020000Z" in html and "2.0\xa0KB" in html
    assert "row count mismatch in x" in html
    assert "The monitor last ran" not in html


def test_it_warns_when_the_monitor_has_not_run_lately(manager_client):
    old = timezone.now() - timedelta(hours=1)
    MonitorCheck.objects.create(name="disk", since=old, last_checked_at=old)
    html = manager_client.get("/ops/monitoring/").content.decode()
    assert "The monitor last ran <time" in html and "1\xa0hour ago</time>" in html


def test_agents_may_not_see_it(agent_client):
    assert agent_client.get("/ops/monitoring/").status_code == 403


def test_anonymous_users_are_sent_to_login(client, db):
    response = client.get("/ops/monitoring/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
