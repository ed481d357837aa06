"""A job that can never finish (issue 21 item 3): a 6.5 MB `notes` beside 10,000 numbers was
accepted, reserved every number, then failed to save (413) and stayed `running` forever, every
recovery pass failing the same way.

Now a job whose document, with room for all its results, cannot fit `max_document_size` is
refused before anything is written; one that still cannot be saved ends `failed` with its reason
and the numbers it reserved; recovery gives up on a job after `job_recovery_max_attempts`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from structlog.testing import capture_logs

from kazoo_crossbar import jsonc
from kazoo_crossbar.app import SERVICES
from kazoo_crossbar.jobs import size
from kazoo_crossbar.storage import names
from kazoo_crossbar.storage.couch import NotFound

from ..eventually import eventually
from ..kazoo import JOB_HANG_GUARD_S, numbers_block, stale_job, wait_for_job
from .wire import envelope


@pytest.fixture(scope="module")
async def tenant(kazoo, client):
    account = await kazoo.account()
    headers = {"X-Auth-Token": await kazoo.token_for(account)}
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources",
        json={"data": {"name": "Big jobs carrier", "gateways": []}},
        headers=headers,
    )
    return account, headers, (await resp.json())["data"]["id"]


def jobs_url(account) -> str:
    return f"/v2/accounts/{account['_id']}/resources/jobs"


async def job_count(couch, account) -> int:
    """The account's job documents in the current month database (none when it does not exist)."""
    now = datetime.now(UTC)
    try:
        rows = await couch.all_docs(names.modb(account["_id"], now.year, now.month))
    except NotFound:
        return 0
    return len([r for r in rows if not r["id"].startswith("_design/")])


async def stored(couch, number: str) -> bool:
    try:
        await couch.get_doc(names.numbers_db(number), number)
    except NotFound:
        return False
    return True


async def ended(client, account, headers, job_id: str) -> dict:
    """The job once it is no longer pending or running."""

    async def job() -> dict:
        resp = await client.get(f"{jobs_url(account)}/{job_id}", headers=headers)
        assert resp.status == 200
        return (await resp.json())["data"]

    return await eventually(
        job, lambda j: j["status"] not in ("pending", "running"), what=f"job {job_id} ends", timeout_s=JOB_HANG_GUARD_S
    )


async def test_a_job_whose_results_cannot_fit_the_document_is_refused_and_nothing_is_reserved(client, couch, tenant):
    account, headers, rid = tenant
    numbers = numbers_block(10_000)
    before = await job_count(couch, account)
    resp = await client.put(
        jobs_url(account),
        headers=headers,
        json={"data": {"resource_id": rid, "numbers": numbers, "notes": "n" * 6_500_000}},
    )
    body = await envelope(resp, 400)
    detail = body["data"]["notes"]["maxSize"]
    assert detail["target"] == 8_000_000 and "max_document_size" in detail["message"], detail
    assert len(await resp.read()) < 2000
    assert await job_count(couch, account) == before
    assert not await stored(couch, numbers[0]) and not await stored(couch, numbers[-1])


