"""Connection limits (http/protocol.py) and the serve settings that set them (config.py)."""

from __future__ import annotations

import pytest
import structlog

from kazoo_crossbar.config import ConfigError, Settings, parse_address, parse_count, parse_seconds
from kazoo_crossbar.http.protocol import ConnectionLimits


def test_per_address_cap():
    limits = ConnectionLimits(per_address=2)
    assert [limits.admit("10.0.0.1") for _ in range(3)] == [True, True, False]
    assert limits.admit("10.0.0.2")  # another address has its own count
    limits.release("10.0.0.1")
    assert limits.admit("10.0.0.1") and not limits.admit("10.0.0.1")
    assert limits.open == {"10.0.0.1": 2, "10.0.0.2": 1} and limits.open_total == 3


def test_total_cap_and_no_limit():
    limits = ConnectionLimits(per_address=0, total=3)
    assert [limits.admit(f"10.0.0.{i}") for i in range(4)] == [True, True, True, False]
    unlimited = ConnectionLimits(per_address=0, total=0)
    assert all(unlimited.admit("10.0.0.1") for _ in range(10_000))


def test_release_forgets_idle_addresses():
    limits = ConnectionLimits(per_address=5)
    limits.admit("10.0.0.1")
    limits.release("10.0.0.1")
    assert limits.open == {} and limits.open_total == 0


def test_refusals_are_logged_once_per_interval_with_their_count():
    limits = ConnectionLimits(per_address=1)
    limits.admit("10.0.0.1")
    with structlog.testing.capture_logs() as logs:
        for _ in range(1000):
            limits.admit("10.0.0.1")
        limits.admit("10.0.0.1")
    lines = [e for e in logs if e["event"] == "connection_cap_reached"]
    assert len(lines) == 1 and lines[0]["address"] == "10.0.0.1" and lines[0]["refused"] == 1
    assert lines[0]["max_connections_per_address"] == 1


@pytest.mark.parametrize(
    "value, address",
    [("127.0.0.1:9100", ("127.0.0.1", 9100)), ("9100", ("127.0.0.1", 9100)), ("[::1]:9100", ("::1", 9100))],
)
def test_metrics_address(value, address):
    assert parse_address(value, "--metrics-address") == address


@pytest.mark.parametrize("value", ["", "host:", ":9100", "127.0.0.1:99999", "127.0.0.1:x"])
def test_bad_metrics_address(value):
    with pytest.raises(ConfigError, match="--metrics-address"):
        parse_address(value, "--metrics-address")


def test_seconds_and_counts():
    assert parse_seconds("2.5", "x") == 2.5 and parse_count("0", "x") == 0
    for bad in ("0", "-1", "inf", "nan", "soon"):
        with pytest.raises(ConfigError):
            parse_seconds(bad, "x")
    for bad in ("-1", "1.5", "many"):
        with pytest.raises(ConfigError):
            parse_count(bad, "x")


def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("KAZOO_CROSSBAR_METRICS_ADDRESS", "127.0.0.1:9100")
    monkeypatch.setenv("KAZOO_CROSSBAR_HEADER_TIMEOUT_S", "3")
    monkeypatch.setenv("KAZOO_CROSSBAR_BODY_TIMEOUT_S", "4")
    monkeypatch.setenv("KAZOO_CROSSBAR_MAX_CONNECTIONS_PER_IP", "0")
    settings = Settings.from_env()
    assert settings.metrics_address == ("127.0.0.1", 9100)
    assert (settings.header_timeout_s, settings.body_timeout_s, settings.max_connections_per_ip) == (3.0, 4.0, 0)
    monkeypatch.setenv("KAZOO_CROSSBAR_MAX_CONNECTIONS_PER_IP", "lots")
    with pytest.raises(ConfigError, match="KAZOO_CROSSBAR_MAX_CONNECTIONS_PER_IP"):
        Settings.from_env()
