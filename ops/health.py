"""Health checks shared by /readyz, manage.py monitor, securitycheck and the managers' page.

Each check returns a CheckResult: ``ok`` True/False, or None when it could not be evaluated
(for instance a database-backed rule while the database is down). Summaries are short,
carry no secrets or host names, and are safe to show in alerts and to managers.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool | None
    summary: str
    value: float | None = None

    @property
    def state(self) -> str:
        return {True: "ok", False: "failing", None: "unknown"}[self.ok]


def check_database() -> CheckResult:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        connection.close()
        return CheckResult("database", False, "the database does not answer")
    return CheckResult("database", True, "the database answers")


def check_redis() -> CheckResult:
    """Redis (channel layer and cache) answers PING; without REDIS_URL there is nothing to reach."""
    if not settings.REDIS_URL:
        return CheckResult("redis", True, "not configured (in-memory channel layer)")
    import redis

    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=3, socket_connect_timeout=3
        )
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return CheckResult("redis", False, "Redis does not answer")
    return CheckResult("redis", True, "Redis answers")


_migrations_applied = False


def check_migrations() -> CheckResult:
    """All migrations applied. Once true it stays true for this process (new code = new process)."""
    global _migrations_applied
    if _migrations_applied:
        return CheckResult("migrations", True, "all migrations applied")
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError:
        return CheckResult("migrations", None, "unknown (database unavailable)")
    if pending:
        return CheckResult(
            "migrations", False, f"{len(pending)} migrations not applied", len(pending)
        )
    _migrations_applied = True
    return CheckResult("migrations", True, "all migrations applied", 0)


def disk_paths() -> list[tuple[str, Path]]:
    paths = [("data", Path(settings.DATA_DIR)), ("backups", Path(settings.BACKUP_DIR))]
    return [(label, path) for label, path in paths if path.exists()]


def check_disk() -> CheckResult:
    """Free space where data and backups live, against MONITOR_DISK_MIN_FREE_PERCENT."""
    minimum = settings.MONITOR_DISK_MIN_FREE_PERCENT
    worst: tuple[float, str] | None = None
    for label, path in disk_paths():
        usage = shutil.disk_usage(path)
        free = 100.0 * usage.free / usage.total if usage.total else 0.0
        if worst is None or free < worst[0]:
            worst = (free, label)
    if worst is None:
        return CheckResult("disk", None, "no data directory to measure")
    free, label = worst
    summary = f"{free:.1f}% free on the {label} disk (minimum {minimum}%)"
    return CheckResult("disk", free >= minimum, summary, round(free, 1))


def _age_text(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def check_backup_age() -> CheckResult:
    from ops.models import BackupRun

    limit = timedelta(hours=settings.BACKUP_MAX_AGE_HOURS)
    try:
        last = (
            BackupRun.objects.filter(kind=BackupRun.Kind.BACKUP, ok=True)
            .order_by("-finished_at")
            .first()
        )
    except DatabaseError:
        return CheckResult("backup_age", None, "unknown (database unavailable)")
    if last is None:
        return CheckResult("backup_age", False, "no successful backup yet")
    age = timezone.now() - last.finished_at
    summary = f"last good backup {_age_text(age)} ago (limit {settings.BACKUP_MAX_AGE_HOURS} h)"
    return CheckResult("backup_age", age <= limit, summary, round(age.total_seconds()))


def check_restore_drill() -> CheckResult:
    """The latest restore drill passed, and one ran within BACKUP_DRILL_MAX_AGE_DAYS."""
    from ops.models import BackupRun

    try:
        last = BackupRun.objects.filter(kind=BackupRun.Kind.VERIFY).order_by("-finished_at").first()
        last_ok = (
            BackupRun.objects.filter(kind=BackupRun.Kind.VERIFY, ok=True)
            .order_by("-finished_at")
            .first()
        )
        first_backup = (
            BackupRun.objects.filter(kind=BackupRun.Kind.BACKUP, ok=True)
            .order_by("finished_at")
            .first()
        )
    except DatabaseError:
        return CheckResult("restore_drill", None, "unknown (database unavailable)")
    if last is not None and not last.ok:
        return CheckResult(
            "restore_drill", False, f"the last restore drill failed: {last.message}"[:300]
        )
    limit = timedelta(days=settings.BACKUP_DRILL_MAX_AGE_DAYS)
    now = timezone.now()
    if last_ok is None:
        # A new installation gets a grace period of one drill interval after its first backup.
        if first_backup is not None and now - first_backup.finished_at > limit:
            return CheckResult("restore_drill", False, "no restore drill has ever passed")
        return CheckResult("restore_drill", True, "no restore drill yet")
    age = now - last_ok.finished_at
    summary = f"last restore drill passed {_age_text(age)} ago"
    return CheckResult("restore_drill", age <= limit, summary, round(age.total_seconds()))


def _security_count(name: str, action: str, threshold: int, what: str) -> CheckResult:
    from audit.tally import failure_count

    since = timezone.now() - timedelta(minutes=15)
    try:
        count = failure_count(action, since)
    except DatabaseError:
        return CheckResult(name, None, "unknown (database unavailable)")
    summary = f"{count} {what} in the last 15 minutes (threshold {threshold})"
    return CheckResult(name, count <= threshold, summary, count)


def check_failed_logins() -> CheckResult:
    return _security_count(
        "failed_logins", "login_failed", settings.MONITOR_FAILED_LOGINS_THRESHOLD, "failed logins"
    )


def check_lockouts() -> CheckResult:
    return _security_count(
        "lockouts", "locked_out", settings.MONITOR_LOCKOUTS_THRESHOLD, "lockouts"
    )


def check_audit_chain() -> CheckResult:
    """The chain verifies and reaches the heads anchored outside it (ops/audit_anchors.py);
    ``value`` is the last verified seq."""
    from ops.audit_anchors import verify_anchored

    try:
        result, problem, _ = verify_anchored()
    except DatabaseError:
        return CheckResult("audit_chain", None, "unknown (database unavailable)")
    if not result.ok:
        return CheckResult(
            "audit_chain", False, f"broken at event #{result.first_bad_seq}: {result.reason}"
        )
    if problem:
        return CheckResult("audit_chain", False, problem)
    return CheckResult("audit_chain", True, f"{result.checked} events verified", result.last_seq)


def check_sla_breaches() -> CheckResult:
    from tickets.models import ACTIVE_STATUSES, Ticket

    threshold = settings.MONITOR_SLA_BREACHES_THRESHOLD
    try:
        count = Ticket.objects.filter(status__in=ACTIVE_STATUSES, due_at__lt=timezone.now()).count()
    except DatabaseError:
        return CheckResult("sla_breaches", None, "unknown (database unavailable)")
    summary = f"{count} active tickets past their due time (threshold {threshold})"
    return CheckResult("sla_breaches", count <= threshold, summary, count)


def check_mail_quarantine() -> CheckResult:
    from tickets.mail.inbound_models import InboundMessage

    threshold = settings.MONITOR_MAIL_QUARANTINE_THRESHOLD
    try:
        count = InboundMessage.objects.filter(status=InboundMessage.Status.QUARANTINED).count()
    except DatabaseError:
        return CheckResult("mail_quarantine", None, "unknown (database unavailable)")
    summary = f"{count} received mails wait in quarantine (threshold {threshold})"
    return CheckResult("mail_quarantine", count <= threshold, summary, count)


# The monitor's rules by name, in the order alerts list them.
MONITOR_CHECKS: dict[str, Callable[[], CheckResult]] = {
    "database": check_database,
    "redis": check_redis,
    "disk": check_disk,
    "backup_age": check_backup_age,
    "restore_drill": check_restore_drill,
    "failed_logins": check_failed_logins,
    "lockouts": check_lockouts,
    "audit_chain": check_audit_chain,
    "sla_breaches": check_sla_breaches,
    "mail_quarantine": check_mail_quarantine,
}
MONITOR_CHECK_NAMES = list(MONITOR_CHECKS)
DATABASE_RULES = set(MONITOR_CHECK_NAMES) - {"database", "redis", "disk"}


def run_monitor_checks() -> list[CheckResult]:
    """Every monitor rule; database-backed rules are skipped (unknown) while it is down."""
    results = [check_database()]
    database_up = results[0].ok
    for name, check in MONITOR_CHECKS.items():
        if name == "database":
            continue
        if not database_up and name in DATABASE_RULES:
            # Not even tried: each attempt could wait for a connect timeout.
            results.append(CheckResult(name, None, "unknown (database unavailable)"))
        else:
            results.append(check())
    return results


def readiness() -> tuple[str, dict[str, Any]]:
    """/readyz: "ready", "degraded" (Redis down: pages and writes work, live updates and the
    shared throttle do not) or "not ready". Backup age is reported but never gates it."""
    checks = [check_database(), check_redis(), check_migrations(), check_disk()]
    gating = [check for check in checks if check.name != "redis"]
    if checks[0].ok is not True or any(check.ok is False for check in gating):
        status = "not ready"
    else:
        status = "degraded" if checks[1].ok is False else "ready"
    details: dict[str, Any] = {
        check.name: {"ok": check.ok, "detail": check.summary} for check in checks
    }
    details["channel_layer"] = details.pop("redis")
    backup = check_backup_age() if checks[0].ok else CheckResult("backup_age", None, "unknown")
    # Informational: a stale backup needs a person, not a load balancer pulling every node.
    details["backup_age"] = {"ok": backup.ok, "detail": backup.summary, "gates_readiness": False}
    return status, details
