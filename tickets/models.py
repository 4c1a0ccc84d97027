"""The helpdesk's data: queues with SLA targets, contacts, tickets, comments and activity.

Writes go through tickets/services/; reads through tickets/selectors.py and
tickets/access.py. Personal data is encrypted in the model layer (ticketsystem/crypto.py).
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinValueValidator,
    validate_email,
)
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.labels import ACTOR_LABELS
from ticketsystem.crypto import BlindIndexField, EncryptedBinaryField, EncryptedTextField

REFERENCE_RE = re.compile(r"^T-(\d{6,12})$")


def user_display(user: object) -> str:
    """A staff member as people see them: full name, else username ("" for nobody)."""
    if user is None:
        return ""
    return user.get_full_name().strip() or user.get_username()  # type: ignore[attr-defined]


def format_reference(pk: int) -> str:
    """The human reference of a ticket id: ``T-000123`` (the one place this format lives)."""
    return f"T-{pk:06d}"


MAX_SLA_MINUTES = 60 * 24 * 365  # one year
MAX_TEXT = 50_000  # characters in a description or comment


def validate_printable(value: str) -> None:
    """Reject NUL and other control characters (tab, newline and carriage return are fine)."""
    if any((ord(ch) < 32 and ch not in "\t\n\r") or ord(ch) == 127 for ch in value):
        raise ValidationError(_("Remove control characters (such as NUL) from this text."))


def validate_single_line(value: str) -> None:
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValidationError(_("Use a single line without control characters."))


class Priority(models.IntegerChoices):
    LOW = 1, "Low"
    NORMAL = 2, "Normal"
    HIGH = 3, "High"
    URGENT = 4, "Urgent"


class Status(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


# The workflow: new → open → pending → resolved → closed. Resolved tickets can be reopened;
# closed is final.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.OPEN, Status.PENDING, Status.RESOLVED}),
    Status.OPEN: frozenset({Status.PENDING, Status.RESOLVED}),
    Status.PENDING: frozenset({Status.OPEN, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}
ACTIVE_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING)

# SLA defaults in minutes per priority: (first response, resolution).
DEFAULT_SLA = {
    Priority.LOW: (24 * 60, 5 * 24 * 60),
    Priority.NORMAL: (8 * 60, 3 * 24 * 60),
    Priority.HIGH: (2 * 60, 24 * 60),
    Priority.URGENT: (30, 4 * 60),
}


def _sla_field(priority: Priority, index: int, label: str) -> models.PositiveIntegerField:
    return models.PositiveIntegerField(
        f"{priority.label} {label} (minutes)",
        default=DEFAULT_SLA[priority][index],
        validators=[MinValueValidator(1), MaxValueValidator(MAX_SLA_MINUTES)],
    )


class Queue(models.Model):
    name = models.CharField(max_length=100, unique=True, validators=[validate_single_line])
    slug = models.SlugField(max_length=50, unique=True)
    description = models.TextField(blank=True, max_length=2000, validators=[validate_printable])
    # Where requesters write to this queue (receivemail routes by it; replies come from it).
    email_address = models.EmailField(
        blank=True,
        max_length=254,
        help_text="Inbound address of this queue; also the From of its outgoing mail.",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="queues", blank=True, help_text="Agents"
    )
    sla_response_low = _sla_field(Priority.LOW, 0, "first response")
    sla_response_normal = _sla_field(Priority.NORMAL, 0, "first response")
    sla_response_high = _sla_field(Priority.HIGH, 0, "first response")
    sla_response_urgent = _sla_field(Priority.URGENT, 0, "first response")
    sla_resolution_low = _sla_field(Priority.LOW, 1, "resolution")
    sla_resolution_normal = _sla_field(Priority.NORMAL, 1, "resolution")
    sla_resolution_high = _sla_field(Priority.HIGH, 1, "resolution")
    sla_resolution_urgent = _sla_field(Priority.URGENT, 1, "resolution")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["email_address"],
                condition=~Q(email_address=""),
                name="queue_email_address_unique",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def sla_for(self, priority: int) -> tuple[timedelta, timedelta]:
        """(first response, resolution) targets for a priority."""
        suffix = Priority(priority).name.lower()
        return (
            timedelta(minutes=getattr(self, f"sla_response_{suffix}")),
            timedelta(minutes=getattr(self, f"sla_resolution_{suffix}")),
        )


class Contact(models.Model):
    """The requester. Name, email and phone are personal data: encrypted at rest."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = EncryptedTextField(
        blank=True, validators=[MaxLengthValidator(200), validate_single_line]
    )
    email = EncryptedTextField(blank=True, validators=[MaxLengthValidator(254), validate_email])
    email_index = BlindIndexField(source="email")
    phone = EncryptedTextField(
        blank=True, validators=[MaxLengthValidator(40), validate_single_line]
    )
    created_at = models.DateTimeField(default=timezone.now)
    erased_at = models.DateTimeField(null=True, blank=True)
    # Set when mail to this address bounced permanently: no more mail goes to it.
    email_bounced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        if self.erased_at:
            return f"Erased contact #{self.pk}"
        return f"{self.name} <{self.email}>" if self.name else str(self.email)

    @classmethod
    def email_lookup(cls, email: str) -> str:
        """The blind index value to filter ``email_index`` by."""
        return cls._meta.get_field("email_index").index_for(email)


