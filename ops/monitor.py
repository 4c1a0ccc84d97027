"""manage.py monitor: evaluate the rules, alert on changes, at most once per cooldown.

One state per rule, kept in two places: MonitorCheck rows in the database (what the
managers' page shows, shared by every host) and MONITOR_STATE_FILE (what remains while the
database is down). Every run writes the whole state to the file, and to the database when
it answers; each record carries when it was checked, and the newer record is the rule's
state. So an outage neither forgets a rule that was already firing (no duplicate FIRING) nor
revives one that recovered meanwhile (no spurious RESOLVED): the file's newer records are
written back when the database returns. A failing rule alerts when it starts failing and
again after each cooldown while it stays failing; a rule that recovers sends one "resolved".

The file also keeps the audit chain head the last healthy run verified (ops/audit_anchors).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import DatabaseError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit.chain import find_seq_hash
from ops import services
from ops.audit_anchors import STATE_KEY, parse_head
from ops.health import CheckResult, run_monitor_checks
from ops.models import MonitorCheck


@dataclass
class Alert:
    check: str
    status: str  # "firing" or "resolved"
    summary: str
    since: datetime

    def line(self) -> str:
        return f"[{self.status.upper()}] {self.check}: {self.summary}"


@dataclass
class MonitorRun:
    results: list[CheckResult]
    alerts: list[Alert] = field(default_factory=list)
    delivered: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    state_error: str | None = None


class AlertDeliveryError(Exception):
    pass


@dataclass
class _State:
    failing: bool
    since: datetime
    last_alert_at: datetime | None
    checked_at: datetime | None = None  # None: older than any record that has one
    summary: str = ""


def _aware(text: Any) -> datetime | None:
    value = parse_datetime(text) if isinstance(text, str) else None
    return value if value is not None and value.tzinfo is not None else None


def _newer(a: _State | None, b: _State | None) -> _State | None:
    """The more recently checked of two records of one rule (the file's on a tie)."""
    if a is None or b is None:
        return a or b
    if b.checked_at is not None and (a.checked_at is None or b.checked_at > a.checked_at):
        return b
    return a


class FileStateStore:
    """MONITOR_STATE_FILE: every rule's state, and the last verified audit chain head."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.audit_head: dict[str, Any] | None = None

    def load(self) -> dict[str, _State]:
        """The saved states; a damaged file or entry counts as no state (never a crash)."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return {}
        if not isinstance(raw, dict):
            return {}
        head = parse_head(raw.pop(STATE_KEY, None))
        self.audit_head = {"seq": head[0], "hash": head[1]} if head else None
        states = {}
        for name, item in raw.items():
            with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):
                since = _aware(item["since"])
                if since is not None:
                    states[name] = _State(
                        bool(item["failing"]),
                        since,
                        _aware(item.get("last_alert_at")),
                        _aware(item.get("checked_at")),
                        str(item.get("summary") or "")[:300],
                    )
        return states

    def save(self, states: dict[str, _State]) -> None:
        data: dict[str, Any] = {
            name: {
                "failing": state.failing,
                "since": state.since.isoformat(),
                "last_alert_at": state.last_alert_at.isoformat() if state.last_alert_at else None,
                "checked_at": state.checked_at.isoformat() if state.checked_at else None,
                "summary": state.summary,
            }
            for name, state in states.items()
        }
        if self.audit_head:
            data[STATE_KEY] = self.audit_head
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(f".{self.path.name}.tmp")
        temp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        os.replace(temp, self.path)


def _decide(
    result: CheckResult, previous: _State | None, now: datetime
) -> tuple[Alert | None, _State]:
    cooldown = timedelta(minutes=settings.MONITOR_COOLDOWN_MINUTES)
    failing = result.ok is False
    was_failing = previous is not None and previous.failing
    since = previous.since if previous is not None and was_failing == failing else now
    last_alert = previous.last_alert_at if previous is not None else None
    alert = None
    if failing and (not was_failing or last_alert is None or now - last_alert >= cooldown):
        alert = Alert(result.name, "firing", result.summary, since)
    elif not failing and was_failing:
        alert = Alert(result.name, "resolved", result.summary, since)
    state = _State(failing, since, now if alert else last_alert, now, result.summary[:300])
    return alert, state


def _database_states() -> dict[str, _State] | None:
    """The rules' rows, or None when the database cannot be read."""
    try:
        return {
            row.name: _State(
                row.failing, row.since, row.last_alert_at, row.last_checked_at, row.summary
            )
            for row in MonitorCheck.objects.all()
        }
    except DatabaseError:
        return None


def _verified_head(results: list[CheckResult]) -> dict[str, Any] | None:
    """The audit chain head this run verified (and found to reach every anchor)."""
    audit = next((r for r in results if r.name == "audit_chain"), None)
    if audit is None or audit.ok is not True or not audit.value:
        return None
    seq = int(audit.value)
    with contextlib.suppress(DatabaseError):
        digest = find_seq_hash(seq)
        if digest:
            return {"seq": seq, "hash": digest}
    return None


