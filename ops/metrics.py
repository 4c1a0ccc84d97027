"""Prometheus metrics: request counts and latency per view, and the helpdesk's state.

Request metrics are counted in-process (with PROMETHEUS_MULTIPROC_DIR set, prometheus-client
aggregates several daphne processes on one host). Everything else is read from the database
and cache at scrape time, so every process answers the same.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from django.db import DatabaseError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from tickets.live.registry import open_count

REGISTRY = CollectorRegistry(auto_describe=True)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "ticketsystem_http_requests",
    "HTTP requests answered, by view, method and status code.",
    ["view", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "ticketsystem_http_request_duration_seconds",
    "Time to answer an HTTP request, by view.",
    ["view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)


def view_label(request: HttpRequest) -> str:
    """The URL pattern's name: bounded label values, never raw paths or ids."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unresolved"
    return match.view_name or match._func_path or "unnamed"


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        view = view_label(request)
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(view, method, str(response.status_code)).inc()
        LATENCY.labels(view).observe(time.perf_counter() - start)
        return response


def _gauge(
    name: str, documentation: str, value: float, labels: dict[str, str] | None = None
) -> Metric:
    family = GaugeMetricFamily(name, documentation, labels=list(labels or {}))
    family.add_metric(list((labels or {}).values()), value)
    return family


class HelpdeskCollector:
    """Gauges computed from the database and cache at scrape time."""

    def collect(self) -> Iterator[Metric]:
        from audit.tally import failure_count
        from ops.models import BackupRun
        from tickets.models import ACTIVE_STATUSES, Status, Ticket

        now = timezone.now()
        try:
            by_status = dict(
                Ticket.objects.values_list("status").annotate(n=Count("id")).order_by()
            )
            tickets = GaugeMetricFamily(
                "ticketsystem_tickets", "Tickets by status.", labels=["status"]
            )
            for status in Status.values:
                tickets.add_metric([status], by_status.get(status, 0))
            yield tickets
            yield _gauge(
                "ticketsystem_sla_breaches",
                "Active tickets (new, open, pending) past their resolution due time.",
                Ticket.objects.filter(status__in=ACTIVE_STATUSES, due_at__lt=now).count(),
            )
            window = now - timedelta(minutes=15)
            recent = {
                action: failure_count(action, window) for action in ("login_failed", "locked_out")
            }
            yield _gauge(
                "ticketsystem_failed_logins_15m",
                "Failed logins recorded in the last 15 minutes.",
                recent.get("login_failed", 0),
            )
            yield _gauge(
                "ticketsystem_lockouts_15m",
                "Account lockouts recorded in the last 15 minutes.",
                recent.get("locked_out", 0),
            )
            for kind, name, what in (
                (BackupRun.Kind.BACKUP, "backup", "backup"),
                (BackupRun.Kind.VERIFY, "restore_drill", "restore drill"),
            ):
                last = (
                    BackupRun.objects.filter(kind=kind, ok=True)
                    .order_by("-finished_at")
                    .values_list("finished_at", flat=True)
                    .first()
                )
                yield _gauge(
                    f"ticketsystem_{name}_last_success_timestamp_seconds",
                    f"Unix time of the last successful {what} (0: never).",
                    last.timestamp() if last else 0,
                )
                yield _gauge(
                    f"ticketsystem_{name}_age_seconds",
                    f"Seconds since the last successful {what} (+Inf: never).",
                    (now - last).total_seconds() if last else math.inf,
                )
            database_up = 1
        except DatabaseError:
            database_up = 0
        yield _gauge(
            "ticketsystem_database_up", "1 when the database answered this scrape.", database_up
        )
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # Else the multi-process collector sums every live process's own gauge.
            yield _gauge(
                "ticketsystem_websockets_open",
                "Open dashboard websockets (live server processes).",
                open_count(),
            )


def exposition() -> bytes:
    """The text exposition of every metric for one scrape."""
    registry = CollectorRegistry(auto_describe=True)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(HelpdeskCollector())
    return generate_latest(registry)


class _Forward:
    """Expose one registry's metrics through another."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        return self.source.collect()

    def describe(self) -> list[Any]:
        return []
