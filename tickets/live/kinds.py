"""The kinds of ticket event the live pages receive: named once here, read by the JavaScript
by name from the page (``json_script``), never spelled out as bare strings elsewhere."""

from __future__ import annotations

from django.db import models


class EventKind(models.TextChoices):
    CREATED = "created"
    ASSIGNED = "assigned"
    STATUS = "status"
    PRIORITY = "priority"
    QUEUE = "queue"
    SUBJECT = "subject"
    UPDATED = "updated"
    COMMENTED = "commented"
    ATTACHED = "attached"
    DELIVERY = "delivery"  # a public reply's mail changed state (queued, sent, failed, bounced)
    MENTION = "mention"  # someone mentioned this user in an internal note (to the user only)


def event_kinds() -> dict[str, str]:
    """NAME -> value, for ``json_script`` on live pages."""
    return {kind.name: kind.value for kind in EventKind}
