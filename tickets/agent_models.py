"""What agents keep around a ticket: CC contacts, watchers, in-app notifications (mentions)
and canned responses. Written only by tickets/services/agent.py; read through
tickets/agent_selectors.py."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.labels import STATUS_LABELS
from tickets.models import (
    Comment,
    Contact,
    Priority,
    Queue,
    Status,
    Ticket,
    validate_printable,
    validate_single_line,
)

# The placeholders a canned response may use; anything else in braces is refused on save.
CANNED_PLACEHOLDERS = ("requester_name", "reference", "agent", "queue", "signature")
_BRACES_RE = re.compile(r"\{([^{}]*)\}")
MAX_CANNED = 10_000
# What inserting a canned response may set (Close is final: never by a macro).
CANNED_STATUSES = [
    (Status.PENDING.value, STATUS_LABELS["pending"]),
    (Status.RESOLVED.value, STATUS_LABELS["resolved"]),
]


def validate_canned_body(value: str) -> None:
    unknown = sorted({n for n in _BRACES_RE.findall(value) if n not in CANNED_PLACEHOLDERS})
    if unknown:
        allowed = ", ".join("{" + name + "}" for name in CANNED_PLACEHOLDERS)
        raise ValidationError(
            _("Unknown placeholder {%(name)s}; use only %(allowed)s.")
            % {"name": unknown[0], "allowed": allowed},
            code="placeholder",
        )


class TicketCC(models.Model):
    """A contact copied on a ticket's public replies (mail out reads this list)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="cc_entries")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="cc_entries")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "contact"], name="ticketcc_unique")
        ]

    def __str__(self) -> str:
        return f"CC on {self.ticket_id}"


class TicketWatch(models.Model):
    """An agent following a ticket (the "Following" view lists these)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="watches")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ticket_watches"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "user"], name="ticketwatch_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.ticket_id}"


class Notification(models.Model):
    """Something an agent should look at: for now, a mention in an internal note."""

    class Kind(models.TextChoices):
        MENTION = "mention", _("mentioned you")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.MENTION)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}"


class CannedResponse(models.Model):
    """A reusable reply: global (no queue, no owner), for one queue, or an agent's own."""

    name = models.CharField(_("name"), max_length=100, validators=[validate_single_line])
    body = models.TextField(
        _("text"),
        validators=[MaxLengthValidator(MAX_CANNED), validate_printable, validate_canned_body],
        help_text=_("Placeholders: {requester_name} {reference} {agent} {queue} {signature}."),
    )
    queue = models.ForeignKey(
        Queue,
        verbose_name=_("queue"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="canned_responses",
        help_text=_("Empty: every queue."),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="canned_responses",
        help_text=_("Set: a personal response only its owner sees."),
    )
    set_status = models.CharField(
        _("then set status"), max_length=20, choices=CANNED_STATUSES, blank=True
    )
    set_priority = models.PositiveSmallIntegerField(
        _("then set priority"), choices=Priority.choices, null=True, blank=True
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("canned response")
        verbose_name_plural = _("canned responses")

    def __str__(self) -> str:
        return self.name
