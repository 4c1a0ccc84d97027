"""Status, priority and history-verb names in the reader's language.

The models' own labels stay English: history lines and live events store and carry them as
written, whoever reads them later. Pages translate the codes with these maps instead.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

STATUS_LABELS = {
    "new": _("New"),
    "open": _("Open"),
    "pending": _("Pending"),
    "resolved": _("Resolved"),
    "closed": _("Closed"),
}
PRIORITY_LABELS = {1: _("Low"), 2: _("Normal"), 3: _("High"), 4: _("Urgent")}
VERB_LABELS = {
    "created": _("created"),
    "assigned": _("assigned"),
    "status": _("changed status"),
    "priority": _("changed priority"),
    "queue": _("moved"),
    "commented": _("replied"),
    "noted": _("added an internal note"),
    "subject": _("changed subject"),
    "attached": _("attached a file"),
    "purged": _("purged personal data"),
    "tagged": _("changed tags"),
}
# Who acted when no staff member did (tickets.actors: the job's name, or "requester").
ACTOR_LABELS = {"system": _("system"), "mail": _("mail"), "requester": _("requester")}
MAIL_STATE_LABELS = {
    "queued": _("queued"),
    "sent": _("sent"),
    "failed": _("failed"),
    "bounced": _("bounced"),
}
# History lines keep the English label a status or priority change had ("Open", "High"):
# these find the reader's word for it.
_BY_ENGLISH: dict[str, dict[str, Any]] = {
    "status": {
        "New": "new",
        "Open": "open",
        "Pending": "pending",
        "Resolved": "resolved",
        "Closed": "closed",
    },
    "priority": {"Low": 1, "Normal": 2, "High": 3, "Urgent": 4},
}


def activity_value(verb: str, value: str) -> str:
    """A history line's old or new value in the reader's language (names stay as written)."""
    code = _BY_ENGLISH.get(verb, {}).get(value)
    if code is None:
        return value
    labels: dict[Any, Any] = STATUS_LABELS if verb == "status" else PRIORITY_LABELS
    return str(labels[code])
