"""The number manager's rules against numbers already in CouchDB:
who owns a number after a crash, taking over `available` numbers, port requests, services,
numbers of other hierarchies and the phonebook's orders."""

from __future__ import annotations

import asyncio
import secrets

import pytest
import structlog.testing
from aiohttp import web

from kazoo_crossbar.app import SERVICES
from kazoo_crossbar.jobs import carriers
from kazoo_crossbar.jobs import numbers as knm
from kazoo_crossbar.jobs.runner import JobRunner
from kazoo_crossbar.storage import names, views
from kazoo_crossbar.storage.couch import NotFound

from ..kazoo import fixture, numbers_block, stale_job, wait_for_job, wait_stored


async def run_job(client, account, headers, nums, rid) -> dict:
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources/jobs",
        json={"data": {"numbers": nums, "resource_id": rid}},
        headers=headers,
    )
    body = await resp.json()
    assert resp.status == 201, body
    return await wait_for_job(client, f"/v2/accounts/{account['_id']}/resources/jobs/{body['data']['id']}", headers)


# --- item 3: a number already reserved is number_exists for every job that did not write it ----------


async def test_second_job_with_the_same_numbers_reports_number_exists(client, couch, tenant):
    account, headers, rid = tenant
    nums = numbers_block(4)
    first = await run_job(client, account, headers, nums, rid)
    assert set(first["successes"]) == set(nums) and first["errors"] == {}
    second = await run_job(client, account, headers, nums, rid)
    assert second["successes"] == {}
    # Kazoo's error, naming the holder: the job's own account (docs/decisions.md)
    assert second["errors"] == {n: knm.number_exists(n, account["_id"]) for n in nums}
    assert second["errors"][nums[0]]["assigned_to"] == account["_id"]
    for n in nums:  # the second job wrote nothing
        assert (await couch.get_doc(names.numbers_db(n), n))["_rev"].startswith("1-")


async def test_two_concurrent_jobs_each_number_succeeds_once(client, couch, tenant):
    account, _, rid = tenant
    services = client.app[SERVICES]
    nums = numbers_block(600)  # several batches each, so the two runs interleave
    jobs = [await stale_job(couch, account, rid, nums, age_s=0) for _ in range(2)]
    runners = [JobRunner(services.writes, services.config, services.accounts, f"node{i}@test") for i in range(2)]
    outcomes = await asyncio.gather(*(r.run(account["_id"], job_id) for r, (_, job_id) in zip(runners, jobs)))
    await asyncio.gather(*(r.close() for r in runners))
    assert outcomes == ["complete", "complete"]
    docs = [await couch.get_doc(db, job_id) for db, job_id in jobs]
    won = [set(d["success"]) for d in docs]
    assert not won[0] & won[1] and won[0] | won[1] == set(nums)
    for d, mine in zip(docs, won):
        # the holder is named when the number was read (not when a write lost a race)
        errors = {n: {k: v for k, v in e.items() if k != "assigned_to"} for n, e in d["errors"].items()}
        assert errors == {n: knm.number_exists(n) for n in set(nums) - mine}
        assert {e.get("assigned_to", account["_id"]) for e in d["errors"].values()} <= {account["_id"]}
    for n in nums[::50]:
        stored = await couch.get_doc(names.numbers_db(n), n)
        winner = 0 if n in won[0] else 1
        assert stored["pvt_job_id"] == jobs[winner][1]


