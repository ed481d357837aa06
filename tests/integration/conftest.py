"""Fixtures shared by the integration tests (a module-scoped fixture is still one per test module)."""

from __future__ import annotations

import secrets

import pytest
from aiohttp.test_utils import TestClient, TestServer

from kazoo_crossbar.app import SERVICES, create_app
from kazoo_crossbar.config import Settings

from .. import broker
from ..eventually import eventually


@pytest.fixture(scope="module")
async def tenant(kazoo, client):
    account = await kazoo.account()
    headers = {"X-Auth-Token": await kazoo.token_for(account)}
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources", json={"data": {"name": "BYOC", "gateways": []}}, headers=headers
    )
    return account, headers, (await resp.json())["data"]["id"]


@pytest.fixture(scope="module")
async def bus_client(settings, master):
    node = f"bus_{secrets.token_hex(3)}@test"
    app = create_app(
        Settings(couchdb_url=settings.couchdb_url, node_name=node, amqp_url=broker.amqp_url()), background=False
    )
    async with TestClient(TestServer(app)) as c:
        await eventually(lambda: app[SERVICES].bus.connected, what="the service connects to RabbitMQ")
        yield c


@pytest.fixture
async def listener():
    lst = await broker.Listener().start()
    yield lst
    await lst.close()
