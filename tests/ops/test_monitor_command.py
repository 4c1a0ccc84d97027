"""manage.py monitor: rules, deduplicated alerts by email and webhook, resolved messages."""

from __future__ import annotations

import io
import json
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from audit.events import record_event
from audit.models import SecurityEvent
from ops import monitor
from ops.models import BackupRun, MonitorCheck
from tests.ops.conftest import tampering
from tickets.models import Ticket


class Hook:
    """A local HTTP server standing in for Slack/Matrix/ntfy: records every POSTed JSON."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                hook.received.append(json.loads(self.rfile.read(length)))
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    server = Hook()
    yield server
    server.close()


@pytest.fixture
def monitoring(settings, tmp_path, hook):
    settings.MONITOR_ALERT_EMAILS = ["oncall@example.org"]
    settings.MONITOR_WEBHOOK_URL = hook.url
    settings.MONITOR_STATE_FILE = tmp_path / "monitor-state.json"
    settings.MONITOR_COOLDOWN_MINUTES = 60
    settings.MONITOR_FAILED_LOGINS_THRESHOLD = 3
    settings.MONITOR_LOCKOUTS_THRESHOLD = 0
    settings.MONITOR_SLA_BREACHES_THRESHOLD = 0
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.DATA_DIR = tmp_path
    return settings


def good_backup(hours_ago: float = 1) -> None:
    finished = timezone.now() - timedelta(hours=hours_ago)
    for kind in (BackupRun.Kind.BACKUP, BackupRun.Kind.VERIFY):
        BackupRun.objects.create(
            kind=kind, name="x", started_at=finished, finished_at=finished, ok=True
        )


def firing(hook: Hook) -> set[str]:
    return {a["check"] for a in hook.received[-1]["alerts"] if a["status"] == "firing"}


def test_all_is_quiet_when_everything_is_healthy(db, monitoring, hook):
    good_backup()
    call_command("monitor", stdout=io.StringIO())
    assert hook.received == [] and mail.outbox == []
    assert set(MonitorCheck.objects.values_list("name", flat=True)) >= {"backup_age", "audit_chain"}
    assert not MonitorCheck.objects.filter(failing=True).exists()


def test_a_stale_backup_alerts_by_email_and_webhook(db, monitoring, hook):
    good_backup(hours_ago=27)
    out = io.StringIO()
    call_command("monitor", stdout=out)
    assert "FIRING" in out.getvalue()
    assert firing(hook) == {"backup_age"}
    payload = hook.received[0]
    assert payload["status"] == "firing"
    assert "backup_age" in payload["text"] and "27.0 h ago" in payload["text"]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["oncall@example.org"]
    assert "FIRING: backup_age" in mail.outbox[0].subject


def test_no_backup_at_all_alerts(db, monitoring, hook):
    call_command("monitor", stdout=io.StringIO())
    assert "backup_age" in firing(hook)


def test_alerts_are_deduplicated_within_the_cooldown_and_repeated_after(db, monitoring, hook):
    good_backup(hours_ago=30)
    now = timezone.now()
    monitor.run(now=now)
    monitor.run(now=now + timedelta(minutes=5))
    monitor.run(now=now + timedelta(minutes=30))
    assert len(hook.received) == 1
    monitor.run(now=now + timedelta(minutes=61))
    assert len(hook.received) == 2
    assert len(mail.outbox) == 2


def test_a_recovered_check_sends_one_resolved_message(db, monitoring, hook):
    good_backup(hours_ago=30)
    monitor.run()
    good_backup(hours_ago=0)
    monitor.run()
    monitor.run()
    assert [p["status"] for p in hook.received] == ["firing", "resolved"]
    assert hook.received[1]["alerts"][0]["check"] == "backup_age"
    assert not MonitorCheck.objects.get(name="backup_age").failing


def test_a_failed_restore_drill_alerts(db, monitoring, hook):
    good_backup()
    now = timezone.now()
    BackupRun.objects.create(
        kind=BackupRun.Kind.VERIFY,
        name="x",
        started_at=now,
        finished_at=now,
        ok=False,
        message="row count mismatch in tickets_ticket",
    )
    monitor.run()
    assert firing(hook) == {"restore_drill"}
    assert "row count mismatch" in hook.received[0]["text"]


def test_failed_logins_and_lockouts_above_the_threshold_alert(db, monitoring, hook):
    good_backup()
    for _ in range(4):
        record_event("login_failed", username="mallory", ip="203.0.113.9")
    record_event("locked_out", username="mallory", ip="203.0.113.9")
    monitor.run()
    assert firing(hook) == {"failed_logins", "lockouts"}


def test_old_failed_logins_do_not_count(db, monitoring, hook):
    good_backup()
    for _ in range(5):
        record_event("login_failed", username="mallory", ip="203.0.113.9")
    # Re-stamping breaks their HMACs, so the (separately tested) chain rule fires instead.
    with tampering():
        SecurityEvent.objects.update(created_at=timezone.now() - timedelta(minutes=16))
    monitor.run()
    assert "failed_logins" not in firing(hook)


def test_a_broken_audit_chain_alerts(db, monitoring, hook):
    good_backup()
    record_event("login_succeeded", username="alice", ip="198.51.100.7")
    record_event("login_succeeded", username="alice", ip="198.51.100.7")
    with tampering():
        SecurityEvent.objects.filter(seq=1).update(resource="edited")
    monitor.run()
    assert firing(hook) == {"audit_chain"}
    assert "broken at event #1" in hook.received[0]["text"]


def test_sla_breaches_alert(db, monitoring, hook, ticket_a):
    good_backup()
    Ticket.objects.filter(pk=ticket_a.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    monitor.run()
    assert firing(hook) == {"sla_breaches"}


def test_low_disk_alerts(db, monitoring, hook):
    good_backup()
    monitoring.MONITOR_DISK_MIN_FREE_PERCENT = 100
    monitor.run()
    assert firing(hook) == {"disk"}


def test_unreachable_redis_alerts(db, monitoring, hook):
    good_backup()
    monitoring.REDIS_URL = "redis://127.0.0.1:1/0"
    monitor.run()
    assert firing(hook) == {"redis"}


def test_dry_run_prints_and_sends_nothing(db, monitoring, hook):
    out = io.StringIO()
    call_command("monitor", "--dry-run", stdout=out)
    assert "would send: [FIRING] backup_age" in out.getvalue()
    assert "audit_chain    ok" in out.getvalue()
    assert hook.received == [] and mail.outbox == []
    assert not MonitorCheck.objects.exists()


def test_a_failing_webhook_exits_non_zero_and_email_still_goes_out(db, monitoring, hook):
    hook.status = 500
    with pytest.raises(
        CommandError, match=r"alert delivery failed \(webhook: HTTP 500\); delivered by email"
    ):
        call_command("monitor", stdout=io.StringIO())
    assert len(mail.outbox) == 1


def test_when_nothing_is_delivered_the_alert_is_retried(db, monitoring, hook):
    monitoring.MONITOR_ALERT_EMAILS = []
    monitoring.MONITOR_WEBHOOK_URL = "http://127.0.0.1:1/nothing-listens"
    with pytest.raises(CommandError, match="webhook: unreachable"):
        call_command("monitor", stdout=io.StringIO())
    assert not MonitorCheck.objects.filter(name="backup_age").exists()
    monitoring.MONITOR_WEBHOOK_URL = hook.url
    call_command("monitor", stdout=io.StringIO())
    assert "backup_age" in firing(hook)


def test_it_refuses_to_run_without_an_alert_channel(db, monitoring):
    monitoring.MONITOR_ALERT_EMAILS = []
    monitoring.MONITOR_WEBHOOK_URL = ""
    with pytest.raises(CommandError, match="no alert channel"):
        call_command("monitor")


def test_an_unreachable_database_alerts_and_deduplicates_through_the_state_file(
    monitoring, hook, tmp_path
):
    import os

    from tests.ops.conftest import manage

    env = {
        **os.environ,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/nothing",
        "MONITOR_WEBHOOK_URL": hook.url,
        "MONITOR_STATE_FILE": str(tmp_path / "state.json"),
        "DATA_DIR": str(tmp_path),
    }
    first = manage("monitor", env=env)
    second = manage("monitor", env=env)
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert len(hook.received) == 1
    assert firing(hook) == {"database"}
    assert json.loads((tmp_path / "state.json").read_text())["database"]["failing"] is True


def test_a_state_file_that_cannot_be_saved_exits_non_zero_after_alerting(
    db, monitoring, hook, tmp_path
):
    (tmp_path / "a-file").write_text("")
    monitoring.MONITOR_STATE_FILE = tmp_path / "a-file" / "monitor-state.json"
    with pytest.raises(CommandError, match=r"^cannot save MONITOR_STATE_FILE .*a-file"):
        call_command("monitor", stdout=io.StringIO())
    assert "backup_age" in firing(hook)


@pytest.mark.parametrize(
    "url", ["http://hooks.example.org/T0/se cret", "http://[::1/T0/secret", "http://h/\nsecret"]
)
def test_a_malformed_webhook_url_fails_in_one_line_without_showing_it(db, monitoring, url):
    monitoring.MONITOR_ALERT_EMAILS = []
    monitoring.MONITOR_WEBHOOK_URL = url
    with pytest.raises(CommandError) as failure:
        call_command("monitor", stdout=io.StringIO())
    assert str(failure.value) == (
        "alert delivery failed (webhook: MONITOR_WEBHOOK_URL is not a valid URL)"
    )


def test_a_webhook_that_answers_garbage_is_a_delivery_failure(db, monitoring):
    import socket

    listener = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"garbage\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    monitoring.MONITOR_ALERT_EMAILS = []
    monitoring.MONITOR_WEBHOOK_URL = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    try:
        with pytest.raises(CommandError, match=r"webhook: not an HTTP answer \(BadStatusLine\)"):
            call_command("monitor", stdout=io.StringIO())
    finally:
        thread.join(timeout=10)
        listener.close()


def test_a_damaged_state_file_counts_as_no_state(db, monitoring, hook):
    good_backup()
    monitoring.MONITOR_STATE_FILE.write_text(
        json.dumps(
            {
                "database": {"failing": True, "since": "garbage", "last_alert_at": "nope"},
                "redis": {"failing": True, "since": None},
                "disk": {"failing": True, "since": "2026-01-01T00:00:00"},  # naive
                "backup_age": [],
                "lockouts": {"failing": True, "since": "2026-13-01T00:00:00+00:00"},
            }
        )
    )
    call_command("monitor", stdout=io.StringIO())
    assert hook.received == []  # nothing was failing, so nothing resolved either
    saved = json.loads(monitoring.MONITOR_STATE_FILE.read_text())
    assert saved["database"]["failing"] is False
    assert datetime.fromisoformat(saved["database"]["since"]).tzinfo is not None


def test_the_monitor_anchors_the_audit_head_and_alerts_when_the_table_is_emptied(
    db, monitoring, hook
):
    good_backup()
    record_event("login_succeeded", username="alice", ip="198.51.100.7")
    last = record_event("logout", username="alice", ip="198.51.100.7")
    monitor.run()
    saved = json.loads(monitoring.MONITOR_STATE_FILE.read_text())
    assert saved["audit_head"] == {"seq": last.seq, "hash": last.hash}
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_securityevent")
    monitor.run()
    assert firing(hook) == {"audit_chain"}
    assert f"is empty but the monitor state recorded seq {last.seq}" in hook.received[0]["text"]
    # The anchor stays where it was: the next run still sees the loss.
    saved = json.loads(monitoring.MONITOR_STATE_FILE.read_text())
    assert saved["audit_head"] == {"seq": last.seq, "hash": last.hash}


def _monitor_without_database(hook, tmp_path, **extra: str):
    import os

    from tests.ops.conftest import manage

    env = {
        **os.environ,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/nothing",
        "MONITOR_WEBHOOK_URL": hook.url,
        "MONITOR_STATE_FILE": str(tmp_path / "monitor-state.json"),
        "DATA_DIR": str(tmp_path),
        "MONITOR_COOLDOWN_MINUTES": "60",
        **extra,
    }
    env.pop("MONITOR_ALERT_EMAILS", None)
    result = manage("monitor", env=env)
    assert result.returncode == 0, result.stderr


def test_a_rule_firing_before_an_outage_does_not_fire_again_during_it(
    db, monitoring, hook, tmp_path
):
    good_backup()
    monitoring.MONITOR_DISK_MIN_FREE_PERCENT = 99
    monitor.run()
    assert firing(hook) == {"disk"}
    _monitor_without_database(hook, tmp_path, MONITOR_DISK_MIN_FREE_PERCENT="99")
    assert len(hook.received) == 2
    assert firing(hook) == {"database"}  # disk is still within its cooldown


def test_a_rule_that_recovered_during_an_outage_is_resolved_once(db, monitoring, hook, tmp_path):
    good_backup()
    monitoring.MONITOR_DISK_MIN_FREE_PERCENT = 99
    monitor.run()
    assert firing(hook) == {"disk"}
    _monitor_without_database(hook, tmp_path, MONITOR_DISK_MIN_FREE_PERCENT="1")
    assert {(a["check"], a["status"]) for a in hook.received[-1]["alerts"]} == {
        ("database", "firing"),
        ("disk", "resolved"),
    }
    monitoring.MONITOR_DISK_MIN_FREE_PERCENT = 1
    monitor.run()  # the database is back
    assert [(a["check"], a["status"]) for a in hook.received[-1]["alerts"]] == [
        ("database", "resolved")
    ]
    assert len(hook.received) == 3
    # Reconciled: the database now holds what the state file learnt during the outage.
    assert MonitorCheck.objects.get(name="disk").failing is False
    monitor.run()
    assert len(hook.received) == 3
