"""client_ip(): one canonical address per client for lockouts, throttles, audit and metrics."""

from __future__ import annotations

import ipaddress

import pytest
from django.test import RequestFactory

from ticketsystem.clientip import client_ip, network_of


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("::ffff:192.0.2.7", "192.0.2.7"),  # a dual-stack socket's view of an IPv4 client
        ("2001:DB8::1", "2001:db8::1"),
        ("not-an-ip", None),
        ("", None),
    ],
)
def test_it_gives_the_remote_address_in_canonical_form(settings, remote, expected):
    settings.TRUSTED_PROXY_COUNT = 0
    request = RequestFactory().get("/", REMOTE_ADDR=remote)
    assert client_ip(request) == expected


def test_it_takes_the_entry_our_proxy_added_and_ignores_what_the_client_sent(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = [ipaddress.ip_network("10.0.0.0/24")]
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, ::ffff:198.51.100.9"
    )
    assert client_ip(request) == "198.51.100.9"


def test_a_mapped_address_counts_as_the_same_client_for_the_metrics_allow_list(
    client, db, settings
):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.0.0.0/8")]
    assert client.get("/metrics", REMOTE_ADDR="::ffff:10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:192.0.2.1").status_code == 403


@pytest.mark.parametrize(
    ("address", "counted_as"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"),
        ("2001:DB8:1:2::1", "2001:db8:1:2::"),
        ("::1", "::"),
        (None, None),
    ],
)
def test_lockouts_and_throttles_count_an_ipv6_client_as_its_slash_64(address, counted_as):
    assert network_of(address) == counted_as


@pytest.mark.parametrize("remote", ["203.0.113.9", "10.0.1.2", "::ffff:203.0.113.9", "bogus"])
def test_it_ignores_x_forwarded_for_from_a_peer_that_is_not_our_proxy(settings, remote):
    # Reaching the app server directly (past nginx) must not let a client name its address.
    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = [ipaddress.ip_network("10.0.0.0/24")]
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert client_ip(request) != "198.51.100.1"


def test_the_default_trusts_only_a_proxy_on_this_host(settings):
    from ticketsystem.edgeconfig import edge_settings

    settings.TRUSTED_PROXY_COUNT = 1
    settings.TRUSTED_PROXY_NETWORKS = edge_settings()["TRUSTED_PROXY_NETWORKS"]
    via_nginx = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4")
    direct = RequestFactory().get("/", REMOTE_ADDR="192.0.2.8", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(via_nginx) == "1.2.3.4"
    assert client_ip(direct) == "192.0.2.8"
