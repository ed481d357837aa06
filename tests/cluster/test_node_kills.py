"""kill -9 of one CouchDB node during a 10,000-number job, then its restart: (i) as the job
starts, while its month and number databases are being created, (ii) midway. The job completes
with every number exactly once, and no request gets a 500: reads made in the background during
the outage answer 200 or Kazoo's 503 envelope."""

from __future__ import annotations

import asyncio

import pytest

from kazoo_crossbar.storage import names

from ..eventually import eventually
from ..kazoo import numbers_block, wait_stored
from .probes import Probe

pytestmark = pytest.mark.asyncio(loop_scope="session")
NUMBERS = 10_000
FIRST, THIRD = 0, 2  # the service talks to the first node; the third is one it reaches through it


async def create_job(client, account: dict, headers: dict, rid: str, nums: list[str]) -> tuple[str, list[int]]:
    """PUT the job; a 503 (the outage) is answered by trying again, as a client does."""
    statuses: list[int] = []
    while True:
        resp = await client.put(
            f"/v2/accounts/{account['_id']}/resources/jobs",
            json={"data": {"numbers": nums, "resource_id": rid}},
            headers=headers,
        )
        statuses.append(resp.status)
        body = await resp.json()
        if resp.status == 201:
            return body["data"]["id"], statuses
        assert resp.status == 503 and body["error"] == "503", body
        assert len(statuses) < 600, statuses
        await asyncio.sleep(0.2)  # a client's pace while the node is away


async def numbers_once(couch, account: dict, nums: list[str]) -> None:
    """Every number document and its account copy exist at their first revision."""
    for start in range(0, len(nums), 1000):
        keys = nums[start : start + 1000]
        by_db: dict[str, list[str]] = {}
        for n in keys:
            by_db.setdefault(names.numbers_db(n), []).append(n)
        for ndb, ids in by_db.items():
            rows = await couch.all_docs(ndb, keys=ids)
            assert all("value" in r and r["value"]["rev"].startswith("1-") for r in rows), ndb
        rows = await couch.all_docs(names.account_db(account["_id"]), keys=keys)
        assert all("value" in r and r["value"]["rev"].startswith("1-") for r in rows)


@pytest.mark.parametrize(
    ("when", "victim"),
    [("at-start", THIRD), ("midway", THIRD), ("midway", FIRST)],
    ids=["third-node-at-start", "third-node-midway", "first-node-midway"],
)
async def test_a_node_killed_during_a_job_then_restarted(client, couch, tenant, restartable, when, victim):
    account, headers, rid = tenant
    base = f"/v2/accounts/{account['_id']}"
    nums = numbers_block(NUMBERS)
    probe = Probe(client, [f"{base}/resources", f"{base}/resources/{rid}", f"{base}/resources/jobs"], headers)
    probe.start()
    try:
        if when == "at-start":
            creating = asyncio.create_task(create_job(client, account, headers, rid, nums))
            await asyncio.to_thread(restartable.kill9, victim)  # while the databases are being made
        else:
            job_id, statuses = await create_job(client, account, headers, rid, nums)
            job_path = f"{base}/resources/jobs/{job_id}"

            async def successes() -> int:
                resp = await client.get(job_path, headers=headers)
                return len((await resp.json())["data"].get("successes", {})) if resp.status == 200 else 0

            await eventually(successes, lambda n: n >= NUMBERS // 3, what="a third of the job is done", timeout_s=300)
            probe.paths.append(job_path)
            await asyncio.to_thread(restartable.kill9, victim)
        seen = len(probe.seen)
        await eventually(lambda: len(probe.seen), lambda n: n >= seen + 30, what="reads during the outage")
        await asyncio.to_thread(restartable.restart)
        if when == "at-start":
            job_id, statuses = await creating
        db = names.modb(account["_id"], int(job_id[:4]), int(job_id[4:6]))
        doc = await wait_stored(couch, db, job_id)
    finally:
        await probe.stop()
    assert doc["errors"] == {}, list(doc["errors"].items())[:3]
    assert len(doc["success"]) == NUMBERS and set(doc["success"]) == set(nums)
    await numbers_once(couch, account, nums)
    assert all(s in (201, 503) for s in statuses)
    assert probe.statuses()[500] == 0, probe.wrong()[:3]
    assert probe.wrong() == [], (probe.statuses(), probe.wrong()[:3])
