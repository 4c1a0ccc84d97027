"""Redis down: search and ticket writes still work; the throttle counts per process (logged
once) and /readyz says degraded. A real redis-server of the test's own is stopped and started."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from accounts import throttle
from tests.conftest import login
from tests.redisserver import redis_server  # noqa: F401 (fixture)

RATES = {"post": 3, "search": 2}


@pytest.fixture
def own_redis(settings, redis_server, monkeypatch):  # noqa: F811
    monkeypatch.setattr(throttle, "local_counts", throttle.LocalCounts())
    settings.THROTTLE_RATES = RATES
    settings.REDIS_URL = redis_server.url
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_server.url,
            "KEY_PREFIX": "h12b-throttle",
        }
    }
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [redis_server.url], "prefix": "h12b-throttle."},
        }
    }
    return redis_server


def test_search_and_writes_work_while_redis_is_down(own_redis, agent, ticket_a, caplog, tmp_path):
    client = login(Client(), agent)
    own_redis.stop()
    with caplog.at_level(logging.WARNING, logger="accounts.throttle"):
        assert client.get("/tickets/", {"q": "Printer"}).status_code == 200
        url = f"/tickets/{ticket_a.reference}/comment/"
        statuses = [client.post(url, {"body": "Looking"}).status_code for _ in range(4)]
    # Per process now, but still a limit: the fourth write in the minute is refused.
    assert statuses == [302, 302, 302, 429]
    assert ticket_a.comments.count() == 3
    warnings = [r.getMessage() for r in caplog.records if r.name == "accounts.throttle"]
    assert len(warnings) == 1 and "counting per process" in warnings[0]


def test_the_throttle_is_shared_again_when_redis_returns(own_redis, agent, caplog):
    client = login(Client(), agent)
    own_redis.stop()
    assert client.get("/tickets/", {"q": "a"}).status_code == 200
    own_redis.start()
    with caplog.at_level(logging.WARNING, logger="accounts.throttle"):
        assert client.get("/tickets/", {"q": "a"}).status_code == 200
    assert any("reachable again" in r.getMessage() for r in caplog.records)
    import redis

    keys = redis.Redis.from_url(own_redis.url).keys("h12b-throttle:*throttle:search*")
    assert keys  # counted in Redis again


def test_readyz_says_degraded_while_redis_is_down(own_redis, client, db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    own_redis.stop()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    own_redis.start()
    assert client.get("/readyz").json()["status"] == "ready"
