"""Whose address a login's token bucket is keyed by (http/ratelimit.py client_address)."""

from __future__ import annotations

import pytest

from kazoo_crossbar.config import ConfigError, parse_networks
from kazoo_crossbar.http.ratelimit import client_address

PROXIES = parse_networks("10.0.0.5, 10.1.0.0/16,::1", "test")


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says():
    assert client_address("198.51.100.7", ["203.0.113.1"], ()) == "198.51.100.7"
    assert client_address("198.51.100.7", ["203.0.113.1"], PROXIES) == "198.51.100.7"  # peer not a proxy


def test_from_a_trusted_proxy_the_right_most_untrusted_address_is_the_client():
    assert client_address("10.0.0.5", ["203.0.113.1"], PROXIES) == "203.0.113.1"
    # the client wrote "1.2.3.4" itself; the proxy appended what it saw
    assert client_address("10.0.0.5", ["1.2.3.4, 203.0.113.1"], PROXIES) == "203.0.113.1"
    # two proxies: the inner one (10.1.2.3) is trusted too, so the walk goes on past it
    assert client_address("10.0.0.5", ["1.2.3.4, 203.0.113.1, 10.1.2.3"], PROXIES) == "203.0.113.1"
    assert client_address("10.0.0.5", ["1.2.3.4", "203.0.113.1"], PROXIES) == "203.0.113.1"  # header repeated
    assert client_address("::1", ["2001:db8::1"], PROXIES) == "2001:db8::1"


def test_no_header_or_only_proxies_or_junk():
    assert client_address("10.0.0.5", [], PROXIES) == "10.0.0.5"
    assert client_address("10.0.0.5", ["10.1.0.9"], PROXIES) == "10.1.0.9"
    assert client_address("10.0.0.5", ["203.0.113.1, not-an-address"], PROXIES) == "10.0.0.5"
    assert client_address("10.0.0.5", ["junk, 10.1.0.9"], PROXIES) == "10.1.0.9"
    assert client_address(None, ["203.0.113.1"], PROXIES) is None


def test_the_setting_takes_addresses_and_cidr_blocks_and_names_a_bad_one():
    assert [str(n) for n in PROXIES] == ["10.0.0.5/32", "10.1.0.0/16", "::1/128"]
    assert parse_networks("", "x") == ()
    with pytest.raises(ConfigError, match=r"KAZOO_TRUSTED_PROXIES: 'proxy.example' is not an address"):
        parse_networks("10.0.0.1,proxy.example", "KAZOO_TRUSTED_PROXIES")