async def test_resumed_job_counts_only_its_own_writes(client, couch, tenant):
    """After a crash, numbers the job itself wrote are its successes; numbers another job of the
    same account and resource wrote meanwhile (declared in flight or not) are number_exists."""
    account, _, rid = tenant
    services = client.app[SERVICES]
    nums = numbers_block(6)
    mine, theirs = nums[:3], nums[3:]
    db, job_id = await stale_job(couch, account, rid, nums, status="running", pvt_node="dead@node", pvt_inflight=nums)
    now = names.gregorian_now()
    for n, writer in [(n, job_id) for n in mine] + [(n, "202601-00000000000000ff") for n in theirs]:
        ndb = names.numbers_db(n)
        await views.ensure_db(couch, ndb)
        await couch.save_doc(ndb, knm.number_doc(n, account["_id"], rid, knm.LOCAL, now, job_id=writer))
    assert await services.recovery.run_pass() >= 1
    doc = await wait_stored(couch, db, job_id)
    assert set(doc["success"]) == set(mine)
    assert doc["errors"] == {n: knm.number_exists(n, account["_id"]) for n in theirs}


# --- item 8: another hierarchy's number is 403 forbidden (knm_phone_number:handle_fetch) ---------------


async def test_number_of_another_hierarchy_is_forbidden(client, couch, kazoo, tenant):
    account, headers, rid = tenant
    stranger = await kazoo.account()  # a separate tree
    child = await kazoo.account(parent=account)
    nums = numbers_block(3)
    foreign, childs, parents = nums
    parent_reserved = await kazoo.account()
    caller = await kazoo.account(parent=parent_reserved)  # reserved by its parent: visible, 409
    in_service = fixture("numbers-db.number-doc.json")
    for number, owner, state in (
        (foreign, stranger, "in_service"),
        (childs, child, "in_service"),
        (parents, parent_reserved, "reserved"),
    ):
        db = names.numbers_db(number)
        await views.ensure_db(couch, db)
        await couch.save_doc(db, {**in_service, "_id": number, "pvt_state": state, "pvt_assigned_to": owner["_id"]})
    done = await run_job(client, account, headers, [foreign, childs], rid)
    assert done["successes"] == {}
    assert done["errors"][foreign] == {
        "code": 403,
        "error": "forbidden",
        "message": "requestor is unauthorized to perform operation",
    }
    # our own hierarchy: it exists, held by a descendant the job's readers may see, so named
    assert done["errors"][childs] == knm.number_exists(childs, child["_id"])

    caller_headers = {"X-Auth-Token": await kazoo.token_for(caller)}
    resp = await client.put(
        f"/v2/accounts/{caller['_id']}/resources",
        json={"data": {"name": "BYOC", "gateways": []}},
        headers=caller_headers,
    )
    caller_rid = (await resp.json())["data"]["id"]
    done = await run_job(client, caller, caller_headers, [parents, foreign], caller_rid)
    # held by the caller's parent: visible to the caller, but not below the job's account, so not named
    assert done["errors"][parents] == knm.number_exists(parents)
    assert "assigned_to" not in done["errors"][parents]
    assert done["errors"][foreign]["code"] == 403
    assert (await couch.get_doc(names.numbers_db(foreign), foreign))["pvt_assigned_to"] == stranger["_id"]


# --- item 4: taking over an `available` number keeps its fields and leaves the previous account ----------


