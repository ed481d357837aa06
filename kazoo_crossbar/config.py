"""Service settings: command-line options with environment fallbacks (decisions.md)."""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass

from yarl import URL

DEFAULT_COUCHDB_URL = "http://127.0.0.1:5984"


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the setting and what is wrong."""


def parse_port(value: object, source: str) -> int:
    try:
        port = int(str(value))
    except ValueError:
        raise ConfigError(f"{source}={value!r} is not a port number; use 1-65535") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"{source}={port} is out of range; use 1-65535")
    return port


def parse_seconds(value: object, source: str) -> float:
    try:
        seconds = float(str(value))
    except ValueError:
        raise ConfigError(f"{source}={value!r} is not a number of seconds") from None
    if not seconds > 0 or seconds == float("inf"):
        raise ConfigError(f"{source}={value!r} must be a positive number of seconds")
    return seconds


def parse_count(value: object, source: str) -> int:
    try:
        count = int(str(value))
    except ValueError:
        raise ConfigError(f"{source}={value!r} is not a whole number (0 for no limit)") from None
    if count < 0:
        raise ConfigError(f"{source}={count} must be 0 (no limit) or more")
    return count


def parse_address(value: object, source: str) -> tuple[str, int]:
    """HOST:PORT ([::1]:PORT for IPv6), or PORT alone for 127.0.0.1."""
    text = str(value).strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    host = host.strip("[]") if host.startswith("[") and host.endswith("]") else host
    if not host or not port:
        raise ConfigError(f"{source}={value!r} is not HOST:PORT, e.g. 127.0.0.1:9100")
    return host, parse_port(port, source)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: object, source: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR blocks (10.0.0.5, 10.0.0.0/24, ::1); empty: none."""
    networks = []
    for item in str(value).split(","):
        if not item.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise ConfigError(
                f"{source}: {item.strip()!r} is not an address or a CIDR block such as 10.0.0.0/24"
            ) from None
    return tuple(networks)


def check_http_url(value: str, source: str) -> str:
    """value if it is an absolute http(s) URL; the error never shows its password."""
    try:
        url = URL(value)
        ok = url.scheme in ("http", "https") and bool(url.host) and url.port is not None
    except (ValueError, TypeError):
        ok = False
    if not ok:
        shown = "an unparsable value" if "@" in value else repr(value)  # may hold a password
        raise ConfigError(f"{source} is {shown}, not an http(s) URL such as http://user:pass@127.0.0.1:5984")
    return value


@dataclass(frozen=True)
class Settings:
    couchdb_url: str = DEFAULT_COUCHDB_URL
    host: str = "0.0.0.0"
    port: int = 8000
    amqp_url: str | None = None
    # The node name Kazoo components see (pvt_node, envelope `node`); Kazoo's are `app@host`.
    node_name: str = f"kazoo_crossbar@{socket.gethostname()}"
    zone: str = "local"
    log_format: str = "json"
    # connections (http/protocol.py): headers and body must arrive in time, and one address may
    # hold this many connections at once (0: no limit; behind a reverse proxy, see docs/production.md)
    header_timeout_s: float = 10.0
    body_timeout_s: float = 60.0
    max_connections_per_ip: int = 256
    # /metrics on its own HOST:PORT instead of the API's address (None: served with the API)
    metrics_address: tuple[str, int] | None = None
    # reverse proxies whose X-Forwarded-For is believed for the client's address (login rate
    # limits, http/ratelimit.py); none by default: the peer's address is the client's
    trusted_proxies: tuple[Network, ...] = ()

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        values: dict[str, object] = {
            "couchdb_url": env.get("KAZOO_COUCHDB_URL", DEFAULT_COUCHDB_URL),
            "host": env.get("KAZOO_CROSSBAR_HOST", "0.0.0.0"),
            "port": parse_port(env.get("KAZOO_CROSSBAR_PORT", "8000"), "KAZOO_CROSSBAR_PORT"),
            "amqp_url": env.get("KAZOO_AMQP_URL") or None,
            "node_name": env.get("KAZOO_NODE_NAME") or cls.node_name,
            "zone": env.get("KAZOO_ZONE", "local"),
            "log_format": env.get("KAZOO_LOG_FORMAT", "json"),
        }
        for key, name, parse in (
            ("header_timeout_s", "KAZOO_CROSSBAR_HEADER_TIMEOUT_S", parse_seconds),
            ("body_timeout_s", "KAZOO_CROSSBAR_BODY_TIMEOUT_S", parse_seconds),
            ("max_connections_per_ip", "KAZOO_CROSSBAR_MAX_CONNECTIONS_PER_IP", parse_count),
            ("metrics_address", "KAZOO_CROSSBAR_METRICS_ADDRESS", parse_address),
            ("trusted_proxies", "KAZOO_TRUSTED_PROXIES", parse_networks),
        ):
            if env.get(name):
                values[key] = parse(env[name], name)
        values.update({k: v for k, v in overrides.items() if v is not None})
        source = "--couchdb-url" if overrides.get("couchdb_url") else "KAZOO_COUCHDB_URL"
        check_http_url(str(values["couchdb_url"]), source)
        return cls(**values)  # type: ignore[arg-type]