def run(*, dry_run: bool = False, now: datetime | None = None) -> MonitorRun:
    """Evaluate every rule, send the alerts due, remember what was sent."""
    now = now or timezone.now()
    results = run_monitor_checks()
    file_store = FileStateStore(Path(settings.MONITOR_STATE_FILE))
    states = file_store.load()
    db_states = _database_states() if results[0].ok is True else None
    for name, state in (db_states or {}).items():
        states[name] = _newer(states.get(name), state)
    report = MonitorRun(results)
    decisions: list[tuple[CheckResult, Alert | None, _State]] = []
    for result in results:
        if result.ok is None:
            continue  # unknown: keep the previous state, say nothing
        alert, state = _decide(result, states.get(result.name), now)
        decisions.append((result, alert, state))
        if alert:
            report.alerts.append(alert)
    if dry_run:
        return report
    if report.alerts:
        report.delivered, report.errors = deliver(report.alerts)
    sent = bool(report.delivered)
    for _result, alert, state in decisions:
        if alert and not sent:
            continue  # nothing got through: keep the old state so the next run tries again
        states[_result.name] = state
    if db_states is not None:
        # Write back every rule whose newest record is not the database's own (this run's
        # decisions, and what the file learnt while the database was down).
        with contextlib.suppress(DatabaseError):
            for name, state in states.items():
                if db_states.get(name) != state:
                    services.monitor_check_save(
                        name=name,
                        failing=state.failing,
                        summary=state.summary,
                        since=state.since,
                        checked_at=state.checked_at or now,
                        last_alert_at=state.last_alert_at,
                    )
    file_store.audit_head = _verified_head(results) or file_store.audit_head
    try:
        file_store.save(states)
    except OSError as exc:
        # Without it the database rule re-alerts every run: cron must hear about it.
        report.state_error = f"cannot save MONITOR_STATE_FILE {file_store.path}: {exc.strerror}"
    return report


def _message(alerts: list[Alert]) -> tuple[str, str]:
    host = socket.gethostname()
    firing = [a.check for a in alerts if a.status == "firing"]
    resolved = [a.check for a in alerts if a.status == "resolved"]
    parts = []
    if firing:
        parts.append(f"FIRING: {', '.join(firing)}")
    if resolved:
        parts.append(f"RESOLVED: {', '.join(resolved)}")
    subject = f"[ticketsystem {host}] {'; '.join(parts)}"
    body = "\n".join(alert.line() for alert in alerts)
    return subject, body


def deliver(alerts: list[Alert]) -> tuple[list[str], list[str]]:
    """Send one message per run to every configured channel; (delivered, errors)."""
    subject, body = _message(alerts)
    delivered, errors = [], []
    if settings.MONITOR_ALERT_EMAILS:
        try:
            send_mail(subject, body, None, settings.MONITOR_ALERT_EMAILS, fail_silently=False)
            delivered.append("email")
        except Exception as exc:  # smtplib raises OSError or SMTPException, Django ValueError
            errors.append(f"email: {type(exc).__name__}: {str(exc)[:120]}")
    if settings.MONITOR_WEBHOOK_URL:
        try:
            post_webhook(settings.MONITOR_WEBHOOK_URL, webhook_payload(subject, body, alerts))
            delivered.append("webhook")
        except AlertDeliveryError as exc:
            errors.append(f"webhook: {exc}")
    return delivered, errors


def webhook_payload(subject: str, body: str, alerts: list[Alert]) -> dict[str, Any]:
    """Slack/Mattermost/Matrix-hookshot read ``text``; the rest is for anything smarter."""
    statuses = {alert.status for alert in alerts}
    return {
        "text": f"{subject}\n{body}",
        "title": subject,
        "status": statuses.pop() if len(statuses) == 1 else "mixed",
        "host": socket.gethostname(),
        "alerts": [
            {
                "check": alert.check,
                "status": alert.status,
                "summary": alert.summary,
                "since": alert.since.isoformat(),
            }
            for alert in alerts
        ],
    }


def post_webhook(url: str, payload: dict[str, Any]) -> None:
    if not url.startswith(("https://", "http://")):
        raise AlertDeliveryError("MONITOR_WEBHOOK_URL must be http(s)")
    try:
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "ticketsystem-monitor"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=settings.MONITOR_WEBHOOK_TIMEOUT) as response:  # noqa: S310
            if not 200 <= response.status < 300:
                raise AlertDeliveryError(f"HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        raise AlertDeliveryError(f"HTTP {exc.code}") from None
    except (ValueError, http.client.InvalidURL):  # their text holds the URL: a secret
        raise AlertDeliveryError("MONITOR_WEBHOOK_URL is not a valid URL") from None
    except http.client.HTTPException as exc:  # a garbled answer
        raise AlertDeliveryError(f"not an HTTP answer ({type(exc).__name__})") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AlertDeliveryError(f"unreachable ({reason})") from None
