"""Recovery of stalled jobs, crash safety (real SIGKILL) and several nodes on one CouchDB."""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from kazoo_crossbar.app import SERVICES
from kazoo_crossbar.jobs import numbers as knm
from kazoo_crossbar.jobs import store
from kazoo_crossbar.storage import names, views
from kazoo_crossbar.storage.couch import NotFound

from ..eventually import eventually
from ..kazoo import numbers_block, stale_job, wait_stored
from ..services import ServiceProcess

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_stale_pending_job_is_recovered(client, couch, tenant):
    account, _, rid = tenant
    services = client.app[SERVICES]
    nums = numbers_block(5)
    db, job_id = await stale_job(couch, account, rid, nums)
    fresh_db, fresh_id = await stale_job(couch, account, rid, numbers_block(2), status="running", age_s=10)
    assert await services.recovery.run_pass() >= 1
    doc = await wait_stored(couch, db, job_id)
    assert set(doc["success"]) == set(nums) and doc["errors"] == {}
    assert doc["pvt_node"] == client.app[SERVICES].settings.node_name and "pvt_inflight" not in doc
    assert (await couch.get_doc(fresh_db, fresh_id))["pvt_status"] == "running"  # a live job is left alone


async def test_previous_month_is_scanned(client, couch, tenant):
    account, _, rid = tenant
    services = client.app[SERVICES]
    last_month = datetime.now(UTC).replace(day=1) - timedelta(days=1)
    db, job_id = await stale_job(couch, account, rid, numbers_block(2), month=last_month)
    assert await services.recovery.run_pass() >= 1
    await wait_stored(couch, db, job_id)


async def test_stale_running_job_resumes_where_it_stopped(client, couch, tenant):
    """A job killed after writing numbers but before recording them: nothing is redone or misreported."""
    account, _, rid = tenant
    services = client.app[SERVICES]
    nums = numbers_block(9)
    now = names.gregorian_now()
    done, written_unrecorded = nums[:3], nums[3:6]
    success = {n: knm.success_entry(knm.number_doc(n, account["_id"], rid, knm.LOCAL, now)) for n in done}
    db, job_id = await stale_job(
        couch,
        account,
        rid,
        nums,
        status="running",
        success=success,
        pvt_node="dead@node",
        pvt_inflight=written_unrecorded,
    )
    for n in done + written_unrecorded:  # as the dead run wrote them: with its job id
        doc = knm.number_doc(n, account["_id"], rid, knm.LOCAL, now, job_id=job_id)
        ndb = names.numbers_db(n)
        await views.ensure_db(couch, ndb)
        await couch.save_doc(ndb, doc)
    revs_before = {n: (await couch.get_doc(names.numbers_db(n), n))["_rev"] for n in done + written_unrecorded}
    assert await services.recovery.run_pass() >= 1
    doc = await wait_stored(couch, db, job_id)
    assert doc["errors"] == {} and set(doc["success"]) == set(nums)
    for n, rev in revs_before.items():
        assert (await couch.get_doc(names.numbers_db(n), n))["_rev"] == rev  # never written twice
    for n in nums[6:]:
        assert (await couch.get_doc(names.numbers_db(n), n))["_rev"].startswith("1-")


async def test_settings_are_reread_every_pass(client, couch, kazoo, tenant):
    account, _, rid = tenant
    services = client.app[SERVICES]
    db, job_id = await stale_job(couch, account, rid, numbers_block(1), age_s=120)
    async with kazoo.system_config("crossbar.resources", job_recover_threshold_s=600):
        await services.recovery.run_pass()
        assert (await couch.get_doc(db, job_id))["pvt_status"] == "pending"
        async with kazoo.system_config("crossbar.resources", job_recovery_threshold_s=60):  # Kazoo's key wins
            await services.recovery.run_pass()
            await wait_stored(couch, db, job_id)


async def node_config(couch, node: str, **values) -> None:
    """Per-node system_config values (Kazoo's node key), so other nodes keep the defaults."""
    doc = await couch.get_doc("system_config", "crossbar.resources")
    doc[node] = values
    await couch.save_doc("system_config", doc)


def check_numbers_once(couch, account, nums):
    async def check():
        for n in nums:
            doc = await couch.get_doc(names.numbers_db(n), n)
            assert doc["_rev"].startswith("1-"), (n, doc["_rev"])
            assert doc["pvt_assigned_to"] == account["_id"]
            copy = await couch.get_doc(names.account_db(account["_id"]), n)
            assert copy["_rev"].startswith("1-"), (n, copy["_rev"])

    return check()


