"""The storage write path publishes every change event (Kazoo's kzs_publish), on the real broker:
a recovery claim and the resumed job's number documents, system_config writes, and never a
design document or a type in `datamgr.change_notice_exclude_types`."""

from __future__ import annotations

import secrets

from kazoo_crossbar.app import SERVICES
from kazoo_crossbar.storage import names

from ..kazoo import numbers_block, stale_job, wait_stored


async def test_recovery_claim_and_resumed_numbers_publish(bus_client, listener, couch, kazoo):
    account = await kazoo.account()
    headers = {"X-Auth-Token": await kazoo.token_for(account)}
    resp = await bus_client.put(
        f"/v2/accounts/{account['_id']}/resources", headers=headers, json={"data": {"name": "R", "gateways": []}}
    )
    rid = (await resp.json())["data"]["id"]
    nums = numbers_block(2)
    db, job_id = await stale_job(couch, account, rid, nums)
    services = bus_client.app[SERVICES]
    assert await services.recovery.run_pass() >= 1
    modb = names.encode(db)
    # the claim itself (pvt_recovering set, through the revision check) is an edit event
    claims = await listener.wait_for(lambda e, k, p: k == f"doc_edited.{modb}.resource_job.{job_id}")
    assert claims[0][2]["Account-ID"] == account["_id"] and claims[0][2]["Database"] == modb
    await wait_stored(couch, db, job_id)
    for n in nums:
        enc = "%2B" + n[1:]
        ndb = names.encode(names.numbers_db(n))
        adb = names.encode(names.account_db(account["_id"]))
        await listener.wait_for(lambda e, k, p, ndb=ndb, enc=enc: k == f"doc_created.{ndb}.number.{enc}")
        await listener.wait_for(lambda e, k, p, adb=adb, enc=enc: k == f"doc_created.{adb}.number.{enc}")
    # claim + at least one checkpoint + completion: more than one edit of the job
    edits = await listener.wait_for(lambda e, k, p: k == f"doc_edited.{modb}.resource_job.{job_id}")
    assert len(edits) >= 2


async def test_excluded_types_and_design_docs_are_not_published(bus_client, listener, couch):
    writes = bus_client.app[SERVICES].writes
    db = names.SYSTEM_CONFIG
    tag = secrets.token_hex(4)
    # a type on Kazoo's default exclusion list, a design document, then one that is published
    await writes.save(db, {"_id": f"ledger_{tag}", "pvt_type": "ledger"})
    await writes.save(db, {"_id": f"_design/x{tag}", "language": "javascript", "views": {}})
    await writes.save(db, {"_id": f"marker_{tag}", "pvt_type": "config"})
    await listener.wait_for(lambda e, k, p: k == f"doc_created.system_config.config.marker_{tag}")
    assert not [k for _, k, _ in listener.messages if tag in k and "marker" not in k]


async def test_system_config_default_write_publishes(bus_client, listener):
    config = bus_client.app[SERVICES].config
    category = f"test_cat_{secrets.token_hex(4)}"
    assert await config.get(category, "some_key", 42) == 42  # a missing default is written back, as Kazoo
    ((_, _, p),) = await listener.wait_for(lambda e, k, p: k == f"doc_created.system_config.config.{category}")
    assert p["Type"] == "config" and p["Database"] == "system_config"


async def test_delete_by_id_only_if_leaves_a_refused_document_and_publishes_nothing(
    bus_client,
    listener,
    couch,
):
    """The conditional delete `sip_auth` copies use: another account's document is never removed."""
    writes = bus_client.app[SERVICES].writes
    db, tag = names.SYSTEM_CONFIG, secrets.token_hex(4)
    kept, gone = f"kept_{tag}", f"gone_{tag}"
    for doc_id in (kept, gone):
        await writes.save(db, {"_id": doc_id, "pvt_type": "config", "pvt_account_id": "other"})

    def ours(stored: dict) -> bool:
        return stored.get("pvt_account_id") == "mine"

    assert await writes.delete_by_id(db, kept, only_if=ours) is None
    assert (await couch.get_doc(db, kept))["pvt_account_id"] == "other"
    removed = await writes.delete_by_id(db, gone, only_if=lambda stored: not ours(stored))
    assert removed is not None and removed["_id"] == gone
    await listener.wait_for(lambda e, k, p: k == f"doc_deleted.system_config.config.{gone}")
    assert not [k for _, k, _ in listener.messages if k.startswith("doc_deleted") and kept in k]
