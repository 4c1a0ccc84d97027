"""manage.py securitycheck: a pass/fail table of this installation's security posture."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ops.security import run_all


class Command(BaseCommand):
    help = (
        "Run check --deploy, verify secrets are present, strong and kept in owner-only files, "
        "the backup key imports (and the restore key decrypts), the last backup is fresh and "
        "the audit chain verifies. Prints a table; exits non-zero on any failure."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        findings = run_all()
        width = max(len(f.name) for f in findings)
        self.stdout.write(f"{'RESULT':<6}  {'CHECK':<{width}}  DETAIL")
        for finding in findings:
            result = "pass" if finding.ok else "FAIL"
            line = f"{result:<6}  {finding.name:<{width}}  {finding.detail}"
            self.stdout.write(self.style.SUCCESS(line) if finding.ok else self.style.ERROR(line))
        failed = [f.name for f in findings if not f.ok]
        if failed:
            raise CommandError(
                f"{len(failed)} of {len(findings)} security checks failed: {', '.join(failed)}"
            )
        self.stdout.write(f"all {len(findings)} security checks passed")