@pytest.mark.parametrize(
    "crash_at",
    [
        "after_numbers_written:1",
        "after_checkpoint:1",
        "after_numbers_written:2",
        "after_batch_saved:1",
        "after_batch_saved:3",
        "external",
    ],
)
async def test_sigkill_mid_job_then_another_node_finishes(couch, couchdb_url, tenant, tmp_path, crash_at):
    """kill -9 between writing numbers and checkpointing (both batches), after a checkpoint, and
    from outside at an arbitrary moment: 0 lost, 0 written twice, 0 false errors."""
    account, headers, rid = tenant
    nums = numbers_block(1200)  # four batches of 300
    env = {} if crash_at == "external" else {"KAZOO_CROSSBAR_CRASH_AT": crash_at}
    doomed = ServiceProcess(couchdb_url, f"doomed{secrets.token_hex(3)}@test", tmp_path, **env).start()
    try:
        import aiohttp

        async with aiohttp.ClientSession() as http:
            async with http.put(
                f"{doomed.url}/v2/accounts/{account['_id']}/resources/jobs",
                headers=headers,
                json={"data": {"numbers": nums, "resource_id": rid}},
            ) as resp:
                assert resp.status == 201
                job_id = (await resp.json())["data"]["id"]
        if crash_at == "external":
            db = names.modb(account["_id"], int(job_id[:4]), int(job_id[4:6]))
            await eventually(
                lambda: couch.get_doc(db, job_id),
                lambda doc: doc["pvt_status"] != "pending",
                what=f"job {job_id} starts",
                interval_s=0.01,
            )
            await asyncio.sleep(0.05)  # then an arbitrary moment into the run (not a wait for anything)
            doomed.kill9()
        assert doomed.wait_exit(60) == -9  # it really died by SIGKILL
    finally:
        doomed.stop()
    db = names.modb(account["_id"], int(job_id[:4]), int(job_id[4:6]))
    assert (await couch.get_doc(db, job_id))["pvt_status"] == "running"
    rescuer_node = f"rescuer{secrets.token_hex(3)}@test"
    await node_config(couch, rescuer_node, job_recover_timeout_s=1, job_recover_threshold_s=1)
    rescuer = ServiceProcess(couchdb_url, rescuer_node, tmp_path).start()
    try:
        doc = await wait_stored(couch, db, job_id)
    finally:
        rescuer.stop()
    assert doc["errors"] == {}, list(doc["errors"].items())[:3]
    assert set(doc["success"]) == set(nums) and doc["pvt_node"] == rescuer_node
    await check_numbers_once(couch, account, nums)


async def test_two_nodes_never_run_one_job(couch, couchdb_url, tenant, tmp_path):
    account, _, rid = tenant
    jobs = [await stale_job(couch, account, rid, numbers_block(300)) for _ in range(4)]
    nodes = [f"twin{i}{secrets.token_hex(2)}@test" for i in range(2)]
    for node in nodes:
        await node_config(couch, node, job_recover_timeout_s=1, job_recover_threshold_s=30)
    procs = [ServiceProcess(couchdb_url, node, tmp_path) for node in nodes]
    for p in procs:
        p.start()
    try:
        docs = [await wait_stored(couch, db, job_id) for db, job_id in jobs]
    finally:
        for p in procs:
            p.stop()
    for doc in docs:
        assert doc["errors"] == {} and len(doc["success"]) == 300
    started = [e["job_id"] for p in procs for e in p.events("job_started")]
    assert sorted(started) == sorted(job_id for _, job_id in jobs)  # each job started exactly once


