"""The ticket list's rows, rendered in Python.

A list page draws 50 rows of ten cells; through the template engine that was about half of
the page's server time. The markup is the same the live list script updates
(static/js/ticket-list.js: data-ticket-id, data-col), and every value is escaped (html.escape,
which is what Django's escape calls; the fixed words once per language). Each cell carries its
column name (data-label) for the card layout on phones.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache, lru_cache
from html import escape
from typing import Any

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import now
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from tickets.labels import PRIORITY_LABELS, STATUS_LABELS, VERB_LABELS, activity_value
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
MINI_ROW = (
    '<li data-ticket-id="{pk}" data-updated-at="{updated}"{due_at}><a href="{url}">'
    '<span class="ref">{ref}</span> <span class="subject-text">{subject}</span></a>'
    ' <span class="meta"><span class="badge prio-{priority}">{priority_label}</span>'
    " {due}</span></li>"
)
FEED_LINE = (
    '<li>{when} <strong>{actor}</strong> {verb} <a href="{url}">{ref} {subject}</a>{change}</li>'
)
SNIPPET = '<tr class="snippet" data-snippet-for="{pk}"><td></td><td colspan="7">{snippet}</td></tr>'


@cache
def _words(language: str) -> dict[str, Any]:
    """The rows' fixed words in one language, escaped once: the column names (the card
    layout on phones shows them), the "Select" label's pattern, status and priority names."""
    return {
        "columns": {
            "l_requester": escape(_("Requester")),
            "l_queue": escape(_("Queue")),
            "l_status": escape(_("Status")),
            "l_priority": escape(_("Priority")),
            "l_assignee": escape(_("Assignee")),
            "l_due": escape(_("Due")),
            "l_updated": escape(_("Updated")),
        },
        "select": _("Select %(ref)s"),
        "status": {code: escape(str(label)) for code, label in STATUS_LABELS.items()},
        "priority": {code: escape(str(label)) for code, label in PRIORITY_LABELS.items()},
        "verb": {code: escape(str(label)) for code, label in VERB_LABELS.items()},
    }


def _due_cell(ticket: Ticket, at: datetime) -> str:
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


def _url_of(reference: str) -> str:
    """A ticket's detail page, escaped for an attribute (get_absolute_url without a
    reverse() per row)."""
    sample = _detail_url(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
    return escape(sample.replace(_SAMPLE, reference))


def _row(ticket: Ticket, at: datetime, words: dict[str, Any]) -> str:
    """One row's HTML: every value from the ticket escaped (html.escape, what Django's
    escape does), the fixed words escaped once per language in ``_words``."""
    status, priority, ref = ticket.status, ticket.priority, ticket.reference
    overdue = status in ACTIVE_STATUSES and ticket.due_at is not None and ticket.due_at < at
    html = ROW.format(
        pk=ticket.pk,
        status=escape(status),
        overdue_class=" overdue" if overdue else "",
        url=_url_of(ref),
        ref=ref,
        select=escape(words["select"] % {"ref": ref}),
        subject=escape(ticket.subject or ""),
        requester=escape(_requester(ticket)),
        queue=escape(ticket.queue.name),
        status_label=words["status"].get(status) or escape(status),
        priority=escape(str(priority)),
        priority_label=words["priority"].get(priority) or escape(str(priority)),
        assignee=escape(user_display(ticket.assignee)) if ticket.assignee_id else "—",
        due=_due_cell(ticket, at),
        updated=time_tag(ticket.updated_at, relative(ticket.updated_at, at)),
        **words["columns"],
    )
    snippet = getattr(ticket, "search_snippet", None)
    if snippet:
        html += SNIPPET.format(pk=ticket.pk, snippet=conditional_escape(snippet))
    return html


@register.simple_tag
def ticket_rows(tickets: Iterable[Ticket]) -> SafeString:
    """``{% ticket_rows page.object_list %}``: the table's rows, with a search hit's
    snippet row under its ticket. One tag for the page: a row through the template engine
    costs more than the row itself."""
    at = now()
    words = _words(get_language() or "")
    # every value is escaped in _row
    return mark_safe("".join(_row(ticket, at, words) for ticket in tickets))  # noqa: S308


@register.simple_tag
def mini_rows(tickets: Iterable[Ticket]) -> SafeString:
    """``{% mini_rows rows %}``: a dashboard panel's items (static/js/dashboard.js draws the
    same markup for live changes)."""
    at = now()
    words = _words(get_language() or "")
    html = []
    for ticket in tickets:
        due = ticket.due_at
        html.append(
            MINI_ROW.format(
                pk=ticket.pk,
                updated=ticket.updated_at.isoformat(),
                due_at=f' data-due-at="{due.isoformat()}"' if due else "",
                url=_url_of(ticket.reference),
                ref=ticket.reference,
                subject=escape(ticket.subject or ""),
                priority=escape(str(ticket.priority)),
                priority_label=words["priority"].get(ticket.priority)
                or escape(str(ticket.priority)),
                due=time_tag(due, due_text(due, at)) if due else "",
            )
        )
    return mark_safe("".join(html))  # noqa: S308 - every value above is escaped


@register.simple_tag
def feed_lines(activities: Iterable[Any]) -> SafeString:
    """``{% feed_lines activity %}``: the dashboard's history lines, newest first."""
    at = now()
    words = _words(get_language() or "")
    html = []
    for line in activities:
        change = ""
        if line.new_value and line.verb != "created":
            old = activity_value(line.verb, line.old_value) if line.old_value else ""
            new = activity_value(line.verb, line.new_value)
            change = ' <span class="change">{}{}</span>'.format(
                f"{escape(old)} → " if old else "", escape(new)
            )
        html.append(
            FEED_LINE.format(
                when=time_tag(line.created_at, relative(line.created_at, at)),
                actor=escape(line.actor_display),
                verb=words["verb"].get(line.verb) or escape(line.verb),
                url=_url_of(line.ticket.reference),
                ref=line.ticket.reference,
                subject=escape(line.ticket.subject or ""),
                change=change,
            )
        )
    return mark_safe("".join(html))  # noqa: S308 - every value above is escaped
