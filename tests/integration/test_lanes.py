"""Interactive requests first: jobs reach CouchDB through a lane of their own (services.BULK_LANE
requests in flight, on their own connections), so a job's bulk work never takes the connections
the API's reads use, nor more than its share of CouchDB's queue."""

from __future__ import annotations

import asyncio

from kazoo_crossbar.app import SERVICES
from kazoo_crossbar.services import BULK_LANE

from ..kazoo import numbers_block, wait_for_job


class Counting:
    """Wraps a transport's request: counts `_bulk_docs` posts (those to number databases apart)
    and the most requests in flight."""

    def __init__(self, transport) -> None:
        self.transport, self.original = transport, transport.request
        self.bulk_posts = self.number_posts = 0
        self.in_flight = self.most = 0
        transport.request = self

    async def __call__(self, method, target, *args, **kwargs):
        if method == "POST" and "/_bulk_docs" in target:
            self.bulk_posts += 1
            self.number_posts += target.startswith("/numbers%2F")
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            return await self.original(method, target, *args, **kwargs)
        finally:
            self.in_flight -= 1

    def restore(self) -> None:
        del self.transport.request


async def test_a_job_writes_through_its_own_lane(client, kazoo):
    services = client.app[SERVICES]
    assert services.bulk_couch is not services.couch
    assert services.bulk_couch.transport.limit == BULK_LANE < services.couch.transport.limit
    account = await kazoo.account()
    headers = {"X-Auth-Token": await kazoo.token_for(account)}
    base = f"/v2/accounts/{account['_id']}/resources"
    resp = await client.put(base, json={"data": {"name": "Lane", "gateways": []}}, headers=headers)
    rid = (await resp.json())["data"]["id"]
    bulk, interactive = Counting(services.bulk_couch.transport), Counting(services.couch.transport)
    try:
        nums = numbers_block(600)
        resp = await client.put(base + "/jobs", json={"data": {"numbers": nums, "resource_id": rid}}, headers=headers)
        body = await resp.json()
        assert resp.status == 201, body
        reads = [client.get(f"{base}/{rid}", headers=headers) for _ in range(20)]
        for read in asyncio.as_completed(reads):  # the API's reads meanwhile are answered
            assert (await read).status == 200
        done = await wait_for_job(client, f"{base}/jobs/{body['data']['id']}", headers)
    finally:
        bulk.restore()
        interactive.restore()
    assert len(done["successes"]) == 600
    assert bulk.number_posts >= 1 and bulk.bulk_posts > bulk.number_posts  # numbers, account copies
    assert bulk.most <= BULK_LANE
    # the request that created the job may install the month database's views (interactive),
    # but no number document goes through the API's client
    assert interactive.number_posts == 0, "a job's bulk write went through the interactive client"
