"""The ticket list's rows, rendered in Python.

A list page draws 50 rows of ten cells; through the template engine that was about half of
the page's server time. The markup is the same the live list script updates
(static/js/ticket-list.js: data-ticket-id, data-col), and every value is escaped by
format_html. Each cell carries its column name (data-label) for the card layout on phones.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache, lru_cache

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timezone import now
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from tickets.labels import PRIORITY_LABELS, STATUS_LABELS
from tickets.models import ACTIVE_STATUSES, Ticket, format_reference, user_display
from tickets.templatetags.timefmt import due_text, relative, time_tag

register = template.Library()

ROW = (
    '<tr data-ticket-id="{pk}" data-key-item class="status-{status}{overdue_class}">'
    '<td class="select"><input type="checkbox" name="tickets" value="{ref}" form="bulk-form"'
    ' aria-label="{select}"></td>'
    '<td class="ref"><a href="{url}">{ref}</a></td>'
    '<td class="subject"><a href="{url}">{subject}</a></td>'
    '<td data-col="requester" data-label="{l_requester}">{requester}</td>'
    '<td data-col="queue" data-label="{l_queue}">{queue}</td>'
    '<td data-col="status" data-label="{l_status}">'
    '<span class="badge status-{status}">{status_label}</span></td>'
    '<td data-col="priority" data-label="{l_priority}">'
    '<span class="badge prio-{priority}">{priority_label}</span></td>'
    '<td data-col="assignee" data-label="{l_assignee}">{assignee}</td>'
    '<td data-col="due" data-label="{l_due}">{due}</td>'
    '<td data-col="updated" data-label="{l_updated}">{updated}</td>'
    "</tr>"
)


@cache
def _column_labels(language: str) -> dict[str, str]:
    """The cells' column names in one language (the card layout on phones shows them)."""
    return {
        "l_requester": _("Requester"),
        "l_queue": _("Queue"),
        "l_status": _("Status"),
        "l_priority": _("Priority"),
        "l_assignee": _("Assignee"),
        "l_due": _("Due"),
        "l_updated": _("Updated"),
    }


def _due_cell(ticket: Ticket, at: datetime) -> SafeString | str:
    if ticket.due_at is None or ticket.status not in ACTIVE_STATUSES:
        return "—"
    return time_tag(ticket.due_at, due_text(ticket.due_at, at))


def _requester(ticket: Ticket) -> str:
    """The requester's name, where the page's query loaded the contact (the list's rows)."""
    if "contact" not in ticket._state.fields_cache or ticket.contact is None:
        return "—"
    return str(ticket.contact.name or "").strip() or "—"


_SAMPLE = format_reference(0)


@lru_cache(maxsize=8)
def _detail_url(prefix: str, urlconf: str) -> str:
    """The detail page URL of the sample reference (per script prefix and URLconf)."""
    return reverse("ticket_detail", args=[_SAMPLE], urlconf=urlconf)


@register.filter
def ticket_url(ticket: Ticket) -> str:
    """``{{ ticket|ticket_url }}``: its detail page (get_absolute_url without reverse())."""
    sample = _detail_url(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
    return sample.replace(_SAMPLE, ticket.reference)


@register.simple_tag
def ticket_row(ticket: Ticket) -> SafeString:
    """One row of the ticket table."""
    at = now()
    overdue = ticket.status in ACTIVE_STATUSES and ticket.due_at is not None and ticket.due_at < at
    url = ticket_url(ticket)  # reverse() once per URLconf, not per row (a fifth of a row)
    return format_html(
        ROW,
        pk=ticket.pk,
        status=ticket.status,
        overdue_class=" overdue" if overdue else "",
        url=url,
        ref=ticket.reference,
        select=_("Select %(ref)s") % {"ref": ticket.reference},
        subject=ticket.subject,
        requester=_requester(ticket),
        queue=ticket.queue.name,
        status_label=STATUS_LABELS.get(ticket.status, ticket.status),
        priority=ticket.priority,
        priority_label=PRIORITY_LABELS.get(ticket.priority, ticket.priority),
        assignee=user_display(ticket.assignee) if ticket.assignee_id else "—",
        due=_due_cell(ticket, at),
        updated=time_tag(ticket.updated_at, relative(ticket.updated_at, at)),
        **_column_labels(get_language() or ""),
    )