async def test_a_crashed_job_keeps_its_batches_and_running_reads_merge_them(
    client, couch, couchdb_url, tenant, tmp_path
):
    """kill -9 after two batch documents were saved, before the job doc's checkpoint: the job
    doc holds no results, the batch documents do; GET and the listing of the running job
    show them; the rescuer resumes after them, writes the full shape once and removes them."""
    account, headers, rid = tenant
    nums = numbers_block(1200)  # four batches of 300
    doomed = ServiceProcess(
        couchdb_url, f"doomed{secrets.token_hex(3)}@test", tmp_path, KAZOO_CROSSBAR_CRASH_AT="after_batch_saved:2"
    ).start()
    try:
        import aiohttp

        async with aiohttp.ClientSession() as http:
            async with http.put(
                f"{doomed.url}/v2/accounts/{account['_id']}/resources/jobs",
                headers=headers,
                json={"data": {"numbers": nums, "resource_id": rid}},
            ) as resp:
                assert resp.status == 201
                job_id = (await resp.json())["data"]["id"]
        assert doomed.wait_exit(60) == -9
    finally:
        doomed.stop()
    db = names.modb(account["_id"], int(job_id[:4]), int(job_id[4:6]))
    stored = await couch.get_doc(db, job_id)
    assert stored["pvt_status"] == "running" and stored["success"] == {} and stored["errors"] == {}
    assert set(stored["pvt_inflight"]) >= set(nums[600:900])  # batch 2 declared, not yet saved
    batches = await store.load_batches(couch, db, job_id)
    generation = int(batches[0]["_id"].rsplit("-", 2)[1])
    assert [b["_id"] for b in batches] == [store.batch_id(job_id, generation, n) for n in range(2)]
    assert all(b["pvt_type"] == "resource_job_batch" and b["pvt_job_id"] == job_id for b in batches)
    in_batches = set(store.batch_results(batches)[0])
    assert in_batches == set(nums[:600])
    for view in ("jobs_listing", "status_listing"):  # Kazoo's MODB views never see a batch document
        rows = (await views.query(couch, db, "resources", view))["rows"]
        assert all(r["id"] == job_id or "-batch-" not in r["id"] for r in rows)

    url = f"/v2/accounts/{account['_id']}/resources/jobs"
    body = await (await client.get(f"{url}/{job_id}", headers=headers)).json()
    assert body["data"]["status"] == "running" and set(body["data"]["successes"]) == in_batches
    entry = body["data"]["successes"][nums[0]]
    assert "id" not in entry and entry["resource_id"] == rid and entry["state"] == "reserved"
    rows = (await (await client.get(url, headers=headers)).json())["data"]
    row = next(r for r in rows if r["id"] == job_id)
    assert row["successes"] == 600 and row["failures"] == 0 and row["status"] == "running"

    rescuer_node = f"rescuer{secrets.token_hex(3)}@test"
    await node_config(couch, rescuer_node, job_recover_timeout_s=1, job_recover_threshold_s=1)
    rescuer = ServiceProcess(couchdb_url, rescuer_node, tmp_path).start()
    try:
        doc = await wait_stored(couch, db, job_id)
        # removed right after completing
        await eventually(
            lambda: store.load_batches(couch, db, job_id), lambda batches: not batches, what="the batches are removed"
        )
    finally:
        rescuer.stop()
    assert doc["errors"] == {} and set(doc["success"]) == set(nums) and doc["pvt_node"] == rescuer_node
    saved = {k: json.loads(v) for k, v in store.batch_results(batches)[0].items()}
    assert all(doc["success"][n] == saved[n] for n in nums[:600])  # the rescuer took the saved results
    await check_numbers_once(couch, account, nums)
    # the results went into the job doc once: every earlier revision has empty maps
    info = await couch.get_doc(db, job_id, revs_info="true")
    older = [r["rev"] for r in info["_revs_info"][1:] if r["status"] == "available"]
    assert len(older) >= 4
    for rev in older:
        old = await couch.get_doc(db, job_id, rev=rev)
        assert old["success"] == {} and old["errors"] == {}, rev


async def test_a_resumed_job_takes_saved_batches_as_they_are(client, couch, tenant):
    """Entries a batch document records (a success, an error) are not handled again."""
    account, _headers, rid = tenant
    services = client.app[SERVICES]
    nums = numbers_block(4)
    db, job_id = await stale_job(couch, account, rid, nums, status="running", pvt_node="dead@node")
    recorded = knm.success_entry(knm.number_doc(nums[0], account["_id"], rid, knm.LOCAL, 63_000_000_000))
    failed = knm.number_exists(nums[1])
    await couch.save_doc(
        db,
        {
            "_id": store.batch_id(job_id, 2, 0),
            "pvt_type": store.BATCH_TYPE,
            "pvt_job_id": job_id,
            "success": {nums[0]: recorded},
            "errors": {nums[1]: failed},
        },
    )
    assert await services.recovery.run_pass() >= 1
    doc = await wait_stored(couch, db, job_id)
    assert doc["success"][nums[0]] == recorded and doc["errors"] == {nums[1]: failed}
    assert set(doc["success"]) == {nums[0], nums[2], nums[3]}
    for n in nums[:2]:  # neither was written: the batch said they were done
        with pytest.raises(NotFound):
            await couch.get_doc(names.numbers_db(n), n)
