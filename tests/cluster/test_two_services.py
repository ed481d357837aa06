"""Two service processes on the cluster share jobs over RabbitMQ; the one running a job is killed
(kill -9) midway, and the other resumes it through recovery (thresholds lowered for the test
in system_config, per node): the job completes once, every number exactly once."""

from __future__ import annotations

import asyncio
import secrets

import aiohttp
import pytest

from kazoo_crossbar.storage import names

from .. import broker
from ..eventually import eventually
from ..kazoo import node_config, numbers_block, wait_stored
from ..services import ServiceProcess

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_other_service_resumes_a_job_whose_node_was_killed(couch, couchdb_url, tenant, tmp_path):
    account, headers, rid = tenant
    nodes = [f"share{i}{secrets.token_hex(2)}@test" for i in range(2)]
    for node in nodes:
        await node_config(couch, node, job_recover_timeout_s=1, job_recover_threshold_s=5)
    procs = {
        node: ServiceProcess(couchdb_url, node, tmp_path, KAZOO_AMQP_URL=broker.amqp_url()).start() for node in nodes
    }
    nums = numbers_block(4000)
    try:
        first = procs[nodes[0]]
        async with aiohttp.ClientSession() as http:
            async with http.put(
                f"{first.url}/v2/accounts/{account['_id']}/resources/jobs",
                headers=headers,
                json={"data": {"numbers": nums, "resource_id": rid}},
            ) as resp:
                assert resp.status == 201, await resp.text()
                job_id = (await resp.json())["data"]["id"]
        db = names.modb(account["_id"], int(job_id[:4]), int(job_id[4:6]))
        running = await eventually(
            lambda: couch.get_doc(db, job_id),
            lambda doc: doc["pvt_status"] == "running" and doc.get("pvt_node") in procs,
            what=f"a service runs job {job_id}",
            timeout_s=60,
        )
        doomed = running["pvt_node"]
        await asyncio.sleep(1.0)  # then into the run (the scenario, not a wait for anything)
        procs[doomed].kill9()
        survivor = next(n for n in nodes if n != doomed)
        doc = await wait_stored(couch, db, job_id)
    finally:
        for proc in procs.values():
            proc.stop()
    assert doc["pvt_node"] == survivor and doc["errors"] == {}
    assert set(doc["success"]) == set(nums)
    assert [e["job_id"] for e in procs[survivor].events("job_recovered")] == [job_id]
    for start in range(0, len(nums), 1000):
        keys = nums[start : start + 1000]
        rows = await couch.all_docs(names.numbers_db(keys[0]), keys=keys)
        assert all("value" in r and r["value"]["rev"].startswith("1-") for r in rows)