async def test_too_many_numbers_for_the_document_answers_how_many_fit(client, couch, kazoo, tenant):
    """`numbers.maxItems` with the count that fits (the CLI and the console split by it); a job of
    that many, half of them already held (errors are the longest results), is stored within the
    limit: the estimate is an upper bound of the real document."""
    account, headers, rid = tenant
    limit = 150_000
    held = numbers_block(300)
    await wait_for_job(
        client,
        f"{jobs_url(account)}/{(await (await client.put(jobs_url(account), headers=headers, json={'data': {'resource_id': rid, 'numbers': held}})).json())['data']['id']}",
        headers,
    )
    numbers = [n for pair in zip(held, numbers_block(300)) for n in pair]
    async with kazoo.system_config("crossbar.resources", job_document_max_bytes=limit):
        resp = await client.put(
            jobs_url(account), headers=headers, json={"data": {"resource_id": rid, "numbers": numbers}}
        )
        body = await envelope(resp, 400)
        fit = body["data"]["numbers"]["maxItems"]["target"]
        assert 0 < fit < len(numbers), body
        assert fit == size.estimate({"resource_id": rid, "numbers": numbers}).numbers_that_fit(limit)
        resp = await client.put(
            jobs_url(account), headers=headers, json={"data": {"resource_id": rid, "numbers": numbers[:fit]}}
        )
        created = await resp.json()
        assert resp.status == 201, created
    done = await wait_for_job(client, f"{jobs_url(account)}/{created['data']['id']}", headers)
    assert len(done["successes"]) + len(done["errors"]) == fit and done["errors"]
    job_id = done["id"]
    doc = await couch.get_doc(names.modb(account["_id"], int(job_id[:4]), int(job_id[4:6])), job_id)
    assert len(jsonc.dumps(doc)) <= limit


async def test_a_job_that_cannot_be_saved_fails_with_its_reason_and_its_numbers(client, couch, kazoo, tenant):
    """An operator's max_document_size above CouchDB's own lets a job through that CouchDB then
    refuses (413) when it completes: the job ends `failed`, says why, lists what it reserved."""
    account, headers, rid = tenant
    numbers = numbers_block(2000)
    async with kazoo.system_config("crossbar.resources", job_document_max_bytes=50_000_000):
        resp = await client.put(
            jobs_url(account),
            headers=headers,
            json={"data": {"resource_id": rid, "numbers": numbers, "notes": "n" * 7_600_000}},
        )
        body = await resp.json()
    assert resp.status == 201, str(body)[:300]
    job = await ended(client, account, headers, body["data"]["id"])
    assert job["status"] == "failed", {k: v for k, v in job.items() if k != "notes"}
    assert job["failure"]["error"] == "document_too_large" and "max_document_size" in job["failure"]["message"]
    assert sorted(job["failure"]["reserved"]) == sorted(numbers)
    assert await stored(couch, numbers[0]) and await stored(couch, numbers[-1])
    services = client.app[SERVICES]
    assert await services.jobs.pool.runner.run(account["_id"], job["id"], claimed=True) == "skipped"


@pytest.mark.parametrize("attempts,progressed,resumed", [(4, False, True), (5, False, False), (5, True, True)])
async def test_recovery_gives_up_after_its_attempts_and_says_why(client, couch, tenant, attempts, progressed, resumed):
    """`progressed`: the job was saved after the last claim (a run started it; the count starts
    again: only claims after which no run ever started the job count)."""
    account, _, rid = tenant
    services = client.app[SERVICES]
    nums = numbers_block(2)
    db, job_id = await stale_job(
        couch, account, rid, nums, status="running", pvt_recovery_attempts=attempts, pvt_recovery_generation=2
    )
    # revision 2 is the last claim's, 3 a save after it (the run it resumed started)
    for _ in range(2 if progressed else 1):
        await couch.save_doc(db, await couch.get_doc(db, job_id))
    with capture_logs() as logs:
        await services.recovery.run_pass()
    if resumed:
        doc = await eventually(
            lambda: couch.get_doc(db, job_id), lambda d: d["pvt_status"] == "complete", what="the job completes"
        )
        assert doc["pvt_recovery_attempts"] == (1 if progressed else 5) and set(doc["success"]) == set(nums)
        return
    doc = await couch.get_doc(db, job_id)
    assert doc["pvt_status"] == "failed", json.dumps(doc)[:500]
    assert doc["pvt_failure"]["error"] == "recovery_attempts_exhausted" and "5 times" in doc["pvt_failure"]["message"]
    assert [e["job_id"] for e in logs if e["event"] == "job_recovery_gave_up"] == [job_id]
    assert not await stored(couch, nums[0])
    await services.recovery.run_pass()  # a failed job is no longer a candidate
    assert (await couch.get_doc(db, job_id))["_rev"] == doc["_rev"]
