"""Design documents: each class of database this service creates gets the set Kazoo 4.3 installs
(tests/fixtures/kazoo/design_docs.json, read from Kazoo's source), and the views give Kazoo's rows
for documents shaped as Kazoo stores them."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from kazoo_crossbar.bus.base import NullBus
from kazoo_crossbar.storage import names, views
from kazoo_crossbar.storage.couch import CouchClient, NotFound

from ..kazoo import fixture, numbers_block, unique_npa, wait_for_job

KAZOO_SET = fixture("design_docs.json")


async def design_docs(couch, db: str) -> dict[str, dict]:
    rows = await couch.all_docs(db, startkey="_design/", endkey="_design0", include_docs=True)
    return {row["id"]: row["doc"] for row in rows}


def assert_has_kazoo_set(klass: str, stored: dict[str, dict]) -> None:
    """Every Kazoo design doc of the class with every view (and list) and the same reduce kind."""
    kazoo = KAZOO_SET[klass]["design_docs"]
    assert set(kazoo) <= set(stored), sorted(set(kazoo) - set(stored))
    for doc_id in kazoo:
        have = stored[doc_id]["views"]
        expected = kazoo[doc_id]["views"]
        assert set(expected) <= set(have), (doc_id, sorted(set(expected) - set(have)))
        for view in set(have) & set(expected):
            reduce = have[view].get("reduce")
            if expected[view] is None:
                assert reduce is None, (doc_id, view)
            elif expected[view] == "javascript":
                assert reduce and reduce.startswith("function"), (doc_id, view)
            else:
                assert reduce == expected[view], (doc_id, view)
        assert set(kazoo[doc_id].get("lists", [])) <= set(stored[doc_id].get("lists", {})), doc_id


async def query_every_view(couch, db: str, stored: dict[str, dict]) -> None:
    """The server builds each view. On CouchDB 3 (KAZOO_COUCHDB_URL) a map that does not compile
    fails the query; the embedded server answers no rows instead, so tests/unit/
    test_design_doc_files.py parses every function as ES5 and runs it on Kazoo's documents."""
    for doc_id, doc in stored.items():
        design = doc_id.split("/", 1)[1]
        for view, spec in doc["views"].items():
            res = await couch.view(db, design, view, limit=1, **({"reduce": False} if "reduce" in spec else {}))
            assert "rows" in res, (doc_id, view)
            if "reduce" in spec:
                res = await couch.view(db, design, view)
                assert "rows" in res, (doc_id, view)


async def fresh_npa(couch) -> str:
    """An area code whose number database does not exist yet (the job creates it)."""
    for _ in range(50):
        npa = unique_npa()
        if not await couch.db_exists(names.numbers_db(f"+1{npa}")):
            return npa
    raise AssertionError("no unused area code left")


@pytest.fixture(scope="module")
async def job_dbs(client, couch, kazoo):
    """A month database and a number database, both created by a job."""
    account = await kazoo.account()
    headers = {"X-Auth-Token": await kazoo.token_for(account)}
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources", json={"data": {"name": "DD", "gateways": []}}, headers=headers
    )
    rid = (await resp.json())["data"]["id"]
    nums = numbers_block(2, await fresh_npa(couch))
    modb = names.current_modb(account["_id"])
    assert not await couch.db_exists(modb)
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources/jobs",
        json={"data": {"numbers": nums, "resource_id": rid}},
        headers=headers,
    )
    job_id = (await resp.json())["data"]["id"]
    done = await wait_for_job(client, f"/v2/accounts/{account['_id']}/resources/jobs/{job_id}", headers)
    assert set(done["successes"]) == set(nums)
    modb = names.modb(account["_id"], int(job_id[:4]), int(job_id[4:6]))
    return {"account": account, "modb": modb, "numbers_db": names.numbers_db(nums[0]), "numbers": nums}


async def test_month_db_created_by_a_job_has_kazoos_design_docs(couch, job_dbs):
    stored = await design_docs(couch, job_dbs["modb"])
    assert_has_kazoo_set("modb", stored)
    assert set(stored) == set(KAZOO_SET["modb"]["design_docs"])  # nothing of our own either
    await query_every_view(couch, job_dbs["modb"], stored)