async def test_available_number_taken_over_keeps_its_fields(client, couch, kazoo, tenant):
    account, headers, rid = tenant
    previous = await kazoo.account()
    number = numbers_block(1)[0]
    kazoo_doc = fixture("numbers-db.number-doc-carrier.json")  # as knm_phone_number:to_json wrote it
    stored = {
        **kazoo_doc,
        "_id": number,
        "pvt_db_name": names.encode(names.numbers_db(number)),
        "pvt_state": "available",
        "pvt_assigned_to": previous["_id"],
        "pvt_region": "us-west",
        "cnam": {"display_name": "ACME"},
    }
    stored.pop("state")
    await views.ensure_db(couch, names.numbers_db(number))
    await couch.save_doc(names.numbers_db(number), dict(stored))
    await couch.save_doc(names.account_db(previous["_id"]), dict(stored))  # the previous owner's copy

    done = await run_job(client, account, headers, [number], rid)
    assert list(done["successes"]) == [number], done
    doc = await couch.get_doc(names.numbers_db(number), number)
    assert doc["pvt_assigned_to"] == account["_id"] and doc["pvt_state"] == "reserved"
    assert doc["pvt_previously_assigned_to"] == previous["_id"]
    assert doc["pvt_reserve_history"][0] == account["_id"]
    for kept in (
        "pvt_carrier_data",
        "pvt_region",
        "pvt_features_allowed",
        "pvt_features_denied",
        "pvt_created",
        "e911",
        "cnam",
        "ui_metadata",
    ):
        assert doc[kept] == stored[kept], kept
    assert doc["pvt_features"] == {**kazoo_doc["pvt_features"], "local": {}}
    assert doc["resource_id"] == rid and doc["pvt_module_name"] == "knm_local"
    assert "used_by" not in doc and "pvt_used_by" not in doc  # set_assigned_to clears used_by
    entry = done["successes"][number]
    assert entry["e911"] == stored["e911"] and entry["cnam"] == stored["cnam"] and entry["resource_id"] == rid
    # the number left the previous account's database and is in ours
    with pytest.raises(NotFound):
        await couch.get_doc(names.account_db(previous["_id"]), number)
    copy = await couch.get_doc(names.account_db(account["_id"]), number)
    assert {k: v for k, v in copy.items() if k != "_rev"} == {k: v for k, v in doc.items() if k != "_rev"}


# --- item 12: knm_other orders: a failed chunk falls back to one order per number ----------------------


def phonebook_stub(bad: set[str], slow: set[str], held: asyncio.Event, orders: list[list[str]]) -> web.Application:
    """A phonebook on loopback that refuses any order holding a bad number (500) and never
    answers an order for a slow number alone until the test is over."""

    async def order(request: web.Request) -> web.StreamResponse:
        nums = (await request.json())["data"]["numbers"]
        orders.append(nums)
        if bad & set(nums):
            return web.json_response({"error": "no"}, status=500)
        if len(nums) == 1 and nums[0] in slow:
            await held.wait()
        return web.json_response({"data": {n: {"status": "success", "opaque": {"n": n}} for n in nums}})

    app = web.Application()
    app.router.add_put("/numbers/{country}/order", order)
    return app


async def test_one_bad_number_never_fails_the_others(client, couch, kazoo, tenant, master_token, aiohttp_server):
    account, headers, _ = tenant
    resp = await client.put(
        "/v2/resources", json={"data": {"name": "Global", "gateways": []}}, headers={"X-Auth-Token": master_token}
    )
    global_rid = (await resp.json())["data"]["id"]
    nums = numbers_block(8)
    bad = nums[3]
    orders: list[list[str]] = []
    phonebook = await aiohttp_server(phonebook_stub({bad}, set(), asyncio.Event(), orders))
    async with kazoo.system_config(
        "number_manager.other", phonebook_url=str(phonebook.make_url("")), default_country="US", endpoints=[]
    ):
        done = await run_job(client, account, headers, nums, global_rid)
    assert set(done["successes"]) == set(nums) - {bad}
    assert done["errors"] == {
        bad: {"code": 500, "error": "unspecified_fault", "message": "fault by carrier", "cause": bad}
    }
    assert orders[0] == nums and sorted(orders[1:]) == sorted([n] for n in nums)  # one chunk, then one each
    doc = await couch.get_doc(names.numbers_db(nums[0]), nums[0])
    assert doc["pvt_carrier_data"] == {"n": nums[0]} and doc["pvt_module_name"] == "knm_other"
    with pytest.raises(NotFound):
        await couch.get_doc(names.numbers_db(bad), bad)


