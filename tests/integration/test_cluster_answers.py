"""A CouchDB cluster's answers while a node dies, put in front of any engine by a proxy
(tests/http_faults.py): the claim of a job answered `500 nodedown` (stored or not), then reads of
the job answered 404 for a job that exists. The issue's job stayed `pending` for good; now the
pool tries again from the job as stored, and the job runs once, every number exactly once."""

from __future__ import annotations

import re
import secrets

import pytest
from aiohttp.test_utils import TestClient, TestServer

from kazoo_crossbar.app import create_app
from kazoo_crossbar.config import Settings
from kazoo_crossbar.storage import names

from ..http_faults import NODEDOWN, NOT_FOUND, FaultyCouch
from ..kazoo import numbers_block, wait_stored

pytestmark = pytest.mark.asyncio(loop_scope="session")
JOB_DOC = re.compile(r"^/account/[^/]+/[^/]+/[^/]+-\d{6}/\d{6}-[0-9a-f]{16}$")


def is_claim(method: str, path: str, body: bytes) -> bool:
    return method == "PUT" and b'"pvt_type":"resource_job"' in body and b'"pvt_status":"running"' in body


@pytest.mark.parametrize("stored", [True, False], ids=["claim-stored", "claim-not-stored"])
async def test_a_claim_answered_nodedown_then_404_reads_still_runs_the_job(couchdb_url, couch, tenant, stored):
    account, headers, rid = tenant
    proxy = await FaultyCouch(couchdb_url).start()
    claim = proxy.fail(is_claim, NODEDOWN, stored=stored)
    reads = proxy.fail(
        lambda method, path, _: claim.hits > 0 and method == "GET" and bool(JOB_DOC.match(path)), NOT_FOUND, times=3
    )
    node = f"claim{secrets.token_hex(3)}@test"
    app = create_app(Settings(couchdb_url=proxy.url, node_name=node), background=False)
    nums = numbers_block(50)
    try:
        async with TestClient(TestServer(app)) as c:
            resp = await c.put(
                f"/v2/accounts/{account['_id']}/resources/jobs",
                json={"data": {"numbers": nums, "resource_id": rid}},
                headers=headers,
            )
            assert resp.status == 201, await resp.text()
            job_id = (await resp.json())["data"]["id"]
            db = names.modb(account["_id"], int(job_id[:4]), int(job_id[4:6]))
            doc = await wait_stored(couch, db, job_id, timeout_s=120)
    finally:
        await proxy.stop()
    assert claim.hits == 1 and reads.hits == 3  # the faults were met
    assert set(doc["success"]) == set(nums) and doc["errors"] == {} and doc["pvt_node"] == node
    rows = await couch.all_docs(names.numbers_db(nums[0]), keys=nums)
    assert all(r["value"]["rev"].startswith("1-") for r in rows)  # each number written once
