"""Under gunicorn with several workers, /metrics counts every worker's requests, whichever
worker answers the scrape (prometheus-client's multi-process mode, set up by
ops/deploy/gunicorn.conf.py)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.live.daphne import gunicorn

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

HEALTHZ = re.compile(
    r'^ticketsystem_http_requests_total\{method="GET",status="200",view="healthz"\} (\S+)$', re.M
)


def test_every_scrape_counts_the_requests_of_every_worker():
    with gunicorn(env={"WEB_WORKERS": "2"}) as web:
        # (start() asked /healthz until it answered: count from what the first scrape says)
        before = float(HEALTHZ.search(web.request("GET", "/metrics")[2]).group(1))
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: web.request("GET", "/healthz")[0], range(40)))
        assert statuses == [200] * 40
        totals = set()
        for _ in range(6):  # new connections: the workers take turns answering
            status, _, body = web.request("GET", "/metrics")
            assert status == 200
            totals.add(float(HEALTHZ.search(body).group(1)))
        assert totals == {before + 40}
