"""Mail in: every message received (the record of what became of it, its encrypted source)
and each queue's IMAP mailbox. Written by tickets/services/mail_intake.py only.

A quarantined message is an InboundMessage with status ``quarantined``: nothing is dropped,
managers release or delete it on the admin site.
"""

from __future__ import annotations

import hashlib
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ticketsystem.crypto import BlindIndexField, EncryptedBinaryField, EncryptedTextField


def message_key(message_id: str | None, raw: bytes) -> str:
    """The idempotency key: a hash of the Message-ID, or of the raw bytes when it has none."""
    if message_id:
        return "mid:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()
    return "raw:" + hashlib.sha256(raw).hexdigest()


class InboundMessageManager(models.Manager["InboundMessage"]):
    """Lists never load (and decrypt) the raw source unless asked."""

    def get_queryset(self) -> models.QuerySet[InboundMessage]:
        return super().get_queryset().defer("raw")


class InboundMessage(models.Model):
    """One received mail and what became of it: a ticket, a comment, quarantine or nothing."""

    class Status(models.TextChoices):
        TICKET = "ticket", "New ticket"
        COMMENT = "comment", "Reply on a ticket"
        QUARANTINED = "quarantined", "Quarantined"
        IGNORED = "ignored", "Ignored (delivery report)"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    message_key = models.CharField(max_length=80, unique=True, editable=False)
    message_id = EncryptedTextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices)
    reason = models.CharField(max_length=500, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    size = models.PositiveIntegerField(default=0)
    # Auto-reply, list, bulk or bounce: never answered automatically (see tickets/mail/noise.py).
    is_automatic = models.BooleanField(default=False)
    queue = models.ForeignKey(
        "tickets.Queue",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_messages",
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_messages",
    )
    comment = models.ForeignKey(
        "tickets.Comment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_messages",
    )
    contact = models.ForeignKey(
        "tickets.Contact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_messages",
    )
    sender = EncryptedTextField(blank=True)
    # Exact-match lookups by sender (the rate cap, erasure) without decrypting every row.
    sender_index = BlindIndexField(source="sender")
    subject = EncryptedTextField(blank=True)
    raw = EncryptedBinaryField()
    # Sanitised (nh3) HTML part, for display only; the text is on the ticket or comment.
    html_body = EncryptedTextField(blank=True)
    # The quoted history and signature below a reply's marker, folded away on the ticket page.
    quoted_text = EncryptedTextField(blank=True)

    objects = InboundMessageManager()
    duplicate = False  # set by mail_receive on a message it had stored before

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["sender_index", "status", "received_at"], name="inbound_sender"),
            models.Index(
                fields=["received_at"],
                name="inbound_quarantine",
                condition=Q(status="quarantined"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["ticket", "comment", "quarantined", "ignored"]),
                name="inbound_status_valid",
            )
        ]

    def __str__(self) -> str:
        return f"Mail #{self.pk} ({self.get_status_display()})"

    @classmethod
    def sender_lookup(cls, address: str) -> str:
        """The blind index value to filter ``sender_index`` by."""
        return cls._meta.get_field("sender_index").index_for(address.strip().lower())


class QueueMailbox(models.Model):
    """The IMAP mailbox ``manage.py fetchmail`` polls for one queue (IMAPS by default)."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    queue = models.OneToOneField("tickets.Queue", on_delete=models.CASCADE, related_name="mailbox")
    enabled = models.BooleanField(default=True)
    host = models.CharField(max_length=253)
    port = models.PositiveIntegerField(
        default=993, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    use_ssl = models.BooleanField(
        "IMAPS (TLS)",
        default=True,
        help_text="Plain IMAP is refused unless MAIL_ALLOW_PLAINTEXT is set.",
    )
    username = models.CharField(max_length=254)
    password = EncryptedTextField(validators=[MaxLengthValidator(1000)])
    folder = models.CharField(max_length=200, default="INBOX")
    move_to = models.CharField(
        max_length=200,
        blank=True,
        help_text="Move fetched mail to this folder; empty: mark it as seen and leave it.",
    )
    last_fetch_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.CharField(max_length=300, blank=True, editable=False)

    class Meta:
        verbose_name = "IMAP mailbox"

    def __str__(self) -> str:
        return f"{self.username}@{self.host}:{self.port}/{self.folder}"

    def clean(self) -> None:
        if not self.use_ssl and not settings.MAIL_ALLOW_PLAINTEXT:
            raise ValidationError(
                {"use_ssl": "Plain IMAP sends the password readably; set MAIL_ALLOW_PLAINTEXT "
                 "to allow it."}
            )  # fmt: skip
        for name in ("host", "username", "folder", "move_to"):
            if any(ord(ch) < 32 or ord(ch) == 127 for ch in getattr(self, name)):
                raise ValidationError({name: "Use a single line without control characters."})
