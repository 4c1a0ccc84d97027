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
