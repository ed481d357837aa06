"""The service on a 3-node CouchDB 3 cluster: `setup`, resources CRUD with the listing right after
each write (read-your-own-writes: storage/recent.py), a job, and answers of 202 (a write accepted
by fewer copies than the quorum) counted as saved."""

from __future__ import annotations

import aiohttp
import pytest

from kazoo_crossbar.storage import names

from ..eventually import eventually
from ..kazoo import numbers_block, wait_stored

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_setup_made_the_system_databases_on_the_cluster(couch, master):
    dbs = set(await couch.all_dbs())
    assert {names.ACCOUNTS, names.SYSTEM_CONFIG, names.OFFNET, names.SIP_AUTH} <= dbs
    assert (await couch.get_doc(names.ACCOUNTS, master["master_account_id"]))["_id"] == master["master_account_id"]


async def listed(client, base: str, headers: dict) -> dict[str, str]:
    resp = await client.get(base, headers=headers)
    assert resp.status == 200, await resp.text()
    return {row["id"]: row.get("name") for row in (await resp.json())["data"]}


async def test_each_listing_right_after_a_write_shows_it(client, tenant):
    """The issue's create → update → delete → list sequence, twenty times."""
    account, headers, _ = tenant
    base = f"/v2/accounts/{account['_id']}/resources"
    for i in range(20):
        resp = await client.put(base, json={"data": {"name": f"R{i}", "gateways": []}}, headers=headers)
        assert resp.status == 201, await resp.text()
        rid = (await resp.json())["data"]["id"]
        assert (await listed(client, base, headers)).get(rid) == f"R{i}"
        resp = await client.post(f"{base}/{rid}", json={"data": {"name": f"R{i}b", "gateways": []}}, headers=headers)
        assert resp.status == 200, await resp.text()
        assert (await client.get(f"{base}/{rid}", headers=headers)).status == 200
        assert (await listed(client, base, headers)).get(rid) == f"R{i}b"
        assert (await client.delete(f"{base}/{rid}", headers=headers)).status == 200
        assert rid not in await listed(client, base, headers)


async def test_a_job_completes_on_the_cluster(client, couch, tenant):
    account, headers, rid = tenant
    nums = numbers_block(500)
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources/jobs",
        json={"data": {"numbers": nums, "resource_id": rid}},
        headers=headers,
    )
    assert resp.status == 201, await resp.text()
    job_id = (await resp.json())["data"]["id"]
    doc = await wait_stored(couch, names.modb(account["_id"], int(job_id[:4]), int(job_id[4:6])), job_id)
    assert set(doc["success"]) == set(nums) and doc["errors"] == {}
    resp = await client.get(f"/v2/accounts/{account['_id']}/resources/jobs/{job_id}", headers=headers)
    assert resp.status == 200 and len((await resp.json())["data"]["successes"]) == len(nums)


async def test_answers_of_202_count_as_saved(client, couch, tenant, restartable):
    """Two of three nodes down: CouchDB accepts a write on the one copy it can reach and answers
    202 (quorum not met). The service answers as for any save, and the write is there once the
    other copies catch up."""
    account, headers, _ = tenant
    base = f"/v2/accounts/{account['_id']}/resources"
    db = names.account_db(account["_id"])
    restartable.kill9(2)
    restartable.kill9(1)
    async with aiohttp.ClientSession() as http:  # the precondition: this cluster answers 202 now
        async with http.put(f"{restartable.node_url(0)}/{names.url_path(db)}/probe-202", json={"a": 1}) as resp:
            assert resp.status == 202, await resp.text()
    resp = await client.put(base, json={"data": {"name": "Accepted", "gateways": []}}, headers=headers)
    assert resp.status == 201, await resp.text()
    rid = (await resp.json())["data"]["id"]
    assert (await listed(client, base, headers)).get(rid) == "Accepted"
    resp = await client.post(f"{base}/{rid}", json={"data": {"name": "Accepted too", "gateways": []}}, headers=headers)
    assert resp.status == 200, await resp.text()
    restartable.restart()
    async with aiohttp.ClientSession() as http:

        async def on_another_node() -> dict | None:
            async with http.get(f"{restartable.node_url(2)}/{names.url_path(db)}/{rid}") as r:
                return await r.json() if r.status == 200 else None

        doc = await eventually(
            on_another_node, lambda d: d is not None and d.get("name") == "Accepted too", what="the copies catch up"
        )
    assert doc["pvt_type"] == "resource"
