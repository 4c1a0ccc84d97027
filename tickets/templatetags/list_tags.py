"""The ticket list's sortable column headers and the navigation's saved views."""

from __future__ import annotations

from typing import Any

from django import template
from django.http import QueryDict
from django.utils.html import format_html
from django.utils.safestring import SafeString

from tickets import listing, selectors
from ticketsystem.roles import is_staff_member

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_header(context: dict[str, Any], label: str, column: str) -> SafeString:
    """A column header that sorts by its column, and the other way round when it already
    does; the other filters stay in the link."""
    request = context["request"]
    current = listing.ALIASES.get(context.get("current_sort") or "", context.get("current_sort"))
    query: QueryDict = request.GET.copy()
    for key in listing.PAGE_PARAMETERS:  # a cursor belongs to its sort: a new sort starts at page 1
        query.pop(key, None)
    query["sort"] = f"-{column}" if current == column else column
    state = ""
    if current in (column, f"-{column}"):
        natural_down = listing.SORT_COLUMNS[column][1][0][1]
        down = natural_down if current == column else not natural_down
        state = "descending" if down else "ascending"
    marker = {"descending": " ▼", "ascending": " ▲"}.get(state, "")
    if state:
        return format_html(
            '<th scope="col" aria-sort="{}"><a href="?{}">{}<span aria-hidden="true">{}</span></a></th>',
            state,
            query.urlencode(),
            label,
            marker,
        )
    return format_html('<th scope="col"><a href="?{}">{}</a></th>', query.urlencode(), label)


@register.inclusion_tag("tickets/partials/saved_views_nav.html", takes_context=True)
def saved_views_nav(context: dict[str, Any]) -> dict[str, Any]:
    """The user's saved views with how many tickets each lists now (one counting query)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not is_staff_member(user):
        return {"views": []}
    views = list(selectors.saved_views(user))
    counts = selectors.saved_view_counts(user, views)
    return {"views": [(view, counts[view.pk]) for view in views]}