async def test_number_db_created_by_a_job_has_kazoos_design_docs(couch, job_dbs):
    stored = await design_docs(couch, job_dbs["numbers_db"])
    assert_has_kazoo_set("numbers", stored)
    assert set(stored) == set(KAZOO_SET["numbers"]["design_docs"])
    await query_every_view(couch, job_dbs["numbers_db"], stored)


async def test_account_db_created_by_the_service_has_kazoos_design_docs(couch, kazoo):
    """Account DBs: setup's master account and `kazoo-crossbar accounts create` (cb_accounts in Kazoo)."""
    account = await kazoo.plain_account("Design Docs")
    db = names.account_db(account["_id"])
    stored = await design_docs(couch, db)
    assert_has_kazoo_set("account", stored)
    assert set(stored) == set(KAZOO_SET["account"]["design_docs"])
    await query_every_view(couch, db, stored)


async def test_master_account_db_from_setup_has_kazoos_design_docs(couch, master):
    stored = await design_docs(couch, names.account_db(master["master_account_id"]))
    assert_has_kazoo_set("account", stored)


async def test_users_crossbar_listing_is_keyed_by_id_as_kazoo_recorded_it(couch, kazoo):
    """kazoo_fixturedb recorded `users/crossbar_listing` for its user fixture. The recording predates
    4.3's `flags`/`call_recording`/`timezone` members and the fixture's current `presence_id`, so
    those are compared with the document instead."""
    account = await kazoo.plain_account("Users View")
    db = names.account_db(account["_id"])
    user = {k: v for k, v in fixture("account-db.user-doc.json").items() if k != "_rev"}
    await couch.save_doc(db, user)
    [recorded] = fixture("account-db.users-crossbar_listing.rows.json")
    res = await couch.view(db, "users", "crossbar_listing", key=user["_id"])
    [row] = res["rows"]
    assert (row["id"], row["key"]) == (recorded["id"], recorded["key"])
    expected = {**recorded["value"], "presence_id": user["presence_id"]}
    assert {k: row["value"][k] for k in expected} == expected
    assert row["value"]["flags"] == [] and row["value"]["call_recording"] == user["call_recording"]
    assert set(row["value"]) - set(recorded["value"]) <= {"flags", "call_recording", "timezone"}
    res = await couch.view(db, "users", "list_by_email", key=user["email"].lower())
    assert [r["id"] for r in res["rows"]] == [user["_id"]]


async def test_numbers_list_assigned_and_app_rows(couch, job_dbs):
    account_id = job_dbs["account"]["_id"]
    db = job_dbs["numbers_db"]
    res = await couch.view(db, "numbers", "list_assigned_and_app", key=[account_id, None])
    assert sorted(r["id"] for r in res["rows"]) == sorted(job_dbs["numbers"])  # no pvt_used_by yet
    assert all(r["value"] is None for r in res["rows"])
    # Kazoo's number as knm_phone_number:to_json writes it, moved into this database, used by callflow
    carrier = fixture("numbers-db.number-doc-carrier.json")
    number = job_dbs["numbers"][0][:5] + "9" * 7
    carrier.pop("_rev", None)
    await couch.save_doc(db, {**carrier, "_id": number, "pvt_used_by": "callflow"})
    res = await couch.view(db, "numbers", "list_assigned_and_app", key=[carrier["pvt_assigned_to"], "callflow"])
    assert [(r["id"], r["key"], r["value"]) for r in res["rows"]] == [
        (number, [carrier["pvt_assigned_to"], "callflow"], None)
    ]
    # Kazoo's view counts only number docs that are not soft-deleted
    plain = fixture("numbers-db.number-doc.json")  # no pvt_type
    await couch.save_doc(db, {**plain, "_id": number[:-1] + "8"})
    doc = await couch.get_doc(db, number)
    await couch.save_doc(db, {**doc, "pvt_deleted": True})
    res = await couch.view(
        db,
        "numbers",
        "list_assigned_and_app",
        startkey=[plain["pvt_assigned_to"]],
        endkey=[plain["pvt_assigned_to"], {}],
    )
    assert res["rows"] == []
    res = await couch.view(db, "numbers", "list_assigned_and_app", key=[carrier["pvt_assigned_to"], "callflow"])
    assert res["rows"] == []


