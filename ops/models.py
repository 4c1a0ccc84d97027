"""What the operations jobs remember: backup runs and the monitor's alert state."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class BackupRun(models.Model):
    """One run of backup, verifybackup or restorebackup, successful or not."""

    class Kind(models.TextChoices):
        BACKUP = "backup", _("Backup")
        VERIFY = "verify", _("Restore drill")
        RESTORE = "restore", _("Restore")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=200, blank=True, help_text="The backup set's name")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    ok = models.BooleanField()
    engine = models.CharField(max_length=20, blank=True)
    size = models.BigIntegerField(default=0, help_text="Bytes written (backup) or read")
    message = models.CharField(max_length=500, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-finished_at", "-id"]
        indexes = [models.Index(fields=["kind", "ok", "-finished_at"], name="backuprun_latest")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name or '-'} {'ok' if self.ok else 'failed'}"

    @property
    def duration_seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


class MonitorCheck(models.Model):
    """The last known state of one monitor rule, for deduplicated alerts."""

    name = models.CharField(max_length=40, unique=True)
    failing = models.BooleanField(default=False)
    summary = models.CharField(max_length=300, blank=True)
    since = models.DateTimeField(help_text="When the check last changed state")
    last_checked_at = models.DateTimeField()
    last_alert_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}: {'failing' if self.failing else 'ok'}"
