"""Status, priority and history-verb names in the reader's language.

The models' own labels stay English: history lines and live events store and carry them as
written, whoever reads them later. Pages translate the codes with these maps instead.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

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


# The audit pages name models and fields by their verbose names (audit/history.py looks each
# up in the catalogue): these put ours in it without changing the models (or a migration).
AUDIT_NAMES = [
    gettext_noop("ticket"), gettext_noop("ticket body"), gettext_noop("comment"),
    gettext_noop("contact"), gettext_noop("queue"), gettext_noop("attachment"),
    gettext_noop("ticket cc"), gettext_noop("uid"), gettext_noop("subject"),
    gettext_noop("status"), gettext_noop("priority"), gettext_noop("assignee"),
    gettext_noop("created by"), gettext_noop("created at"), gettext_noop("updated at"),
    gettext_noop("first response at"), gettext_noop("resolved at"), gettext_noop("closed at"),
    gettext_noop("response due at"), gettext_noop("due at"), gettext_noop("purged at"),
    gettext_noop("description"), gettext_noop("author"), gettext_noop("author contact"),
    gettext_noop("body"), gettext_noop("is internal"), gettext_noop("phone"),
    gettext_noop("erased at"), gettext_noop("email bounced at"), gettext_noop("slug"),
    gettext_noop("uploaded by"), gettext_noop("filename"), gettext_noop("content type"),
    gettext_noop("size"), gettext_noop("content"), gettext_noop("email index"), gettext_noop("email"),
    gettext_noop("Low first response (minutes)"), gettext_noop("Normal first response (minutes)"),
    gettext_noop("High first response (minutes)"), gettext_noop("Urgent first response (minutes)"),
    gettext_noop("Low resolution (minutes)"), gettext_noop("Normal resolution (minutes)"),
    gettext_noop("High resolution (minutes)"), gettext_noop("Urgent resolution (minutes)"),
]  # fmt: skip