async def test_cdr_rows_as_kazoo_lists_them(couch, job_dbs):
    db = job_dbs["modb"]
    cdr = fixture("modb.cdr-doc.json")
    cdr_id = f"{secrets.token_hex(16)}"
    await couch.save_doc(db, {**cdr, "_id": cdr_id})
    ccv = cdr["custom_channel_vars"]
    res = await couch.view(db, "cdrs", "crossbar_listing", key=[cdr["pvt_created"], cdr_id])
    assert [r["value"] for r in res["rows"]] == [
        {
            "id": cdr_id,
            "call_id": cdr["call_id"],
            "caller_id_name": cdr["caller_id_name"],
            "caller_id_number": cdr["caller_id_number"],
            "owner_id": ccv["owner_id"],
            "direction": "inbound",
            "request": cdr["request"],
            "authorizing_id": ccv["authorizing_id"],
        }
    ]
    res = await couch.view(db, "cdrs", "listing_by_owner", key=[ccv["owner_id"], cdr["pvt_created"], cdr_id])
    assert [r["value"] for r in res["rows"]] == [
        {
            "id": cdr_id,
            "call_id": cdr["call_id"],
            "caller_id_name": cdr["caller_id_name"],
            "caller_id_number": cdr["caller_id_number"],
            "call_direction": "inbound",
        }
    ]
    # an inbound leg authorized by a device is on-net: not in the billing summary
    res = await couch.view(db, "cdrs", "summarize_cdrs", key=[cdr["pvt_created"], cdr_id])
    assert res["rows"] == []
    res = await couch.view(db, "maintenance", "listing_by_type", key="cdr")
    assert {"id": cdr_id, "key": "cdr", "value": {}} in res["rows"]


async def test_summarize_cdrs_classifies_off_net_legs(couch, job_dbs):
    db = job_dbs["modb"]
    base = {k: v for k, v in fixture("modb.cdr-doc.json").items() if k != "custom_channel_vars"}
    legs = {
        "tollfree": {
            "call_direction": "outbound",
            "to": "+18005551234@carrier.example",
            "billing_seconds": "61",
            "channel_name": "sofia/sipinterface_1/+18005551234",
            "custom_channel_vars": {"resource_id": "r1", "rate_name": "us-tollfree"},
        },
        "inbound": {
            "call_direction": "inbound",
            "to": "+14155550100@x",
            "from": "+12125550100@peer.example",
            "billing_seconds": 30,
            "channel_name": "sofia/sipinterface_1/+14155550100",
            "custom_channel_vars": {},
        },
        "loopback": {
            "call_direction": "outbound",
            "to": "+14155550100@x",
            "billing_seconds": 5,
            "channel_name": "loopback/+14155550100-a",
            "custom_channel_vars": {"resource_id": "r1"},
        },
    }
    ids = {}
    for name, fields in legs.items():
        ids[name] = secrets.token_hex(16)
        await couch.save_doc(db, {**base, **fields, "_id": ids[name]})
    res = await couch.view(db, "cdrs", "summarize_cdrs", keys=[[base["pvt_created"], i] for i in ids.values()])
    assert {r["id"]: r["value"] for r in res["rows"]} == {
        ids["tollfree"]: {
            "direction": "outbound",
            "classifier": "tollfree_us",
            "domain": "carrier.example",
            "billable_seconds": 61,
            "rate_name": "us-tollfree",
        },
        ids["inbound"]: {
            "direction": "inbound",
            "classifier": "did_us",
            "domain": "peer.example",
            "billable_seconds": 30,
        },
    }


