"""Recovery of stalled jobs, crash safety (real SIGKILL) and several nodes on one CouchDB."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from kazoo_crossbar.app import SERVICES
from kazoo_crossbar.jobs import numbers as knm
from kazoo_crossbar.storage import names, views
from kazoo_crossbar.storage.couch import Conflict

from ..engine import is_couchdb3
from ..eventually import eventually
from ..kazoo import fixture, node_config, numbers_block, stale_job, wait_stored
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
        "after_numbers_written:1",  # the first batch written, nothing folded
        "after_checkpoint:1",  # the first fold saved (the second batch being written meanwhile)
        "after_numbers_written:2",
        "after_checkpoint:3",  # the last fold before completion
        "after_numbers_written:4",  # every number written, the job not yet complete
        "external",
    ],
)
async def test_sigkill_mid_job_then_another_node_finishes(couch, couchdb_url, tenant, tmp_path, crash_at):
    """kill -9 between writing a batch and folding its results (first, middle and last batch),
    right after a fold, and from outside at an arbitrary moment: 0 lost, 0 written twice, 0
    false errors."""
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


# Kazoo 4.3's own view file for job documents (core/kazoo_modb/priv/couchdb/views/resources.json)
KAZOO_RESOURCES_VIEWS = fixture("modb.resources-design-doc.json")


async def kazoo_jobs_listing(couch, db: str, job_id: str) -> dict:
    """The job's row of Kazoo's own `jobs_listing` (the map as Kazoo 4.3 ships it, installed
    beside ours), as Crossbar's `GET …/resources/jobs` on a Kazoo node lists it."""
    design = {
        "_id": "_design/kazoo_resources",
        "language": "javascript",
        "views": {
            name: {"map": "\n".join(v["map"]) if isinstance(v["map"], list) else v["map"]}
            for name, v in KAZOO_RESOURCES_VIEWS["views"].items()
        },
    }
    try:
        await couch.save_doc(db, design)
    except Conflict:
        pass  # installed by an earlier read
    rows = (await couch.view(db, "kazoo_resources", "jobs_listing"))["rows"]
    return next(r["value"] for r in rows if r["id"] == job_id)


def kazoo_done(doc: dict, nums: list[str]) -> set[str]:
    """The numbers cb_jobs_listener:maybe_create_number would skip: `success.<N>` or `errors.<N>`
    defined. Only Kazoo's fields of the job document are read."""
    return {n for n in nums if n in (doc.get("success") or {}) or n in (doc.get("errors") or {})}


async def kill_mid_job(couchdb_url, tmp_path, account, headers, rid, nums, crash_at: str) -> tuple[str, str]:
    """Submit a job to a node that SIGKILLs itself at `crash_at`; (month database, job id)."""
    import aiohttp

    doomed = ServiceProcess(
        couchdb_url, f"doomed{secrets.token_hex(3)}@test", tmp_path, KAZOO_CROSSBAR_CRASH_AT=crash_at
    ).start()
    try:
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
    return names.modb(account["_id"], int(job_id[:4]), int(job_id[4:6])), job_id


async def test_a_running_job_is_visible_to_kazoo_mid_way_and_at_the_end(client, couch, couchdb_url, tenant, tmp_path):
    """kill -9 right after the second fold (batches of 300): the job document holds the first
    600 results in Kazoo's fields, Kazoo's `jobs_listing` counts them, our API answers them;
    the rescuer finishes, and no folded result ever changed."""
    account, headers, rid = tenant
    nums = numbers_block(1200)  # four batches of 300
    db, job_id = await kill_mid_job(couchdb_url, tmp_path, account, headers, rid, nums, "after_checkpoint:2")
    stored = await couch.get_doc(db, job_id)
    assert stored["pvt_status"] == "running" and stored["errors"] == {}
    assert set(stored["success"]) == set(nums[:600]) == kazoo_done(stored, nums)
    entry = stored["success"][nums[0]]  # knm_phone_number:to_public_json
    assert "id" not in entry and entry["resource_id"] == rid and entry["state"] == "reserved"
    for n in nums[:600]:  # a reported success is a stored number of the job's account
        number = await couch.get_doc(names.numbers_db(n), n)
        assert number["pvt_assigned_to"] == account["_id"] and number["pvt_state"] == "reserved"
    row = await kazoo_jobs_listing(couch, db, job_id)
    assert row["status"] == "running" and row["successes"] == 600 and row["failures"] == 0
    assert row["id"] == job_id and row["resource_id"] == rid

    url = f"/v2/accounts/{account['_id']}/resources/jobs"
    body = await (await client.get(f"{url}/{job_id}", headers=headers)).json()
    assert body["data"]["status"] == "running" and body["data"]["successes"] == stored["success"]
    assert body["data"]["success"] == stored["success"]
    rows = (await (await client.get(url, headers=headers)).json())["data"]
    assert next(r for r in rows if r["id"] == job_id)["successes"] == 600

    rescuer_node = f"rescuer{secrets.token_hex(3)}@test"
    await node_config(couch, rescuer_node, job_recover_timeout_s=1, job_recover_threshold_s=1)
    rescuer = ServiceProcess(couchdb_url, rescuer_node, tmp_path).start()
    try:
        doc = await wait_stored(couch, db, job_id)
    finally:
        rescuer.stop()
    assert doc["errors"] == {} and set(doc["success"]) == set(nums) and doc["pvt_node"] == rescuer_node
    assert all(doc["success"][n] == stored["success"][n] for n in nums[:600])  # taken as they were
    row = await kazoo_jobs_listing(couch, db, job_id)
    assert row["status"] == "complete" and row["successes"] == 1200 and row["failures"] == 0
    await check_numbers_once(couch, account, nums)
    # every revision shows results only ever added, never changed: what a Kazoo node read stays true.
    # CouchDB 3 compacts on its own (smoosh) and drops old revisions' bodies; the embedded server keeps them.
    info = await couch.get_doc(db, job_id, revs_info="true")
    older = [r["rev"] for r in info["_revs_info"][1:] if r["status"] == "available"]
    kept_all = not is_couchdb3()
    assert len(older) >= (4 if kept_all else 0)
    sizes = []
    for rev in older:
        old = await couch.get_doc(db, job_id, rev=rev)
        assert all(doc["success"][n] == v for n, v in old["success"].items()), rev
        sizes.append(len(old["success"]))
    assert sizes == sorted(sizes, reverse=True) and (600 in sizes or not kept_all)


