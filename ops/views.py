"""Health endpoints for load balancers and monitoring, and the managers' monitoring page."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from accounts.decorators import manager_required
from ops import metrics
from ops.health import MONITOR_CHECK_NAMES, readiness
from ops.models import BackupRun, MonitorCheck
from ticketsystem.clientip import client_ip

# The monitor runs every 5 minutes; older state means cron or the monitor itself is broken.
MONITOR_STALE_AFTER_MINUTES = 15


@never_cache
@require_safe  # GET or HEAD: uptime checkers often send HEAD
def healthz(request: HttpRequest) -> JsonResponse:
    """Alive: the process answers. Touches no database (readiness is /readyz)."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready for traffic: database, migrations, disk; 503 when not. Redis down is "degraded"
    (200: pages and writes still work). The checks' details only for the metrics token or an
    allowed address; anyone else learns the status alone."""
    status, checks = readiness()
    body: dict[str, object] = {"status": status}
    if _metrics_allowed(request)[0]:
        body["checks"] = checks
    return JsonResponse(body, status=503 if status == "not ready" else 200)


def _metrics_allowed(request: HttpRequest) -> tuple[bool, bool]:
    """(allowed, token_offered): a valid bearer token, or a client IP on the allow-list."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    offered = scheme.lower() == "bearer" and bool(token.strip())
    token_ok = bool(settings.METRICS_TOKEN) and hmac.compare_digest(
        token.strip().encode(), settings.METRICS_TOKEN.encode()
    )
    if offered and token_ok:
        return True, True
    ip = client_ip(request)
    if ip and settings.METRICS_ALLOWED_NETWORKS:
        address = ipaddress.ip_address(ip)
        if any(address in network for network in settings.METRICS_ALLOWED_NETWORKS):
            return True, offered
    return False, offered


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition, for a bearer token (METRICS_TOKEN) or an allowed IP."""
    allowed, offered = _metrics_allowed(request)
    if not allowed:
        if offered or settings.METRICS_TOKEN:
            response = HttpResponse(
                "A valid bearer token is required.\n", status=401, content_type="text/plain"
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        return HttpResponse(
            "Metrics are not open to this address.\n", status=403, content_type="text/plain"
        )
    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_PLAIN_0_0_4)


@manager_required
@require_GET
def monitoring(request: HttpRequest) -> HttpResponse:
    """Each monitor rule's last state and the recent backups and restore drills."""
    states = {check.name: check for check in MonitorCheck.objects.all()}
    checks = [(name, states.get(name)) for name in MONITOR_CHECK_NAMES]
    last_run = max((c.last_checked_at for c in states.values()), default=None)
    stale = (
        last_run is None
        or (timezone.now() - last_run).total_seconds() > MONITOR_STALE_AFTER_MINUTES * 60
    )
    return render(
        request,
        "ops/monitoring.html",
        {
            "checks": checks,
            "last_run": last_run,
            "stale": stale,
            "stale_minutes": MONITOR_STALE_AFTER_MINUTES,
            "backups": BackupRun.objects.filter(kind=BackupRun.Kind.BACKUP)[:10],
            "drills": BackupRun.objects.exclude(kind=BackupRun.Kind.BACKUP)[:10],
            "max_age_hours": settings.BACKUP_MAX_AGE_HOURS,
        },
    )