async def test_a_slow_answer_fails_only_its_number(client, kazoo, aiohttp_server):
    nums = numbers_block(5)
    bad, slow = nums[0], nums[1]
    held, orders = asyncio.Event(), []
    phonebook = await aiohttp_server(phonebook_stub({bad}, {slow}, held, orders))
    config = client.app[SERVICES].config
    limits = carriers.OrderLimits(chunk=3, base_s=3.0, per_number_s=0.0)
    try:
        async with kazoo.system_config(
            "number_manager.other",
            phonebook_url=str(phonebook.make_url("")),
            default_country="US",
            endpoints=["gw.example"],
        ):
            out = await carriers.acquire(config, knm.OTHER, nums, limits)
    finally:
        held.set()
    assert {n for n, v in out.items() if "ok" in v} == set(nums) - {bad, slow}
    assert out[slow]["error"]["cause"] == slow and out[bad]["error"]["error"] == "unspecified_fault"
    assert orders[0] == nums[:3] and [nums[3], nums[4]] in orders  # chunks of 3; the second went through whole
    assert carriers.OrderLimits().timeout(10_000) > carriers.OrderLimits().timeout(1)


# --- item 5: port requests (knm_number:ensure_number_is_not_porting) ----------------------------------

# The row contract of Kazoo's `port_requests/port_in_numbers` (kazoo_number_manager): one row per
# number of a port request that is not unconfirmed, completed, rejected or canceled.
PORT_IN_NUMBERS = """function(doc) {
  if (doc.pvt_type != 'port_request' || doc.pvt_deleted) return;
  var done = ['unconfirmed', 'completed', 'rejected', 'canceled'];
  if (done.indexOf(doc.pvt_port_state) >= 0) return;
  for (var n in doc.numbers) emit(n, doc.pvt_account_id);
}"""


async def port_request(couch, account_id: str, nums: list[str], state: str) -> None:
    await couch.create_db("port_requests")
    try:
        await couch.get_doc("port_requests", "_design/port_requests")
    except NotFound:
        await couch.save_doc(
            "port_requests",
            {
                "_id": "_design/port_requests",
                "language": "javascript",
                "views": {"port_in_numbers": {"map": PORT_IN_NUMBERS}},
            },
        )
    await couch.save_doc(
        "port_requests",
        {
            "_id": secrets.token_hex(16),
            "pvt_type": "port_request",
            "pvt_port_state": state,
            "pvt_account_id": account_id,
            "numbers": {n: {} for n in nums},
        },
    )


async def test_a_number_being_ported_in_is_not_created(client, couch, kazoo, tenant):
    account, headers, rid = tenant
    other = await kazoo.account()
    porting, ported, fresh, available = numbers_block(4)
    await port_request(couch, other["_id"], [porting, available], "submitted")
    await port_request(couch, other["_id"], [ported], "completed")
    db = names.numbers_db(available)
    await views.ensure_db(couch, db)
    await couch.save_doc(db, {**fixture("numbers-db.number-doc.json"), "_id": available, "pvt_state": "available"})
    done = await run_job(client, account, headers, [porting, ported, fresh, available], rid)
    assert done["errors"] == {
        porting: {
            "code": 400,
            "error": "number_is_porting",
            "cause": porting,
            "message": f"number {porting} is porting",
        }
    }
    assert set(done["successes"]) == {ported, fresh, available}  # an existing number is not port-checked
    with pytest.raises(NotFound):
        await couch.get_doc(names.numbers_db(porting), porting)


# --- item 5: the services update after a save (knm_numbers:run_services → kz_services:commit) -----------

# The number part of Kazoo's `services/quantify` (kazoo_services_maintenance:js_quantify_map, its
# classifiers reduced to one) and `services/cascade_quantities` (kazoo_services), as Kazoo installs them.
QUANTIFY = """function(doc) {
  if (doc.pvt_deleted || doc.pvt_type != 'number') return;
  emit(['number_carriers', doc.pvt_module_name], 1);
  var features = doc.pvt_features || {};
  for (var index in features) emit(['number_services', index], 1);
  if (features.local) return;
  emit(['phone_numbers', 'did_us'], 1);
}"""
CASCADE = """function(doc) {
  if (doc.pvt_type != 'service' || doc.pvt_deleted || !doc.quantities || !doc.quantities.account) return;
  for (var key in doc.quantities.account) {
    var obj = doc.quantities.account[key];
    for (var prop in obj) {
      if (obj[prop] < 1) continue;
      for (var idx in doc.pvt_tree) emit([doc.pvt_tree[idx] || doc._id, key, prop], obj[prop]);
    }
  }
}"""


