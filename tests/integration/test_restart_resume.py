"""A restart resumes its own jobs at once (issue 18 item 4): a node killed with kill -9 mid-job
and started again under the same node name finds the `running` jobs claimed under its name and
resumes them without waiting for `job_recovery_threshold_s` (an hour here); the revision claim
keeps it exactly-once: every number is written once."""

from __future__ import annotations

import asyncio
import secrets

import aiohttp
import pytest

from kazoo_crossbar.storage import names

from ..eventually import eventually
from ..kazoo import node_config, numbers_block, wait_stored
from ..services import ServiceProcess

pytestmark = pytest.mark.asyncio(loop_scope="session")
HOUR = 3600


@pytest.mark.parametrize("crash_at", ["after_checkpoint:1", "external"])
async def test_a_node_restarted_after_kill_9_resumes_its_job_at_once(couch, couchdb_url, tenant, tmp_path, crash_at):
    account, headers, rid = tenant
    nums = numbers_block(3000)
    node = f"restarted{secrets.token_hex(3)}@test"
    # recovery would take the job only an hour after its last checkpoint
    await node_config(couch, node, job_recover_timeout_s=HOUR, job_recover_threshold_s=HOUR)
    env = {} if crash_at == "external" else {"KAZOO_CROSSBAR_CRASH_AT": crash_at}
    doomed = ServiceProcess(couchdb_url, node, tmp_path, **env).start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.put(
                f"{doomed.url}/v2/accounts/{account['_id']}/resources/jobs",
                headers=headers,
                json={"data": {"numbers": nums, "resource_id": rid}},
            ) as resp:
                assert resp.status == 201
                job_id = (await resp.json())["data"]["id"]
        db = names.modb(account["_id"], int(job_id[:4]), int(job_id[4:6]))
        if crash_at == "external":
            await eventually(
                lambda: couch.get_doc(db, job_id),
                lambda doc: doc["pvt_status"] == "running",
                what=f"job {job_id} starts",
                interval_s=0.01,
            )
            await asyncio.sleep(0.05)  # then an arbitrary moment into the run (not a wait for anything)
            doomed.kill9()
        assert doomed.wait_exit(60) == -9
    finally:
        doomed.stop()
    stalled = await couch.get_doc(db, job_id)
    assert stalled["pvt_status"] == "running" and stalled["pvt_node"] == node
    assert names.gregorian_now() - stalled["pvt_modified"] < HOUR  # far from stale

    revived = ServiceProcess(couchdb_url, node, tmp_path).start()
    try:
        doc = await wait_stored(couch, db, job_id)
    finally:
        revived.stop()
    assert [e["job_id"] for e in revived.events("job_resumed_at_start")] == [job_id]
    assert revived.events("job_recovered") == []  # not through the threshold
    assert doc["errors"] == {}, list(doc["errors"].items())[:3]
    assert set(doc["success"]) == set(nums) and doc["pvt_node"] == node
    # every number exactly once: each number document and its account copy at their first revision
    for chunk in range(0, len(nums), 500):
        keys = nums[chunk : chunk + 500]
        for ndb in {names.numbers_db(n) for n in keys}:
            rows = await couch.all_docs(ndb, keys=[n for n in keys if names.numbers_db(n) == ndb])
            assert all(r["value"]["rev"].startswith("1-") for r in rows), ndb
        rows = await couch.all_docs(names.account_db(account["_id"]), keys=keys)
        assert all("value" in r and r["value"]["rev"].startswith("1-") for r in rows)