class Ticket(models.Model):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="tickets")
    subject = models.CharField(max_length=200, validators=[validate_single_line])
    # The description lives in TicketBody (``ticket.description`` reads it).
    contact = models.ForeignKey(
        Contact, on_delete=models.PROTECT, null=True, blank=True, related_name="tickets"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="created_tickets",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    response_due_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    # Set when the retention purge anonymised the ticket (tickets/services/retention.py).
    purged_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            # Dashboard counts and list filters; every one is an index-range query.
            models.Index(fields=["queue", "status"], name="ticket_queue_status"),
            models.Index(fields=["status", "queue"], name="ticket_status_queue"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status"),
            models.Index(fields=["priority", "status"], name="ticket_priority_status"),
            # Covering: the list's default order and its filters answer from the index alone,
            # so deep pages (OFFSET) stay cheap.
            models.Index(
                fields=["-updated_at", "-id"],
                name="ticket_updated",
                include=["queue", "status", "priority", "assignee"],
            ),
            models.Index(fields=["-created_at", "-id"], name="ticket_created"),
            models.Index(
                fields=["due_at"],
                name="ticket_active_due",
                condition=Q(status__in=["new", "open", "pending"]),
            ),
            # Covering and partial: every dashboard count and the active list's filters
            # answer from this index alone (index-only scan, no heap rows).
            models.Index(
                fields=["queue", "priority"],
                name="ticket_active_cover",
                include=["assignee", "due_at", "status"],
                condition=Q(status__in=["new", "open", "pending"]),
            ),
            models.Index(
                fields=["queue", "-updated_at"],
                name="ticket_unassigned",
                condition=Q(assignee__isnull=True, status__in=["new", "open", "pending"]),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="ticket_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(priority__gte=1, priority__lte=4), name="ticket_priority_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    def get_absolute_url(self) -> str:
        return reverse("ticket_detail", args=[self.reference])

    @property
    def reference(self) -> str:
        return format_reference(self.pk) if self.pk else "T-new"

    @classmethod
    def audit_label(cls, pk: int) -> str:
        """How model history names a ticket: its reference, never its subject."""
        return format_reference(pk)

    @staticmethod
    def pk_from_reference(reference: str) -> int | None:
        match = REFERENCE_RE.match(reference)
        return int(match.group(1)) if match else None

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_overdue(self) -> bool:
        return self.is_active and self.due_at is not None and self.due_at < timezone.now()

    @property
    def response_overdue(self) -> bool:
        due = self.response_due_at
        return (
            self.is_active
            and not self.first_response_at
            and due is not None
            and due < timezone.now()
        )

    def allowed_transitions(self) -> list[str]:
        return [s for s in Status.values if s in TRANSITIONS[self.status]]

    @property
    def description(self) -> str:
        """The description, from TicketBody ("" when there is none). Lists never ask."""
        try:
            return self.body.description
        except TicketBody.DoesNotExist:
            return ""


class TicketBody(models.Model):
    """A ticket's description, in a table of its own: the ticket row, which every list, count
    and dashboard reads, stays narrow (no encrypted text inline). Written by the services
    (tickets/services/tickets.py, retention.py), one row per ticket."""

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, primary_key=True, related_name="body"
    )
    uid = models.UUIDField(default=uuid.uuid4, editable=False)  # the ciphertext's row id
    description = EncryptedTextField(
        blank=True, validators=[MaxLengthValidator(MAX_TEXT), validate_printable]
    )

    def __str__(self) -> str:
        return format_reference(self.pk)

    @classmethod
    def audit_label(cls, pk: int) -> str:
        """History names a description by its ticket's reference."""
        return format_reference(pk)


class Comment(models.Model):
    """A public reply or an internal note. Append-only: never edited or deleted in the UI."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Set instead of ``author`` when the requester wrote it (by mail, later the portal).
    author_contact = models.ForeignKey(
        "Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="comments"
    )
    body = EncryptedTextField(validators=[MaxLengthValidator(MAX_TEXT), validate_printable])
    is_internal = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="comment_ticket")]

    def __str__(self) -> str:
        kind = "Internal note" if self.is_internal else "Reply"
        return f"{kind} on {format_reference(self.ticket_id)}"

    @property
    def author_display(self) -> str:
        """The staff member's display name or the requester's name ("—" when neither is known)."""
        if self.author_id is not None:
            return user_display(self.author)
        if self.author_contact_id is not None:
            contact = self.author_contact
            return str(contact.name or contact.email or ACTOR_LABELS["requester"])
        return "—"


class Activity(models.Model):
    """What happened to a ticket, for its history and the dashboard feed.

    Holds display text only (status names, user names, queue names) — never descriptions,
    comment bodies or contact data.
    """

    class Verb(models.TextChoices):
        CREATED = "created", "created"
        ASSIGNED = "assigned", "assigned"
        STATUS = "status", "changed status"
        PRIORITY = "priority", "changed priority"
        QUEUE = "queue", "moved"
        COMMENTED = "commented", "replied"
        NOTED = "noted", "added an internal note"
        SUBJECT = "subject", "changed subject"
        ATTACHED = "attached", "attached a file"
        PURGED = "purged", "purged personal data"
        TAGGED = "tagged", "changed tags"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="activities")
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Who acted when it was not a staff member: the job ("system", "fetchmail") or "requester".
    actor_name = models.CharField(max_length=50, blank=True)
    verb = models.CharField(max_length=20, choices=Verb.choices)
    old_value = models.CharField(max_length=200, blank=True)
    new_value = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="activity_recent"),
            models.Index(fields=["queue", "-created_at"], name="activity_queue_recent"),
            models.Index(fields=["ticket", "-created_at"], name="activity_ticket"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_display} {self.get_verb_display()} {format_reference(self.ticket_id)}"

    @property
    def actor_display(self) -> str:
        """Who did it: a staff member's display name, or the job or "requester" that acted."""
        if self.actor_id is not None:
            return user_display(self.actor)
        name = self.actor_name or "system"
        return str(ACTOR_LABELS.get(name, name))


class AttachmentManager(models.Manager["Attachment"]):
    """Never loads file content unless asked: lists and pages touch only the metadata."""

    def get_queryset(self) -> models.QuerySet[Attachment]:
        return super().get_queryset().defer("content")


class Attachment(models.Model):
    """A file on a ticket or one of its comments, stored encrypted in the database.

    The original filename is data only (encrypted, never a path); the content type was
    sniffed from the bytes at upload (tickets/attachments.py); ``content`` is AES-256-GCM
    ciphertext bound to this row.
    """

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    filename = EncryptedTextField(validators=[MaxLengthValidator(200)])
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    content = EncryptedBinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AttachmentManager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="attachment_ticket")]
        constraints = [
            models.CheckConstraint(condition=Q(size__gte=1), name="attachment_not_empty")
        ]

    def __str__(self) -> str:
        return f"Attachment #{self.pk} on {format_reference(self.ticket_id)}"

    def get_absolute_url(self) -> str:
        return reverse("attachment_download", args=[format_reference(self.ticket_id), self.uid])

    @property
    def kind(self) -> str:
        """A readable name of the content type ("PDF", "PNG image")."""
        from tickets.attachments import describe

        return describe(self.content_type)


import tickets.agent_models  # noqa: E402  (CC, watchers, notifications, canned responses)
import tickets.mail.outbound_models  # noqa: E402  (mail out's models, registered here)
import tickets.organising_models  # noqa: E402,F401  (tags and saved views, registered here)
from tickets import count_models as _count_models  # noqa: E402,F401  (status counts, by trigger)
from tickets.mail.inbound_models import InboundMessage, QueueMailbox  # noqa: E402, F401
from tickets.search import models as _search_models  # noqa: E402,F401  (the search index)
