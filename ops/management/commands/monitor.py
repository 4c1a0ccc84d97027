"""manage.py monitor: our own monitoring and alerting, for cron every 5 minutes."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops import monitor


class Command(BaseCommand):
    help = (
        "Check backups, restore drills, failed logins and lockouts, database, Redis, disk, "
        "the audit chain and SLA breaches; alert by email and/or webhook when a check starts "
        "failing (again after MONITOR_COOLDOWN_MINUTES) and when it recovers. Exits non-zero "
        "only when an alert could not be delivered or its state not saved, so cron mail never "
        "duplicates alerts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print the checks and the alerts that would be sent; send and store nothing.",
        )

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        if not dry_run and not (settings.MONITOR_ALERT_EMAILS or settings.MONITOR_WEBHOOK_URL):
            raise CommandError(
                "no alert channel: set MONITOR_ALERT_EMAILS and/or MONITOR_WEBHOOK_URL(_FILE)"
            )
        report = monitor.run(dry_run=dry_run)
        verbose = dry_run or options["verbosity"] > 1
        if verbose:
            for result in report.results:
                self.stdout.write(f"{result.name:<14} {result.state:<8} {result.summary}")
        for alert in report.alerts:
            prefix = "would send" if dry_run else "alert"
            self.stdout.write(f"{prefix}: {alert.line()}")
        problems = [report.state_error] if report.state_error else []
        if report.errors:
            problems.insert(
                0,
                f"alert delivery failed ({'; '.join(report.errors)})"
                + ("; delivered by " + ", ".join(report.delivered) if report.delivered else ""),
            )
        if problems:
            raise CommandError("; ".join(problems))