async def services_views(couch, account: dict) -> None:
    """Kazoo's definition of `services/quantify` in place of ours (same row contract)."""
    db = names.account_db(account["_id"])
    doc = {
        "_id": "_design/services",
        "language": "javascript",
        "views": {"quantify": {"map": QUANTIFY, "reduce": "_sum"}},
    }
    try:
        doc["_rev"] = (await couch.get_doc(db, "_design/services"))["_rev"]
    except NotFound:
        pass
    await couch.save_doc(db, doc)


async def services_doc(couch, account: dict, **quantities) -> None:
    await couch.create_db("services")
    try:
        await couch.get_doc("services", "_design/services")
    except NotFound:
        await couch.save_doc(
            "services",
            {
                "_id": "_design/services",
                "language": "javascript",
                "views": {"cascade_quantities": {"map": CASCADE, "reduce": "_sum"}},
            },
        )
    await couch.save_doc(
        "services",
        {
            "_id": account["_id"],
            "pvt_type": "service",
            "pvt_tree": account["pvt_tree"],
            "quantities": {"account": quantities, "cascade": {}},
        },
    )


async def test_services_documents_count_the_new_numbers(client, couch, kazoo):
    parent = await kazoo.account()
    child = await kazoo.account(parent=parent)
    previous = await kazoo.account(parent=parent)
    for account in (parent, child, previous):
        await services_views(couch, account)
    await services_doc(couch, parent)
    await services_doc(couch, child, users={"admin": 1})
    await services_doc(couch, previous, number_carriers={"knm_other": 1})
    headers = {"X-Auth-Token": await kazoo.token_for(child)}
    resp = await client.put(
        f"/v2/accounts/{child['_id']}/resources", json={"data": {"name": "BYOC", "gateways": []}}, headers=headers
    )
    rid = (await resp.json())["data"]["id"]
    nums = numbers_block(3)
    moved = nums[0]  # available, taken over from `previous`
    doc = {
        **fixture("numbers-db.number-doc.json"),
        "_id": moved,
        "pvt_state": "available",
        "pvt_type": "number",
        "pvt_module_name": "knm_other",
        "pvt_assigned_to": previous["_id"],
    }
    await views.ensure_db(couch, names.numbers_db(moved))
    await couch.save_doc(names.numbers_db(moved), dict(doc))
    await couch.save_doc(names.account_db(previous["_id"]), dict(doc))

    done = await run_job(client, child, headers, nums, rid)
    assert set(done["successes"]) == set(nums)
    child_services = await couch.get_doc("services", child["_id"])
    assert child_services["quantities"]["account"] == {
        "users": {"admin": 1},
        "number_carriers": {"knm_local": 3},
        "number_services": {"local": 3},
    }
    # the previous owner no longer counts the number; the parent's cascade sums both children
    assert (await couch.get_doc("services", previous["_id"]))["quantities"]["account"] == {}
    cascade = (await couch.get_doc("services", parent["_id"]))["quantities"]["cascade"]
    assert cascade["number_carriers"] == {"knm_local": 3} and cascade["number_services"] == {"local": 3}
    rev = child_services["_rev"]
    again = await run_job(client, child, headers, nums, rid)  # nothing changed: nothing written
    assert again["successes"] == {} and (await couch.get_doc("services", child["_id"]))["_rev"] == rev


