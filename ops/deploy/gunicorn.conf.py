"""gunicorn for the pages: `gunicorn -c ops/deploy/gunicorn.conf.py` (docker-compose.yml `web`).

Sync workers by default, 2 x cores + 1 of them (WEB_WORKERS): one request at a time each and
no keep-alive, so every new connection goes to a free worker. (gthread workers kept nginx's
and a load client's kept-alive connections on whichever worker had accepted them: one
process at 92 % of a core while the others idled, half the rate; and threads of one process
share one interpreter lock.) WEB_THREADS > 1 switches to gthread workers with that many
threads. Every worker holds a psycopg pool of WEB_THREADS connections (ticketsystem/serving.py),
so one process never uses more than WEB_THREADS database connections. The budget:
docs/operations.md. Request bodies are read from the socket into memory (never a temporary
file) and capped by the app (413) as well as nginx.
"""

from __future__ import annotations

import os
import shutil
import tempfile

wsgi_app = "ticketsystem.wsgi:application"
bind = [os.environ.get("WEB_BIND", "0.0.0.0:8000")]
threads = int(os.environ.get("WEB_THREADS", "1"))
worker_class = "sync" if threads == 1 else "gthread"
workers = int(os.environ.get("WEB_WORKERS") or 2 * (os.cpu_count() or 1) + 1)
# Never preload: each worker opens its own database pool after the fork.
preload_app = False
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 30  # gthread only: nginx keeps upstream connections alive (keepalive 32)
# Recycle workers now and then (spread out) so a slow leak never grows for ever.
max_requests = 20_000
max_requests_jitter = 2_000
# Headers as strict as nginx's; bodies are the app's (REQUEST_MAX_BODY_BYTES).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# The client address comes from ticketsystem/clientip.py (TRUSTED_PROXY_COUNT) alone.
forwarded_allow_ips = ""
# Worker heartbeat files in shared memory, not on the read-only disk.
_SHM = "/dev/shm"  # noqa: S108 (gunicorn's own heartbeat files, no request data)
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None
# Request metrics (ops/metrics.py) add up over every worker, whichever answers the scrape:
# prometheus-client's multi-process mode, in a directory of this server's own (in shared
# memory) unless the host names one its servers share (PROMETHEUS_MULTIPROC_DIR). Workers
# inherit it: the app is imported after the fork. Each host exposes its own totals;
# Prometheus scrapes every host and sums (docs/operations.md, "More than one host").
_OWN_METRICS_DIR = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _OWN_METRICS_DIR = tempfile.mkdtemp(prefix="ticketsystem-metrics-", dir=worker_tmp_dir)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _OWN_METRICS_DIR


def child_exit(server: object, worker: object) -> None:
    """A worker's live gauges leave with it (its counters stay in the totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]


def on_exit(server: object) -> None:
    if _OWN_METRICS_DIR:
        shutil.rmtree(_OWN_METRICS_DIR, ignore_errors=True)


accesslog = "-" if os.environ.get("WEB_ACCESS_LOG", "") == "on" else None
# Path without the query string (%(U)s, never %(r)s or %(q)s): searches and filters of
# authenticated pages carry personal data (docs/security.md).
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'

errorlog = "-"
