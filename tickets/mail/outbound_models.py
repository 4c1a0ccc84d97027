"""Mail we send: one OutboundMail per message (its state, attempts and threading headers),
each queue's mail options and templates, and each agent's notification preferences.

Recipients and bodies are personal data and stored encrypted; subjects follow the ticket's
subject (plain, like the ticket's). Written only by tickets/services/mail_out.py.
"""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils import timezone

from tickets.models import Comment, Queue, Ticket, validate_printable
from ticketsystem.crypto import EncryptedTextField

# The placeholders a queue's templates may use; anything else in braces is refused on save.
PLACEHOLDERS = ("reference", "subject", "agent", "queue", "signature")
PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_BRACES_RE = re.compile(r"\{([^{}]*)\}")
MAX_TEMPLATE = 5000

DEFAULT_ACK_TEMPLATE = (
    "Hello,\n\nthank you for your message. We have opened ticket {reference} "
    '("{subject}") in {queue} and will answer as soon as we can.\n'
    "Please keep {reference} in the subject when you write about it.\n\n{signature}"
)
DEFAULT_RESOLVED_TEMPLATE = (
    'Hello,\n\n{agent} marked ticket {reference} ("{subject}") as resolved.\n'
    "If something is still missing, just answer this mail and the ticket opens again.\n\n"
    "{signature}"
)


def validate_template(value: str) -> None:
    unknown = sorted({name for name in _BRACES_RE.findall(value) if name not in PLACEHOLDERS})
    if unknown:
        allowed = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
        raise ValidationError(
            f"Unknown placeholder {{{unknown[0]}}}; use only {allowed}.", code="placeholder"
        )


def render_template(template: str, values: dict[str, str]) -> str:
    """Fill in the known placeholders (plain substitution: no format-string attribute access)."""
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), template)


class OutboundMail(models.Model):
    class Kind(models.TextChoices):
        REPLY = "reply", "Reply"
        ACK = "ack", "Acknowledgement"
        RESOLVED = "resolved", "Resolved note"
        ASSIGNED = "assigned", "Assignment notice"
        REQUESTER_REPLIED = "requester_replied", "Requester reply notice"
        MENTION = "mention", "Mention notice"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        BOUNCED = "bounced", "Bounced"

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="outbound_mails")
    # The public reply this mail carries (replies only).
    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="outbound_mails"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    sender = models.CharField(max_length=254)
    recipients = EncryptedTextField()  # one address a line
    subject = models.CharField(max_length=300)
    body = EncryptedTextField()
    message_id = models.CharField(max_length=250, unique=True)
    in_reply_to = models.CharField(max_length=250, blank=True)
    references = models.TextField(blank=True)
    auto_submitted = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    # The SMTP answer or connection error of the last failed attempt (never credentials).
    last_error = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="outbound_ticket"),
            models.Index(
                fields=["next_attempt_at"],
                name="outbound_queued",
                condition=models.Q(state="queued"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=["queued", "sent", "failed", "bounced"]),
                name="outbound_state_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.ticket.reference} ({self.state})"

    @property
    def recipient_list(self) -> list[str]:
        return [line for line in str(self.recipients).splitlines() if line.strip()]


class QueueMailSettings(models.Model):
    """A queue's outgoing mail: acknowledgement and resolve note (on/off, templates) and the
    signature under every mail. Plain text; placeholders: {reference} {subject} {agent}
    {queue} {signature}."""

    queue = models.OneToOneField(Queue, on_delete=models.CASCADE, related_name="mail_settings")
    send_acknowledgement = models.BooleanField(
        default=False, help_text="Mail the requester when their mail opens a new ticket."
    )
    acknowledgement_template = models.TextField(
        default=DEFAULT_ACK_TEMPLATE,
        validators=[MaxLengthValidator(MAX_TEMPLATE), validate_printable, validate_template],
    )
    send_resolved_note = models.BooleanField(
        default=False, help_text="Mail the requester when the ticket is marked resolved."
    )
    resolved_template = models.TextField(
        default=DEFAULT_RESOLVED_TEMPLATE,
        validators=[MaxLengthValidator(MAX_TEMPLATE), validate_printable, validate_template],
    )
    signature = models.TextField(
        blank=True,
        help_text="Below every mail of this queue ({signature} in the templates).",
        validators=[MaxLengthValidator(1000), validate_printable, validate_template],
    )

    class Meta:
        verbose_name = "queue mail settings"
        verbose_name_plural = "queue mail settings"

    def __str__(self) -> str:
        return f"Mail settings of {self.queue}"


class MailNotificationPreference(models.Model):
    """What an agent is mailed about; never about their own actions."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_preference"
    )
    on_assignment = models.BooleanField(
        default=True, help_text="Mail me when a ticket is assigned to me."
    )
    on_requester_reply = models.BooleanField(
        default=True, help_text="Mail me when the requester answers a ticket assigned to me."
    )
    on_mention = models.BooleanField(
        default=True, help_text="Mail me when a colleague mentions me in an internal note."
    )

    def __str__(self) -> str:
        return f"Mail preferences of {self.user}"
