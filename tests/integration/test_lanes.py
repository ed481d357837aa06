"""Interactive requests first: jobs reach CouchDB through a lane of their own (services.BULK_LANE
requests in flight, on their own connections), so a job's bulk work never takes the connections
the API's reads use, nor more than its share of CouchDB's queue; while the API's requests come,
the lane keeps to one request in flight."""

from __future__ import annotations

import asyncio

from kazoo_crossbar.app import SERVICES
from kazoo_crossbar.services import BULK_LANE
from kazoo_crossbar.storage import lane

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


class MostInFlight:
    """Wraps a lane's Places.take: the most of its places in use once a request has one."""

    def __init__(self, places: lane.Places) -> None:
        self.places, self.take, self.most = places, places.take, 0
        places.take = self

    async def __call__(self, party, deadline):
        await self.take(party, deadline)
        self.most = max(self.most, self.places.in_flight)

    def restore(self) -> None:
        del self.places.take


async def test_the_jobs_lane_gives_way_to_api_requests_about_other_accounts(client, kazoo, monkeypatch):
    services = client.app[SERVICES]
    places = services.bulk_couch.transport.places
    assert places.gives_way_to is services.couch.transport.places.activity
    # the other account's reads below come every few ms; a window this long keeps a slow
    # machine's pause between two of them from widening the lane
    monkeypatch.setattr(lane, "GIVE_WAY_S", 60.0)
    importer, other = await kazoo.account(), await kazoo.account()
    headers = {"X-Auth-Token": await kazoo.token_for(importer)}
    other_headers = {"X-Auth-Token": await kazoo.token_for(other)}
    base = f"/v2/accounts/{importer['_id']}/resources"
    resp = await client.put(base, json={"data": {"name": "Gives way", "gateways": []}}, headers=headers)
    rid = (await resp.json())["data"]["id"]
    resp = await client.put(
        f"/v2/accounts/{other['_id']}/resources", json={"data": {"name": "Read", "gateways": []}}, headers=other_headers
    )
    other_url = f"/v2/accounts/{other['_id']}/resources/{(await resp.json())['data']['id']}"

    async def run_job() -> int:
        """600 numbers: three batches, each read while the one before is written (two at once);
        the job is polled through the API by its own account. The most in flight at once."""
        most = MostInFlight(places)
        try:
            resp = await client.put(
                base + "/jobs", json={"data": {"numbers": numbers_block(600), "resource_id": rid}}, headers=headers
            )
            body = await resp.json()
            assert resp.status == 201, body
            done = await wait_for_job(client, f"{base}/jobs/{body['data']['id']}", headers)
        finally:
            most.restore()
        assert len(done["successes"]) == 600
        return most.most

    services.couch.transport.places.activity.until.clear()  # what the setup's requests left
    assert await run_job() >= 2, "the import's own polling narrowed its lane"

    async def read_other(stop: asyncio.Event) -> None:
        while not stop.is_set():
            assert (await client.get(other_url, headers=other_headers)).status == 200

    stop = asyncio.Event()
    assert (await client.get(other_url, headers=other_headers)).status == 200  # before the job starts
    reader = asyncio.create_task(read_other(stop))
    try:
        most = await run_job()
    finally:
        stop.set()
        await reader
    assert most == 1, f"{most} of the jobs' requests in flight at once while another account was read"
