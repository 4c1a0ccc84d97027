"""The ticket list's vocabulary: its sorts (column headers and the Sort select share them),
and its filters as one Q (the list, its live resynchronisation and the saved views' counts
in the navigation share it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Case, F, OrderBy, Q, Value, When
from django.db.models.expressions import BaseExpression
from django.utils import timezone

from tickets import access
from tickets.models import ACTIVE_STATUSES, Status
from tickets.search import query as search_query

DUE_SOON = timedelta(hours=1)
DEFAULT_SORT = "updated"

_STATUS_ORDER = Case(
    *(When(status=s, then=Value(i)) for i, s in enumerate(Status.values)), default=Value(99)
)
# A due date counts only while the ticket is active (the list shows "—" otherwise).
_ACTIVE_DUE = Case(When(status__in=ACTIVE_STATUSES, then=F("due_at")), default=None)

# name -> (label, [(expression, descending)]) in the column's natural direction; "-name"
# is the same column reversed. Tickets without a due date sort last either way.
SORT_COLUMNS: dict[str, tuple[str, list[tuple[BaseExpression | str, bool]]]] = {
    "updated": ("Recently updated", [("updated_at", True)]),
    "created": ("Newest", [("created_at", True)]),
    "priority": ("Priority", [("priority", True), ("updated_at", True)]),
    "due": ("Due soonest", [(_ACTIVE_DUE, False)]),
    "ref": ("Reference", [("id", True)]),
    "subject": ("Subject", [("subject", False)]),
    "queue": ("Queue", [("queue__name", False)]),
    "status": ("Status", [(_STATUS_ORDER, False)]),
    "assignee": ("Assignee", [("assignee__username", False)]),
}
ALIASES = {"oldest": "-created"}
REVERSED_LABELS = {
    "updated": "Least recently updated",
    "created": "Oldest",
    "priority": "Lowest priority",
    "due": "Due latest",
    "ref": "Reference, oldest first",
    "subject": "Subject, Z to A",
    "queue": "Queue, Z to A",
    "status": "Status, closed first",
    "assignee": "Assignee, Z to A",
}


def sort_choices() -> list[tuple[str, str]]:
    forward = [(name, label) for name, (label, _) in SORT_COLUMNS.items()]
    backward = [(f"-{name}", REVERSED_LABELS[name]) for name in SORT_COLUMNS]
    return [*forward, ("oldest", "Oldest"), *backward]


def order_by(sort: str | None) -> list[OrderBy]:
    """The ORDER BY of a sort name ("due", "-due"); the id breaks ties in the same direction."""
    sort = ALIASES.get(sort or "", sort or DEFAULT_SORT)
    flip = sort.startswith("-")
    _, columns = SORT_COLUMNS[sort.lstrip("-")]
    order = []
    for expression, descending in columns:
        expr = F(expression) if isinstance(expression, str) else expression
        down = descending != flip
        order.append(expr.desc(nulls_last=True) if down else expr.asc(nulls_last=True))
    tie_down = columns[0][1] != flip
    order.append(F("id").desc() if tie_down else F("id").asc())
    return order


def filter_q(user: Any, filters: dict[str, Any]) -> Q:
    """The list's filters (cleaned by TicketFilterForm) as one condition on visible tickets."""
    q = Q()
    if text := (filters.get("q") or "").strip():
        pk = search_query.typed_pk(text)
        found = search_query.parse(text)
        internal = access.can_read_internal_notes(user)
        if found.problem:
            q &= Q(pk=pk) if pk else Q(pk__in=[])
        else:
            q &= search_query.match(found, internal=internal, or_pk=pk)
    status = filters.get("status") or "active"
    if status == "active":
        q &= Q(status__in=ACTIVE_STATUSES)
    elif status != "any":
        q &= Q(status=status)
    if filters.get("queue"):
        q &= Q(queue=filters["queue"])
    if filters.get("priority"):
        q &= Q(priority=filters["priority"])
    assignee = filters.get("assignee")
    if assignee == "me":
        q &= Q(assignee=user)
    elif assignee == "unassigned":
        q &= Q(assignee__isnull=True)
    elif assignee:
        q &= Q(assignee_id=int(assignee))
    due = filters.get("due")
    now = timezone.now()
    if due == "overdue":
        q &= Q(status__in=ACTIVE_STATUSES, due_at__lt=now)
    elif due == "soon":
        q &= Q(status__in=ACTIVE_STATUSES, due_at__gte=now, due_at__lt=now + DUE_SOON)
    if tag := filters.get("tag"):
        from tickets.organising_models import Tag

        slug = tag.slug if isinstance(tag, Tag) else tag
        tagged = Tag.tickets.through.objects.filter(tag__slug=slug).values("ticket_id")
        q &= Q(pk__in=tagged)
    return q


def filters_from_query(query: str) -> dict[str, Any]:
    """A saved view's filters from its query string, without asking the database: values
    that do not fit are dropped (counts run on visible tickets, so a foreign id finds none)."""
    from django.http import QueryDict

    data = QueryDict(query)
    filters: dict[str, Any] = {"q": data.get("q", "")[:200]}
    status = data.get("status", "")
    if status in ("active", "any", *Status.values):
        filters["status"] = status
    for name in ("queue", "priority"):
        value = data.get(name, "")
        if value.isdigit() and len(value) < 10:
            filters[name] = int(value)
    assignee = data.get("assignee", "")
    if assignee in ("me", "unassigned") or (assignee.isdigit() and len(assignee) < 10):
        filters["assignee"] = assignee
    if data.get("due") in ("overdue", "soon"):
        filters["due"] = data["due"]
    if tag := data.get("tag", "")[:50]:
        filters["tag"] = tag
    return filters