async def test_services_update_skips_what_is_not_there(client, couch, kazoo):
    """No `services/quantify` view (an account database made without it): the numbers are saved,
    nothing is counted. With the view but no services document, one is made (kz_services:fetch
    creates a missing one) holding the counts."""
    account = await kazoo.account()
    headers = {"X-Auth-Token": await kazoo.token_for(account)}
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources", json={"data": {"name": "NoView", "gateways": []}}, headers=headers
    )
    rid = (await resp.json())["data"]["id"]
    db = names.account_db(account["_id"])
    design = await couch.get_doc(db, "_design/services")
    await couch.delete_doc(db, "_design/services", design["_rev"])
    try:
        nums = numbers_block(2)
        done = await run_job(client, account, headers, nums, rid)
        assert set(done["successes"]) == set(nums)
        with pytest.raises(NotFound):
            await couch.get_doc("services", account["_id"])
    finally:
        await views.install(couch, db)
    other = await kazoo.account()  # its database has the view, it has no services document
    other_headers = {"X-Auth-Token": await kazoo.token_for(other)}
    resp = await client.put(
        f"/v2/accounts/{other['_id']}/resources", json={"data": {"name": "BYOC", "gateways": []}}, headers=other_headers
    )
    done = await run_job(client, other, other_headers, numbers_block(1), (await resp.json())["data"]["id"])
    assert len(done["successes"]) == 1
    counted = (await couch.get_doc("services", other["_id"]))["quantities"]["account"]
    assert counted["number_carriers"] == {"knm_local": 1}


async def test_services_update_failure_is_logged_not_raised(couch, kazoo, tenant):
    """CouchDB gone between the numbers' save and the services update: the job goes on (the
    numbers are saved; the next recount, ours or Kazoo's, catches up)."""
    from kazoo_crossbar.bus.base import NullBus
    from kazoo_crossbar.jobs.service_quantities import ServiceQuantities
    from kazoo_crossbar.storage.couch import CouchClient
    from kazoo_crossbar.storage.system_config import SystemConfig
    from kazoo_crossbar.storage.writes import Writes

    from ..conftest import free_port

    gone = CouchClient(f"http://127.0.0.1:{free_port()}", timeout_s=2, connect_timeout_s=1)
    try:
        writes = Writes(gone, NullBus(), node="n@test")
        with structlog.testing.capture_logs() as logs:
            await ServiceQuantities(writes, SystemConfig(writes)).commit([tenant[0]["_id"]])
    finally:
        await gone.close()
    assert [entry["account_id"] for entry in logs if entry["event"] == "services_update_failed"] == [tenant[0]["_id"]]


# --- the account's listing views are refreshed after a job, not while it writes -----------------------


async def test_the_listing_refresh_starts_once_the_job_is_complete(client, couch, tenant):
    """Indexing the copies while the job wrote them cost CouchDB 3 as much CPU as the writes,
    on the job's clock (bench P2): one refresh per job, once its document says `complete`."""
    account, _, rid = tenant
    services = client.app[SERVICES]
    runner = JobRunner(services.writes, services.config, services.accounts, "node-warm@test")
    db, job_id = await stale_job(couch, account, rid, numbers_block(2500), age_s=0)  # two batches
    status: dict[str, str] = {}  # the status the job document was last saved with
    seen: list[tuple[str, str]] = []  # (database, that status) at each refresh
    save, touched = runner._save, runner.warmer.touched

    async def saving(job, state, **kw):
        ok = await save(job, state, **kw)
        status["now"] = state
        return ok

    def spy(account_db: str) -> None:
        seen.append((account_db, status.get("now", "")))
        touched(account_db)

    runner.warmer.touched = spy  # type: ignore[method-assign]
    runner._save = saving  # type: ignore[method-assign]
    try:
        assert await runner.run(account["_id"], job_id) == "complete"
    finally:
        await runner.close()
    assert seen == [(names.account_db(account["_id"]), "complete")]
    assert (await couch.get_doc(db, job_id))["pvt_status"] == "complete"
