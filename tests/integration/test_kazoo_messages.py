"""What a Kazoo 4.3 node receives from us on the bus, read the way it reads it: each message
passes the validator of its kind (tests/kazoo_api.py), carries Kazoo's default headers, and
says `created`/`edited`/`deleted` as kzs_publish would for the same write."""

from __future__ import annotations

import asyncio
import secrets

from kazoo_crossbar.storage import names

from ..kazoo import numbers_block, wait_for_job
from ..kazoo_api import check_message


async def test_a_hard_deleted_id_saved_again_is_created(bus_client, listener, master_token):
    """kzs_publish:publish_doc: created when the document given to the save has no `_rev`. The
    third revision of an id whose second was a hard delete is a creation for Kazoo's caches."""
    headers = {"X-Auth-Token": master_token}
    rid = f"recreated-{secrets.token_hex(4)}"
    body = {"data": {"id": rid, "name": "Again", "gateways": []}}
    assert (await bus_client.put("/v2/resources", json=body, headers=headers)).status == 201
    resp = await bus_client.delete(f"/v2/resources/{rid}?should_soft_delete=false", headers=headers)
    assert resp.status == 200
    await listener.wait_for(lambda e, k, p: k == f"doc_deleted.offnet.resource.{rid}")
    listener.messages.clear()
    resp = await bus_client.put("/v2/resources", json=body, headers=headers)
    assert resp.status == 201 and (await resp.json())["revision"].startswith("3-")
    ((ex, key, payload),) = await listener.wait_for(lambda e, k, p: k.endswith(f".offnet.resource.{rid}"))
    assert key == f"doc_created.offnet.resource.{rid}" and payload["Event-Name"] == "doc_created"
    assert payload["Rev"].startswith("3-") and check_message(ex, key, payload) == []


async def test_databases_we_create_are_announced_as_kzs_db_does(bus_client, listener, kazoo, couch):
    """kzs_db:db_create publishes `db_created.<db>.database.<db>` when it made the database: a
    job's month database and a number database that did not exist."""
    account = await kazoo.account()
    headers = {"X-Auth-Token": await kazoo.token_for(account), "X-Request-ID": f"dbs-{secrets.token_hex(4)}"}
    resp = await bus_client.put(
        f"/v2/accounts/{account['_id']}/resources", json={"data": {"name": "DBs", "gateways": []}}, headers=headers
    )
    rid = (await resp.json())["data"]["id"]
    for _ in range(50):  # a number database nobody made yet (area codes are shared by the whole run)
        number = numbers_block(1)[0]
        if not await couch.db_exists(names.numbers_db(number)):
            break
    resp = await bus_client.put(
        f"/v2/accounts/{account['_id']}/resources/jobs",
        json={"data": {"numbers": [number], "resource_id": rid}},
        headers=headers,
    )
    job_id = (await resp.json())["data"]["id"]
    await wait_for_job(bus_client, f"/v2/accounts/{account['_id']}/resources/jobs/{job_id}", headers)
    modb = names.encode(names.modb(account["_id"], int(job_id[:4]), int(job_id[4:6])))
    for db in (modb, names.encode(names.numbers_db(number))):
        ((ex, key, payload),) = await listener.wait_for(lambda e, k, p, db=db: k.startswith(f"db_created.{db}."))
        assert check_message(ex, key, payload) == []
        assert payload["Type"] == "database" and payload["ID"] == db and payload["Database"] == db
        assert payload["App-Name"] == "datamgr" and payload["App-Version"] == "1.0.0"
    # created once: the job's later writes into them announce no database
    assert len([k for _, k, _ in listener.messages if k.startswith(f"db_created.{modb}.")]) == 1


def _switch(listener) -> list[str]:
    return [k for e, k, _ in listener.messages if e == "switch"]


async def _settled_switch(listener) -> list[str]:
    """The switch messages of what was published so far (the service has its publishes confirmed
    before it answers, so the listener's barrier follows them)."""
    await listener.barrier()
    return sorted(_switch(listener))


async def test_one_reload_per_request_decided_from_what_was_written(bus_client, listener, kazoo, couch):
    """kapi_switch reloads as ecallmgr reads them (kapi_switch:reload_*_v), decided in one place:
    a local collection of N registering resources (4.3: one pair per resource) sends one pair,
    as a global collection does; a local resource that touches no `sip_auth` copy sends none."""
    account = await kazoo.account()
    headers = {"X-Auth-Token": await kazoo.token_for(account)}
    base = f"/v2/accounts/{account['_id']}/resources"
    registering = [
        {
            "name": f"Reg {i}",
            "gateways": [{"server": f"s{i}.example", "register": True, "username": "u", "password": "p"}],
        }
        for i in range(4)
    ]
    resp = await bus_client.put(f"{base}/collection", json={"data": registering}, headers=headers)
    body = await resp.json()
    assert resp.status == 201 and len(body["data"]["successes"]) == 4, body
    for rid in body["data"]["successes"]:
        assert (await couch.get_doc("sip_auth", rid))["pvt_account_id"] == account["_id"]
    assert await _settled_switch(listener) == ["switch.reload_acls", "switch.reload_gateways"]
    for exchange, key, payload in listener.messages:
        assert check_message(exchange, key, payload) == [], key

    listener.messages.clear()
    admin = {"X-Auth-Token": await kazoo.api_token(kazoo.master["api_key"])}
    plain = [{"name": f"Global {i}", "gateways": []} for i in range(3)]
    resp = await bus_client.put("/v2/resources/collection", json={"data": plain}, headers=admin)
    assert resp.status == 201
    assert await _settled_switch(listener) == ["switch.reload_acls", "switch.reload_gateways"]

    listener.messages.clear()
    resp = await bus_client.put(f"{base}/collection", json={"data": plain}, headers=headers)
    rids = list((await resp.json())["data"]["successes"])
    assert (
        rids and await _settled_switch(listener) == []
    )  # nothing registers, no copy existed: ecallmgr has nothing to reload


