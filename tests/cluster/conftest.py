"""The cluster tier (tests/cluster/): the service on a real 3-node CouchDB 3 cluster, with nodes
killed (kill -9) and restarted under it. Skipped, with the reason, unless KAZOO_COUCHDB_URL is
a 3-node cluster (nodes.py says which variables it reads)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..eventually import eventually
from .nodes import Cluster, why_not_a_cluster

HERE = Path(__file__).parent
WHY_NOT = why_not_a_cluster()


def pytest_collection_modifyitems(items: list) -> None:
    if WHY_NOT is None:
        return
    skip = pytest.mark.skip(reason=WHY_NOT)
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def cluster(couchdb_url: str) -> Cluster:
    return Cluster(couchdb_url)


@pytest.fixture
def restartable(cluster: Cluster):
    """The cluster, for a test that kills nodes: whole again after the test whatever happened."""
    why = cluster.why_no_restarts()
    if why:
        pytest.skip(why)
    yield cluster
    cluster.restart()


@pytest.fixture
async def tenant(kazoo, client):
    account = await kazoo.account()
    # written straight to CouchDB as Kazoo does: the api_key view's copy may not have it yet
    token = await eventually(
        lambda: kazoo.token_for(account), lambda t: bool(t), what="the new account logs in", retry_on=(AssertionError,)
    )
    headers = {"X-Auth-Token": token}
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources", json={"data": {"name": "BYOC", "gateways": []}}, headers=headers
    )
    assert resp.status == 201, await resp.text()
    return account, headers, (await resp.json())["data"]["id"]