async def test_interactions_reduce_to_the_first_leg(couch, job_dbs):
    """A JavaScript reduce, run by the server: one row per interaction, its earliest leg."""
    db = job_dbs["modb"]
    base = fixture("modb.cdr-doc.json")
    key = secrets.token_hex(8)
    legs = [("b", 63700000010, "B"), ("a", 63700000005, "A"), ("c", 63700000005, "C")]
    for suffix, created, leg in legs:
        await couch.save_doc(
            db,
            {
                **base,
                "_id": f"{key}-{suffix}",
                "interaction_time": 63700000000,
                "interaction_key": key,
                "channel_created_time": created,
                "channel_loopback_leg": leg,
            },
        )
    res = await couch.view(
        db,
        "interactions",
        "interaction_listing",
        group_level=2,
        startkey=[63700000000, key],
        endkey=[63700000000, key, {}],
    )
    assert res["rows"] == [
        {"key": [63700000000, key], "value": {"id": f"{key}-a", "channel_time": 63700000005, "leg": "A"}}
    ]
    res = await couch.view(
        db,
        "interactions",
        "interaction_listing_by_id",
        reduce=False,
        startkey=[base.get("interaction_id")],
        endkey=[base.get("interaction_id"), {}],
    )
    assert {f"{key}-{s}" for s, _, _ in legs} <= {r["id"] for r in res["rows"]}


async def test_voicemail_message_rows(couch, job_dbs):
    db = job_dbs["modb"]
    msg = {k: v for k, v in fixture("modb.mailbox-message-doc.json").items() if k not in ("_rev", "_attachments")}
    msg["_id"] = f"{msg['_id']}-{secrets.token_hex(4)}"
    await couch.save_doc(db, msg)
    meta = msg["metadata"]
    res = await couch.view(db, "mailbox_messages", "listing_by_mailbox", key=[msg["source_id"], meta["timestamp"]])
    assert [(r["id"], r["value"]) for r in res["rows"]] == [(msg["_id"], meta)]
    res = await couch.view(
        db, "mailbox_messages", "count_per_box_folder", key=[msg["source_id"], "new", meta["timestamp"]]
    )
    assert [(r["id"], r["value"]) for r in res["rows"]] == [(msg["_id"], None)]


async def test_maintenance_listing_by_type_gives_kazoos_recorded_rows(couch, kazoo):
    """kazoo_fixturedb recorded `maintenance/listing_by_type?key="user"` for its user fixture."""
    account = await kazoo.plain_account("Maintenance View")
    db = names.account_db(account["_id"])
    user = {k: v for k, v in fixture("account-db.user-doc.json").items() if k != "_rev"}
    await couch.save_doc(db, user)
    res = await couch.view(db, "maintenance", "listing_by_type", key="user")
    rows = [r for r in res["rows"] if r["id"] == user["_id"]]
    assert rows == fixture("account-db.maintenance-listing_by_type.rows.json")
    res = await couch.view(db, "maintenance", "reduced_by_type", key="user")
    assert res["rows"][0]["value"] >= 1


async def test_an_existing_month_db_without_design_docs_gets_them_on_first_use(client, couch, kazoo):
    """As kazoo_modb:get_results does for the current month: a view query that finds its design
    document missing installs the whole class set (views are added, never rewritten)."""
    account = await kazoo.account()
    headers = {"X-Auth-Token": await kazoo.token_for(account)}
    modb = names.current_modb(account["_id"])
    await couch.create_db(modb)  # made elsewhere, without any design document
    await couch.save_doc(
        modb,
        {
            "_id": "_design/cdrs",
            "language": "javascript",
            "views": {
                "crossbar_listing": {"map": "function (doc) { if (doc.pvt_type === 'cdr') emit(doc._id, 'theirs'); }"}
            },
        },
    )
    resp = await client.get(f"/v2/accounts/{account['_id']}/resources/jobs", headers=headers)
    assert resp.status == 200, await resp.text()
    stored = await design_docs(couch, modb)
    assert_has_kazoo_set("modb", stored)
    assert "theirs" in stored["_design/cdrs"]["views"]["crossbar_listing"]["map"]  # kept as it was
    assert "lists" in stored["_design/cdrs"]  # what was missing was added


async def test_install_into_a_missing_database_is_an_error(couch):
    with pytest.raises(NotFound):
        await views.install(couch, names.modb(secrets.token_hex(16), 2020, 1))


class RacingCouch(CouchClient):
    """A real client to the real server that lets another writer (a Kazoo node) save
    `_design/cdrs` just before our bulk write lands."""

    async def bulk_docs(self, db: str, docs: list[dict]) -> list[dict]:
        await self.save_doc(
            db,
            {
                "_id": "_design/cdrs",
                "language": "javascript",
                "views": {"theirs": {"map": "function (doc) { emit(doc._id, null); }"}},
            },
        )
        return await super().bulk_docs(db, docs)