async def test_everything_a_job_writes_is_announced_with_the_jobs_request_id(bus_client, listener, kazoo, couch):
    """#20 item 1: Kazoo's caches (stepswitch's among them) must hear about every write of a job:
    the number document, the account copy, the copy removed from the number's previous account
    (unassign_from_prev), both accounts' services documents, and the job
    document, each with Kazoo's default headers and the job's request id as `Msg-ID`."""
    from ..kazoo import fixture

    previous = await kazoo.account()
    account = await kazoo.account()
    request_id = f"job-{secrets.token_hex(6)}"
    headers = {"X-Auth-Token": await kazoo.token_for(account), "X-Request-ID": request_id}
    resp = await bus_client.put(
        f"/v2/accounts/{account['_id']}/resources", json={"data": {"name": "Mover", "gateways": []}}, headers=headers
    )
    rid = (await resp.json())["data"]["id"]
    moved, new = numbers_block(2)
    # `moved` is available, last assigned to `previous` (with its copy there), as Kazoo leaves it
    doc = {
        **fixture("numbers-db.number-doc.json"),
        "_id": moved,
        "pvt_state": "available",
        "pvt_type": "number",
        "pvt_module_name": "knm_other",
        "pvt_assigned_to": previous["_id"],
    }
    doc.pop("_rev", None)
    from kazoo_crossbar.storage import views

    await views.ensure_db(couch, names.numbers_db(moved))
    await couch.save_doc(names.numbers_db(moved), dict(doc))
    await couch.save_doc(names.account_db(previous["_id"]), dict(doc))
    if not await couch.db_exists("services"):
        await couch.create_db("services")
    services = {"_id": previous["_id"], "pvt_type": "service", "pvt_tree": previous["pvt_tree"]}
    await couch.save_doc("services", {**services, "quantities": {"account": {"number_carriers": {"knm_other": 1}}}})
    resp = await bus_client.put(
        f"/v2/accounts/{account['_id']}/resources/jobs",
        json={"data": {"numbers": [moved, new], "resource_id": rid}},
        headers=headers,
    )
    job_id = (await resp.json())["data"]["id"]
    done = await wait_for_job(bus_client, f"/v2/accounts/{account['_id']}/resources/jobs/{job_id}", headers)
    assert set(done["successes"]) == {moved, new}
    adb, pdb = (names.encode(names.account_db(a["_id"])) for a in (account, previous))
    modb = names.encode(names.modb(account["_id"], int(job_id[:4]), int(job_id[4:6])))
    enc = {n: "%2B" + n[1:] for n in (moved, new)}
    expected = [
        f"doc_edited.{names.encode(names.numbers_db(moved))}.number.{enc[moved]}",
        f"doc_created.{names.encode(names.numbers_db(new))}.number.{enc[new]}",
        f"doc_created.{adb}.number.{enc[moved]}",
        f"doc_created.{adb}.number.{enc[new]}",
        f"doc_deleted.{pdb}.number.{enc[moved]}",  # unassign_from_prev
        f"doc_created.services.service.{account['_id']}",  # made as kz_services:fetch makes it
        f"doc_edited.services.service.{previous['_id']}",
        f"doc_edited.{modb}.resource_job.{job_id}",
    ]
    for prefix in expected:
        await listener.wait_for(lambda e, k, p, prefix=prefix: k.startswith(prefix))
    # every event of the job's writes carries its request id
    ours = [
        (e, k, p)
        for e, k, p in listener.messages
        if e == "configuration" and (job_id in k or moved[1:] in k or new[1:] in k or ".services." in k)
    ]
    assert len(ours) >= len(expected)
    for exchange, key, payload in ours:
        assert check_message(exchange, key, payload) == [], key
        assert payload["Msg-ID"] == request_id, (key, payload["Msg-ID"])


async def test_setup_with_a_broker_publishes_its_writes(couchdb_url, couch, master, listener):
    """`kazoo-crossbar setup --amqp-url`: setup's writes go through the write path with a bus, so
    Kazoo nodes hear of them (here the admin user setup saves again with the password it is given)."""
    from .. import broker
    from ..cli import kc

    argv = ["setup", "--couchdb-url", couchdb_url, "--amqp-url", broker.amqp_url(), "--admin-password", "s3cret-pass"]
    proc = await asyncio.to_thread(kc, *argv)
    assert proc.returncode == 0, proc.stderr
    db = names.encode(names.account_db(master["master_account_id"]))
    found = await listener.wait_for(lambda e, k, p: k.startswith(f"doc_edited.{db}.user."))
    for exchange, key, payload in found:
        assert check_message(exchange, key, payload) == [] and payload["Account-ID"] == master["master_account_id"]
