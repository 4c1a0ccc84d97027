"""The security event log: append-only and hash-chained, so tampering is evident."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SecurityEvent(models.Model):
    """One security-relevant event. Rows are never updated or deleted.

    ``hash`` is an HMAC-SHA256 (key AUDIT_HMAC_KEY) over the previous row's hash and this
    row's canonical content, including its sequence number: editing, deleting or inserting
    a row breaks the chain at that row (see audit/chain.py).
    """

    seq = models.BigIntegerField(unique=True, editable=False)
    created_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40, db_index=True)
    resource = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["action", "-created_at"], name="secevent_action"),
            models.Index(fields=["actor", "-created_at"], name="secevent_actor"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.actor_username or '-'}"


class FailureTally(models.Model):
    """Identical failures (same action, username and address) within one minute.

    The first of a minute is chained as a SecurityEvent (``seq``); the rest only raise
    ``count`` here, so a flood of failed logins cannot queue every request on the chain lock.
    Not chained: the chained row says a failure happened; this says how many.
    """

    action = models.CharField(max_length=40)
    username = models.CharField(max_length=150, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    minute = models.DateTimeField(help_text="The minute the failures fell in")
    count = models.PositiveIntegerField(default=1)
    seq = models.BigIntegerField(null=True, blank=True, help_text="The chained event")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["action", "username", "ip", "minute"], name="failuretally_key"
            )
        ]
        indexes = [models.Index(fields=["action", "minute"], name="failuretally_recent")]

    def __str__(self) -> str:
        return f"{self.action} {self.username or '-'} {self.ip or '-'} x{self.count}"
