"""Read-only audit pages for managers: security events and model history, with CSV export."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from functools import wraps
from typing import Any

from auditlog.models import LogEntry
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from audit.csvsafe import csv_lines
from audit.events import record_event
from audit.forms import KNOWN_ACTIONS, EventFilterForm, HistoryFilterForm
from audit.history import action_name, change_summary, history_rows
from audit.models import SecurityEvent
from ticketsystem.roles import is_manager

PER_PAGE = 50


def manager_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Managers and admins only; anyone else gets 403 and an ``access_denied`` event."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_manager(request.user):
            record_event(
                "access_denied", actor=request.user, request=request, resource=request.path[:200]
            )
            raise PermissionDenied(_("Only managers can see the audit trail."))
        return view(request, *args, **kwargs)

    return login_required(wrapper)


@dataclass(frozen=True)
class AuditList:
    """One filterable audit page and its CSV export (URL names ``audit_<name>[_csv]``)."""

    name: str
    title: str
    filter_label: str
    export_name: str  # the CSV file's name and the "exported" event's resource
    form_class: type[EventFilterForm | HistoryFilterForm]
    queryset: Callable[[], QuerySet[Any]]
    csv_header: list[str]
    csv_row: Callable[[Any], list[Any]]
    page_rows: Callable[[list[Any]], list[Any]] | None = None
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def template(self) -> str:
        return f"audit/{self.name}.html"

    @property
    def url(self) -> str:
        return reverse(f"audit_{self.name}")

    @property
    def csv_url(self) -> str:
        return reverse(f"audit_{self.name}_csv")


_EVENT_CSV_HEADER = [
    "seq", "time (UTC)", "action", "user", "ip", "resource", "request id", "user agent", "details",
]  # fmt: skip
_HISTORY_CSV_HEADER = [
    "time (UTC)", "user", "action", "record type", "record id", "record", "changes", "ip",
    "request id",
]  # fmt: skip


def _event_csv_row(e: SecurityEvent) -> list[Any]:
    return [
        e.seq,
        e.created_at.astimezone(UTC).isoformat(),
        e.action,
        e.actor_username,
        e.ip or "",
        e.resource,
        e.request_id,
        e.user_agent,
        json.dumps(e.details, sort_keys=True, ensure_ascii=False),
    ]


def _history_csv_row(entry: LogEntry) -> list[Any]:
    return [
        entry.timestamp.astimezone(UTC).isoformat(),
        entry.actor.get_username() if entry.actor else "system",
        action_name(entry.action),
        entry.content_type.model,
        entry.object_pk,
        entry.object_repr,
        change_summary(entry),
        entry.remote_addr or "",
        entry.cid or "",
    ]


EVENTS = AuditList(
    name="events",
    title=_("Security events"),
    filter_label=_("Filter security events"),
    export_name="security_events",
    form_class=EventFilterForm,
    queryset=lambda: SecurityEvent.objects.order_by("-seq"),
    csv_header=_EVENT_CSV_HEADER,
    csv_row=_event_csv_row,
    context={"known_actions": KNOWN_ACTIONS},
)
HISTORY = AuditList(
    name="history",
    title=_("Model history"),
    filter_label=_("Filter model history"),
    export_name="model_history",
    form_class=HistoryFilterForm,
    queryset=lambda: LogEntry.objects.select_related("content_type", "actor").order_by(
        "-timestamp", "-id"
    ),
    csv_header=_HISTORY_CSV_HEADER,
    csv_row=_history_csv_row,
    page_rows=history_rows,
)


def _page(request: HttpRequest, qs: Any) -> Any:
    raw = request.GET.get("page", "1")
    try:
        if len(raw) > 6:
            raise EmptyPage
        return Paginator(qs, PER_PAGE).page(raw)
    except PageNotAnInteger:
        return None
    except EmptyPage:
        raise Http404("No such page") from None


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _render(
    request: HttpRequest, audit: AuditList, form: Any, status: int = 200, **extra: Any
) -> HttpResponse:
    context = {"audit": audit, "form": form, "page": None, **audit.context, **extra}
    return render(request, audit.template, context, status=status)


def _list(request: HttpRequest, audit: AuditList) -> HttpResponse:
    form = audit.form_class(request.GET)
    if not form.is_valid():
        return _render(request, audit, form, status=400)
    page = _page(request, form.apply(audit.queryset()))
    if page is None:
        form.add_error(None, _("The page number must be a whole number."))
        return _render(request, audit, form, status=400)
    rows = audit.page_rows(list(page.object_list)) if audit.page_rows else None
    return _render(request, audit, form, page=page, rows=rows, query=_query_without_page(request))


def _export(request: HttpRequest, audit: AuditList) -> HttpResponse:
    """The filtered list as formula-safe CSV; the export is recorded as an ``exported`` event."""
    form = audit.form_class(request.GET)
    if not form.is_valid():
        return _render(request, audit, form, status=400)
    qs = form.apply(audit.queryset())
    record_event(
        "exported",
        actor=request.user,
        request=request,
        resource=audit.export_name,
        details={"filters": form.active_filters(), "rows": qs.count()},
    )
    rows = (audit.csv_row(obj) for obj in qs.iterator(chunk_size=2000))
    response = StreamingHttpResponse(
        csv_lines(audit.csv_header, rows), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    filename = audit.export_name.replace("_", "-")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@manager_only
def events(request: HttpRequest) -> HttpResponse:
    return _list(request, EVENTS)


@require_GET
@manager_only
def events_csv(request: HttpRequest) -> HttpResponse:
    return _export(request, EVENTS)


@require_GET
@manager_only
def history(request: HttpRequest) -> HttpResponse:
    return _list(request, HISTORY)


@require_GET
@manager_only
def history_csv(request: HttpRequest) -> HttpResponse:
    return _export(request, HISTORY)
