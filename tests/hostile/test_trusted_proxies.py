"""Login rate limits behind a reverse proxy: X-Forwarded-For is believed only from a configured
trusted proxy (docs/production.md). Like tests/hostile/test_limits.py, each app runs under a node
name of its own with a 5-token bucket that does not refill, so the shared test server's logins
are unaffected."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp.test_utils import TestClient, TestServer

from kazoo_crossbar.app import create_app
from kazoo_crossbar.config import Settings, parse_networks

TOKENS = 5
WRONG_KEY = {"data": {"api_key": "0" * 64}}


@pytest.fixture
async def login_app(couchdb_url, couch, master) -> AsyncIterator[Callable]:
    """An app factory: `await make(trusted)` serves with these trusted proxies and its own buckets."""
    nodes: list[str] = []
    opened: list[TestClient] = []

    async def make(trusted: str) -> TestClient:
        node = f"kazoo_crossbar_proxy_{secrets.token_hex(3)}@localhost"
        doc = await couch.get_doc("system_config", "token_buckets")
        doc[node] = {"crossbar": {"max_bucket_tokens": TOKENS, "tokens_fill_rate": 0}}
        await couch.save_doc("system_config", doc)
        nodes.append(node)
        settings = Settings(couchdb_url=couchdb_url, node_name=node, trusted_proxies=parse_networks(trusted, "test"))
        client = TestClient(TestServer(create_app(settings, background=False)))
        await client.start_server()
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.close()
    doc = await couch.get_doc("system_config", "token_buckets")
    for node in nodes:
        doc.pop(node, None)
    await couch.save_doc("system_config", doc)


async def statuses(client: TestClient, forwarded_for: list[str]) -> list[int]:
    out = []
    for value in forwarded_for:
        resp = await client.put("/v2/api_auth", json=WRONG_KEY, headers={"X-Forwarded-For": value})
        out.append(resp.status)
    return out


@pytest.mark.parametrize("trusted", ["", "10.0.0.0/8"])  # none, or proxies elsewhere: the test peer is 127.0.0.1
async def test_a_spoofed_forwarded_for_from_an_untrusted_peer_does_not_escape_the_limit(login_app, trusted):
    client = await login_app(trusted)
    spoofed = [f"203.0.113.{i}" for i in range(TOKENS + 3)]  # a new "client" on every request
    assert await statuses(client, spoofed) == [404] * TOKENS + [429] * 3


async def test_from_a_trusted_proxy_each_forwarded_client_has_its_own_bucket(login_app):
    client = await login_app("127.0.0.1")
    assert await statuses(client, ["203.0.113.1"] * (TOKENS + 1)) == [404] * TOKENS + [429]
    # another client behind the same proxy is not held back by the first
    assert await statuses(client, ["203.0.113.2"]) == [404]
    # what a client writes into the header itself is left of the proxy's entry: no way out
    assert await statuses(client, ["198.51.100.9, 203.0.113.1"]) == [429]
    # without the header the proxy's own bucket (fresh) pays
    resp = await client.put("/v2/api_auth", json=WRONG_KEY)
    assert resp.status == 404
