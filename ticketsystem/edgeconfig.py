"""Settings for the edge of the app: trusted proxies and websocket limits (settings.py merges
them). Read from the environment and range-checked; a bad value is a one-line ConfigError."""

from __future__ import annotations

import ipaddress
from typing import Any

from ticketsystem.env import ConfigError, envint, envlist


def _limit(name: str, default: int, limit: int) -> int:
    return envint(name, default, minimum=1, maximum=limit)


def edge_settings() -> dict[str, Any]:
    """Every edge setting by name; raises ConfigError with a one-line reason."""
    # X-Forwarded-For is read only from these addresses (our nginx); anyone else reaching
    # the app directly is identified by REMOTE_ADDR, whatever headers it sends.
    proxies = envlist("TRUSTED_PROXY_IPS", "127.0.0.1/32,::1/128")
    try:
        networks = [ipaddress.ip_network(item, strict=False) for item in proxies]
    except ValueError as exc:
        raise ConfigError(f"TRUSTED_PROXY_IPS: {exc}") from None
    return {
        "TRUSTED_PROXY_IPS": proxies,
        "TRUSTED_PROXY_NETWORKS": networks,
        # Open dashboard sockets per login session and per user, in each server process.
        "LIVE_MAX_SOCKETS_PER_SESSION": _limit("LIVE_MAX_SOCKETS_PER_SESSION", 10, 1000),
        "LIVE_MAX_SOCKETS_PER_USER": _limit("LIVE_MAX_SOCKETS_PER_USER", 30, 10000),
        # Each server process checks its channel layer (Redis) this often; when it fails, the
        # process's sockets are closed so the pages show "reconnecting" and resync on return.
        "LIVE_LAYER_CHECK_SECONDS": _limit("LIVE_LAYER_CHECK_SECONDS", 5, 300),
        # Websocket handshakes per minute (shared through the cache across processes).
        "LIVE_HANDSHAKES_PER_MINUTE_PER_USER": _limit(
            "LIVE_HANDSHAKES_PER_MINUTE_PER_USER", 60, 100000
        ),
        "LIVE_HANDSHAKES_PER_MINUTE_PER_IP": _limit(
            "LIVE_HANDSHAKES_PER_MINUTE_PER_IP", 120, 100000
        ),
    }
