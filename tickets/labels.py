"""Status, priority and history-verb names in the reader's language.

The models' own labels stay English: history lines and live events store and carry them as
written, whoever reads them later. Pages translate the codes with these maps instead.
"""

from __future__ import annotations

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
}
