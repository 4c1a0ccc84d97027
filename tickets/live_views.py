"""JSON for live pages: what a page fetches after (re)connecting its websocket, so nothing
missed while it was offline stays missed. Same access rules and same rows as the HTML pages;
ids, codes and display text only.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import PageNotAnInteger
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts import throttle
from accounts.decorators import staff_required
from tickets import access, keyset, selectors, views
from tickets.forms import TicketFilterForm
from tickets.live.events import activity_fields, ticket_fields
from tickets.models import Activity


def _activity_entry(activity: Activity) -> dict[str, Any]:
    ticket = activity.ticket
    return {
        **activity_fields(activity),
        "ticket": {
            "id": ticket.pk,
            "ref": ticket.reference,
            "subject": ticket.subject,
            "url": ticket.get_absolute_url(),
        },
    }


@never_cache
@require_GET
@staff_required
def dashboard_json(request: HttpRequest) -> JsonResponse:
    data = selectors.dashboard_data(request.user)
    lists = {
        name: [ticket_fields(t) for t in data[name]]
        for name in ("mine", "unassigned", "overdue", "due_soon")
    }
    return JsonResponse(
        {
            "counts": data["counts"],
            "totals": data["totals"],
            "lists": lists,
            "activity": [_activity_entry(a) for a in data["activity"]],
            "next_boundary": selectors.next_boundary(request.user),
            "now": data["now"].isoformat(),
        }
    )


@never_cache
@require_GET
@staff_required
def ticket_list_json(request: HttpRequest) -> JsonResponse:
    """The rows of one page of the ticket list, with the list's own filters and sort."""
    form = TicketFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    # A search here counts like one on the list page (and answers 429 in JSON, which live.js
    # treats as a failed resync, not as a logout).
    if form.cleaned_data.get("q", "").strip():
        wait = throttle.hit("search", request.user.pk)
        if wait is not None:
            response = JsonResponse({"errors": {"q": _("Too many searches.")}}, status=429)
            response["Retry-After"] = str(wait)
            return response
    # The list view's own filtering and paging, so both answers always agree.
    try:
        page = views.ticket_page(request, form)
    except PageNotAnInteger:
        return JsonResponse(
            {"errors": {"page": _("The page number must be a whole number.")}}, status=400
        )
    except keyset.BadCursor:
        return JsonResponse({"errors": {"page": "This page link is not valid."}}, status=400)
    return JsonResponse(
        {
            "count": page.paginator.count,
            # More matches than were counted: count is a floor (selectors.LIST_COUNT_CAP).
            "count_capped": page.paginator.capped,
            "page": page.number,
            "num_pages": page.paginator.num_pages,
            "per_page": page.paginator.per_page,
            # With a search: each row's snippet as (text, is a match) pieces, drawn as text.
            "rows": [
                {**ticket_fields(t), "snippet": getattr(t, "search_parts", None)}
                for t in page.object_list
            ],
        }
    )


@never_cache
@require_GET
@staff_required
def ticket_json(request: HttpRequest, ref: str) -> JsonResponse:
    """One ticket as a live page shows it (a detail page checks whether it missed a change)."""
    ticket = access.get_ticket_or_404(request.user, ref, selectors.live_ticket_queryset())
    return JsonResponse({"ticket": ticket_fields(ticket)})
