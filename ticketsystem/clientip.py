"""The client's IP address, the same answer for lockouts, audit events and throttles."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings


def _valid(value: str) -> str | None:
    """The address in canonical form; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) as IPv4."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)


def from_trusted_proxy(remote: str | None) -> bool:
    """Is this peer one of our proxies (TRUSTED_PROXY_IPS)?"""
    if remote is None:
        return False
    address = ipaddress.ip_address(remote)
    return any(address in network for network in settings.TRUSTED_PROXY_NETWORKS)


def client_ip(request: Any) -> str | None:
    """REMOTE_ADDR, or the X-Forwarded-For entry added by our outermost trusted proxy.

    With TRUSTED_PROXY_COUNT = N, each of our N proxies appends the address it saw, so the
    client is the N-th entry from the right. Anything further left was sent by the client
    and is ignored, so rotating X-Forwarded-For cannot change who we think the client is.
    The header is read only when the peer is one of TRUSTED_PROXY_IPS: a client reaching
    the app server directly cannot name itself someone else.
    """
    remote = _valid(request.META.get("REMOTE_ADDR", "") or "")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0 or not from_trusted_proxy(remote):
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) < count:
        return remote
    return _valid(forwarded[-count]) or remote


def user_agent(request: Any) -> str:
    return (request.META.get("HTTP_USER_AGENT", "") or "")[:512]


def network_of(address: str | None) -> str | None:
    """The unit that lockouts and throttles count: an IPv4 address itself, an IPv6 address
    as its /64 (what one subscriber or host usually holds), written as the /64's first address.
    """
    if not address:
        return address
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False).network_address)
    return str(parsed)


def client_network(request: Any) -> str | None:
    """client_ip() as lockouts and throttles count it (AXES_CLIENT_IP_CALLABLE)."""
    return network_of(client_ip(request))
