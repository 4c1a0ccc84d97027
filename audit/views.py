"""Read-only audit pages for managers: security events and model history, with CSV export."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC
from functools import wraps
from typing import Any

from auditlog.models import LogEntry
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.roles import is_manager
from audit.csvsafe import csv_lines
from audit.events import record_event
from audit.forms import KNOWN_ACTIONS, EventFilterForm, HistoryFilterForm
from audit.history import action_name, change_summary, history_rows
from audit.models import SecurityEvent

PER_PAGE = 50


def manager_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Managers and admins only; anyone else gets 403 and an ``access_denied`` event."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_manager(request.user):
            record_event(
                "access_denied", actor=request.user, request=request, resource=request.path[:200]
            )
            raise PermissionDenied("Only managers can see the audit trail.")
        return view(request, *args, **kwargs)

    return login_required(wrapper)


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


def _events_queryset() -> Any:
    return SecurityEvent.objects.order_by("-seq")


def _history_queryset() -> Any:
    return LogEntry.objects.select_related("content_type", "actor").order_by("-timestamp", "-id")


@require_GET
@manager_only
def events(request: HttpRequest) -> HttpResponse:
    form = EventFilterForm(request.GET)
    context: dict[str, Any] = {"form": form, "known_actions": KNOWN_ACTIONS, "page": None}
    if not form.is_valid():
        return render(request, "audit/events.html", context, status=400)
    page = _page(request, form.apply(_events_queryset()))
    if page is None:
        form.add_error(None, "The page number must be a whole number.")
        return render(request, "audit/events.html", context, status=400)
    context.update(page=page, query=_query_without_page(request))
    return render(request, "audit/events.html", context)


@require_GET
@manager_only
def history(request: HttpRequest) -> HttpResponse:
    form = HistoryFilterForm(request.GET)
    context: dict[str, Any] = {"form": form, "page": None}
    if not form.is_valid():
        return render(request, "audit/history.html", context, status=400)
    page = _page(request, form.apply(_history_queryset()))
    if page is None:
        form.add_error(None, "The page number must be a whole number.")
        return render(request, "audit/history.html", context, status=400)
    context.update(
        page=page, rows=history_rows(list(page.object_list)), query=_query_without_page(request)
    )
    return render(request, "audit/history.html", context)


def _csv_response(lines: Iterator[str], name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@manager_only
def events_csv(request: HttpRequest) -> HttpResponse:
    form = EventFilterForm(request.GET)
    if not form.is_valid():
        return render(
            request,
            "audit/events.html",
            {"form": form, "page": None, "known_actions": KNOWN_ACTIONS},
            status=400,
        )
    qs = form.apply(_events_queryset())
    record_event(
        "exported",
        actor=request.user,
        request=request,
        resource="security_events",
        details={"filters": form.active_filters(), "rows": qs.count()},
    )
    header = [
        "seq",
        "time (UTC)",
        "action",
        "user",
        "ip",
        "resource",
        "request id",
        "user agent",
        "details",
    ]
    rows = (
        [
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
        for e in qs.iterator(chunk_size=2000)
    )
    return _csv_response(csv_lines(header, rows), "security-events")


@require_GET
@manager_only
def history_csv(request: HttpRequest) -> HttpResponse:
    form = HistoryFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "audit/history.html", {"form": form, "page": None}, status=400)
    qs = form.apply(_history_queryset())
    record_event(
        "exported",
        actor=request.user,
        request=request,
        resource="model_history",
        details={"filters": form.active_filters(), "rows": qs.count()},
    )
    header = [
        "time (UTC)",
        "user",
        "action",
        "record type",
        "record id",
        "record",
        "changes",
        "ip",
        "request id",
    ]
    rows = (
        [
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
        for entry in qs.iterator(chunk_size=2000)
    )
    return _csv_response(csv_lines(header, rows), "model-history")
