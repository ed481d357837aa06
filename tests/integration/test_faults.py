"""Faults: CouchDB stopped under concurrent load, 100 concurrent writers on one resource."""

from __future__ import annotations

import asyncio
import time

from aiohttp.test_utils import TestClient, TestServer

from kazoo_crossbar.app import create_app
from kazoo_crossbar.bus.base import NullBus
from kazoo_crossbar.config import Settings
from kazoo_crossbar.storage import names, provision
from kazoo_crossbar.storage.bootstrap import setup
from kazoo_crossbar.storage.couch import CouchClient
from kazoo_crossbar.storage.writes import Writes

from ..conftest import EmbeddedCouch
from ..eventually import eventually
from ..kazoo import numbers_block, wait_stored


async def test_couchdb_outage_under_load(tmp_path):
    server = EmbeddedCouch(data_dir=tmp_path / "couch").start()
    couch = CouchClient(server.url)
    app = create_app(Settings(couchdb_url=server.url, node_name="outage@test"), background=False)
    try:
        await setup(server.url, "outage@setup", events=NullBus())
        account = await provision.create_account(Writes(couch, NullBus()), "Outage Co", superduper=True)
        async with TestClient(TestServer(app)) as c:
            resp = await c.put("/v2/api_auth", json={"data": {"api_key": account["pvt_api_key"]}})
            headers = {"X-Auth-Token": (await resp.json())["auth_token"]}
            base = f"/v2/accounts/{account['_id']}/resources"
            resp = await c.put(base, json={"data": {"name": "Steady", "gateways": []}}, headers=headers)
            rid = (await resp.json())["data"]["id"]
            nums = numbers_block(4000)
            resp = await c.put(base + "/jobs", json={"data": {"numbers": nums, "resource_id": rid}}, headers=headers)
            job_id = (await resp.json())["data"]["id"]

            seen: list[tuple[float, int, dict]] = []
            stop = asyncio.Event()

            async def worker() -> None:
                while not stop.is_set():
                    r = await c.get(f"{base}/{rid}", headers=headers)
                    seen.append((time.monotonic(), r.status, await r.json()))
                    await asyncio.sleep(0.01)

            workers = [asyncio.create_task(worker()) for _ in range(8)]
            await eventually(lambda: [s for _, s, _ in seen], lambda ss: ss.count(200) >= 8, what="answers under load")
            server.stop()
            down_at = time.monotonic()
            await asyncio.sleep(3)  # the outage's length (the scenario, not a wait for anything)
            server.start()  # same port, same data
            up_at = time.monotonic()
            first_ok = await eventually(
                lambda: next((t for t, s, _ in seen if s == 200 and t > up_at), None),
                lambda t: t is not None,
                what="a normal answer after CouchDB's return",
            )
            stop.set()
            await asyncio.gather(*workers)

            during = [(s, b) for t, s, b in seen if down_at + 0.2 < t < up_at]
            assert during, "no request was made while CouchDB was away"
            for status, body in during:
                assert status == 503, body
                assert body["status"] == "error" and body["error"] == "503" and body["message"].startswith("datastore")
            assert all(s in (200, 503) for _, s, _ in seen)
            assert first_ok is not None and first_ok - up_at < 2.0, "no normal answer within 2 s of CouchDB's return"

            # the job that was running finishes afterwards, exactly once per number
            db = names.modb(account["_id"], int(job_id[:4]), int(job_id[4:6]))
            doc = await wait_stored(couch, db, job_id)
            assert len(doc["success"]) == len(nums) and doc["errors"] == {}
            rows = await couch.all_docs(names.numbers_db(nums[0]), keys=nums[:200])
            assert all(r["value"]["rev"].startswith("1-") for r in rows)
    finally:
        await couch.close()
        server.stop()


async def test_hundred_concurrent_posts(client, couch, master_token):
    headers = {"X-Auth-Token": master_token}
    resp = await client.put("/v2/resources", json={"data": {"name": "contended", "gateways": []}}, headers=headers)
    rid = (await resp.json())["data"]["id"]

    async def post(i: int) -> tuple[int, dict]:
        r = await client.post(
            f"/v2/resources/{rid}", json={"data": {"name": f"writer-{i}", "gateways": []}}, headers=headers
        )
        return r.status, await r.json()

    results = await asyncio.gather(*(post(i) for i in range(100)))
    statuses = [s for s, _ in results]
    assert set(statuses) <= {200, 409}, set(statuses)
    for status, body in results:
        if status == 409:
            assert body["message"] == "datastore_conflict" and body["error"] == "409"
    winners = {b["data"]["name"] for s, b in results if s == 200}
    final = await couch.get_doc("offnet", rid)
    assert final["name"] in winners
    assert int(final["_rev"].split("-")[0]) == 1 + statuses.count(200)
