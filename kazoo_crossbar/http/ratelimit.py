"""Per-client token buckets (Kazoo's kz_buckets, as cb_api_auth/cb_user_auth use them).

Configuration is Kazoo's: system_config `token_buckets` holds `max_bucket_tokens` (100) and
`tokens_fill_rate` (10 a second), each optionally under an app key (`crossbar`), looked up
node, zone, then `default`; the cost of a request is crossbar `token_costs` when it is an
integer (Kazoo's default 1), else the endpoint's `api_auth_tokens` / `user_auth_tokens` (35).
A client that runs out gets 429 `too_many_requests`. Buckets are keyed `IP/no_account`.

The client's IP is the peer's, unless the peer is one of the configured trusted proxies
(`--trusted-proxies` / KAZOO_TRUSTED_PROXIES, none by default): then `X-Forwarded-For` is read
from the right, each proxy having appended the address it saw, and the first address that is
not itself a trusted proxy is the client's. What a client writes into the header itself is left
of that, so it cannot choose its bucket; from an untrusted peer the header is ignored.

One `TokenBuckets` is built per route table (routes.py) and handed to the login endpoints.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from ..config import Network
from ..storage.system_config import SystemConfig
from . import errors

APP = "crossbar"
MAX_BUCKETS = 100_000  # oldest buckets are forgotten first: memory stays bounded under spoofed IPs


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(peer: str | None, forwarded_for: Sequence[str], proxies: Sequence[Network]) -> str | None:
    """The client's address: the peer's, or from a trusted peer the right-most X-Forwarded-For
    address that is not a trusted proxy (an entry that is no address ends the walk at the hop
    that sent it)."""
    if peer is None or not _trusted(peer, proxies):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    client = peer
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return client
        client = hop
        if not _trusted(hop, proxies):
            return hop
    return client


class TokenBuckets:
    def __init__(self, config: SystemConfig, node: str, zone: str, trusted_proxies: Sequence[Network] = ()):
        self.config, self.node, self.zone = config, node, zone
        self.trusted_proxies = tuple(trusted_proxies)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key → (tokens, at)

    def client_of(self, request: web.Request) -> str | None:
        return client_address(request.remote, request.headers.getall("X-Forwarded-For", []), self.trusted_proxies)

    async def _setting(self, key: str, default: int) -> int:
        doc = await self.config.category("token_buckets") or {}
        for section in (self.node, self.zone, "default"):
            values = doc.get(section)
            values = values if isinstance(values, dict) else {}
            app = values.get(APP)
            for value in (
                app.get(key) if isinstance(app, dict) else None,
                values.get(key),
            ):
                if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                    return value
        return default

    async def cost(self, endpoint_key: str) -> int:
        costs: Any = await self.config.get("crossbar", "token_costs", 1)
        if isinstance(costs, int) and not isinstance(costs, bool):
            return max(costs, 0)
        return await self.config.get_int("crossbar", endpoint_key, 35)

    async def consume(self, client_ip: str | None, cost: int) -> bool:
        """Take `cost` tokens; False (and the bucket emptied, as consume_tokens_until) if short."""
        size = await self._setting("max_bucket_tokens", 100)
        rate = await self._setting("tokens_fill_rate", 10)
        key = f"{client_ip or 'no_ip'}/no_account"
        now = time.monotonic()
        tokens, at = self._buckets.pop(key, (float(size), now))
        tokens = min(float(size), tokens + (now - at) * rate)
        allowed = tokens >= cost
        self._buckets[key] = (tokens - cost if allowed else 0.0, now)
        while len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)
        return allowed

    async def check(self, client_ip: str | None, endpoint_key: str) -> None:
        """429 when the client's bucket cannot pay for this request (Kazoo's consume_tokens/1)."""
        if not await self.consume(client_ip, await self.cost(endpoint_key)):
            raise errors.too_many_requests()