async def kazoo_recovery_pass(couch, db: str, threshold_s: int) -> list[str]:
    """cb_jobs_listener:start_recovery on a Kazoo node, over one month database: the
    `resources/status_listing` rows `pending`/`running` with their documents; a job not modified
    for `threshold_s` is saved with `pvt_recovering: true` and a fresh `pvt_modified`
    (recover_incomplete_job), then republished; maybe_start_job leaves a `running` job to the node
    in charge. Returns the ids it marked."""
    rows = (await couch.view(db, "kazoo_resources", "status_listing", keys=["pending", "running"], include_docs=True))[
        "rows"
    ]
    marked = []
    for row in rows:
        job = row["doc"]
        if names.gregorian_now() - job["pvt_modified"] > threshold_s:
            job.update(pvt_recovering=True, pvt_modified=names.gregorian_now())
            await couch.save_doc(db, job)
            marked.append(job["_id"])
    return marked


async def test_a_job_left_running_is_taken_over_from_what_kazoo_reads(
    client, couch, couchdb_url, kazoo, tenant, tmp_path
):
    """A node dies with a batch written but not folded. A Kazoo node's recovery marks the job
    (`pvt_recovering`, a new revision); ours then takes it over reading only what Kazoo reads:
    the job document's `numbers`, `success`, `errors`, `pvt_status`, `pvt_modified` (and the
    number documents). The numbers written but not folded are found again as this job's own:
    nothing is written twice or reported as an error."""
    account, headers, rid = tenant
    services = client.app[SERVICES]
    nums = numbers_block(1200)
    db, job_id = await kill_mid_job(couchdb_url, tmp_path, account, headers, rid, nums, "after_numbers_written:3")
    stored = await couch.get_doc(db, job_id)
    folded = kazoo_done(stored, nums)
    # the second fold is saved while the third batch is written: it may not have landed
    assert stored["pvt_status"] == "running" and set(nums[:300]) <= folded <= set(nums[:600])
    for n in nums[600:900]:  # the third batch is stored, its results were not folded
        assert (await couch.get_doc(names.numbers_db(n), n))["pvt_job_id"] == job_id
    await kazoo_jobs_listing(couch, db, job_id)  # installs Kazoo's views
    # the dead node's last save is seconds old: Kazoo's recovery with a threshold of 0
    await eventually(
        lambda: kazoo_recovery_pass(couch, db, 0), lambda ids: job_id in ids, what="Kazoo's recovery marks the job"
    )
    assert (await couch.get_doc(db, job_id))["pvt_recovering"] is True
    async with kazoo.system_config("crossbar.resources", job_recovery_threshold_s=0):

        async def our_pass() -> dict:
            await services.recovery.run_pass()
            return await couch.get_doc(db, job_id)

        await eventually(
            our_pass, lambda job: job["pvt_node"] == services.settings.node_name, what="our recovery takes the job over"
        )
    doc = await wait_stored(couch, db, job_id)
    assert doc["errors"] == {} and set(doc["success"]) == set(nums) and "pvt_recovering" not in doc
    assert all(doc["success"][n] == stored["success"][n] for n in folded)
    await check_numbers_once(couch, account, nums)