async def test_install_that_loses_a_race_merges_into_the_other_writers_doc(couchdb_url, couch):
    db = names.modb(secrets.token_hex(16), 2026, 1)
    await couch.create_db(db)
    racing = RacingCouch(couchdb_url)
    try:
        written = await views.install(racing, db)
    finally:
        await racing.close()
    assert written == len(KAZOO_SET["modb"]["design_docs"])
    stored = await design_docs(couch, db)
    assert_has_kazoo_set("modb", stored)
    assert "theirs" in stored["_design/cdrs"]["views"]  # the other writer's view is kept
    assert await views.install(couch, db) == 0  # nothing left to add


async def test_concurrent_installs_write_each_doc_once(couch):
    db = names.modb(secrets.token_hex(16), 2026, 2)
    await couch.create_db(db)
    counts = await asyncio.gather(*(views.install(couch, db) for _ in range(3)))
    assert sum(counts) == len(KAZOO_SET["modb"]["design_docs"])
    assert_has_kazoo_set("modb", await design_docs(couch, db))


async def test_setup_completes_existing_databases(couchdb_url, couch, master):
    """`setup` adds what is missing in every account, month and number database, e.g. a month DB
    that an earlier version of ours made with `_design/resources` only (Kazoo's equivalent is
    `sup kapps_maintenance refresh`; Kazoo adds nothing to existing databases on its own)."""
    from kazoo_crossbar.storage.bootstrap import setup

    from ..conftest import NODE

    account_id = secrets.token_hex(16)
    modb = names.modb(account_id, 2025, 12)
    numbers_db = names.numbers_db(f"+1{await fresh_npa(couch)}")
    for db in (modb, numbers_db):
        await couch.create_db(db)
    [resources] = [d for d in views.design_docs("modb") if d["_id"] == "_design/resources"]
    await couch.save_doc(modb, dict(resources))
    [numbers] = [d for d in views.design_docs("numbers") if d["_id"] == "_design/numbers"]
    old = {**numbers, "views": {k: v for k, v in numbers["views"].items() if k != "list_assigned_and_app"}}
    await couch.save_doc(numbers_db, old)

    result = await setup(couchdb_url, NODE, events=NullBus(), admin_username="admin")
    assert result["master_account_id"] == master["master_account_id"] and "admin_password" not in result
    assert result["design_docs_installed"] >= len(KAZOO_SET["modb"]["design_docs"]) - 1 + 2
    assert_has_kazoo_set("modb", await design_docs(couch, modb))
    assert_has_kazoo_set("numbers", await design_docs(couch, numbers_db))
    again = await setup(couchdb_url, NODE, events=NullBus(), admin_username="admin")
    assert again["design_docs_installed"] == 0


async def test_setup_counts_the_system_design_docs_it_adds(couchdb_url, couch, master):
    """`design_docs_installed` counts every design document setup writes, the system databases'
    too (it said 0 on a fresh CouchDB while its log listed the ones it added)."""
    from kazoo_crossbar.storage.bootstrap import setup

    from ..conftest import NODE

    [wanted] = [d for d in views.design_docs(names.classify(names.SIP_AUTH)) if d["_id"] == "_design/credentials"]
    stored = await couch.get_doc(names.SIP_AUTH, wanted["_id"])
    await couch.delete_doc(names.SIP_AUTH, wanted["_id"], stored["_rev"])
    result = await setup(couchdb_url, NODE, events=NullBus(), admin_username="admin")
    assert result["design_docs_installed"] == 1
    assert (await design_docs(couch, names.SIP_AUTH))[wanted["_id"]]["views"].keys() == wanted["views"].keys()


class GhostCouch(CouchClient):
    """Lists one month database that is gone by the time it is read (deleted in between)."""

    async def all_dbs(self, **params):
        return [*await super().all_dbs(**params), names.modb(secrets.token_hex(16), 2025, 1)]


async def test_a_database_deleted_while_setup_walks_is_skipped(couchdb_url):
    from kazoo_crossbar.storage.bootstrap import install_everywhere

    ghost = GhostCouch(couchdb_url)
    try:
        assert await install_everywhere(ghost) >= 0
    finally:
        await ghost.close()
