"""Storage rules against the real server: system_config lookups, design
documents installed on demand, accounts as Kazoo writes them, hierarchy."""

from __future__ import annotations

import secrets

import pytest

from kazoo_crossbar.bus.base import NullBus
from kazoo_crossbar.storage import names, views
from kazoo_crossbar.storage.couch import NotFound
from kazoo_crossbar.storage.system_config import SystemConfig
from kazoo_crossbar.storage.writes import Writes

from ..kazoo import fixture


async def test_system_config_lookup_order(couch, master):
    category = "test_cfg_" + secrets.token_hex(4)
    await couch.save_doc(
        "system_config",
        {"_id": category, "default": {"a": 1, "b": 2, "c": 3}, "node1@host": {"a": 10}, "zone1": {"a": 20, "b": 30}},
    )
    by_node = SystemConfig(Writes(couch, NullBus(), node="node1@host", zone="zone1"))
    assert await by_node.get(category, "a") == 10
    assert await by_node.get(category, "b") == 30
    assert await by_node.get(category, "c") == 3
    other = SystemConfig(Writes(couch, NullBus(), node="node2@host"))
    assert await other.get(category, "a") == 1


async def test_system_config_writes_missing_defaults(couch, master):
    category = "test_cfg_" + secrets.token_hex(4)
    cfg = SystemConfig(Writes(couch, NullBus(), node="n@h"))
    assert await cfg.get(category, "x", 42) == 42  # the category doc did not exist
    doc = await couch.get_doc("system_config", category)
    assert doc["default"] == {"x": 42} and doc["pvt_type"] == "config"
    assert await cfg.get(category, "y", "z") == "z"
    doc = await couch.get_doc("system_config", category)
    assert doc["default"] == {"x": 42, "y": "z"}
    assert await cfg.get(category, "absent") is None  # no default: nothing written
    assert "absent" not in (await couch.get_doc("system_config", category))["default"]


async def test_setup_wrote_defaults_and_keeps_operator_values(couch, couchdb_url, master):
    from kazoo_crossbar.storage.bootstrap import setup

    doc = await couch.get_doc("system_config", "crossbar.resources")
    # Kazoo's names (cb_jobs_listener) with Kazoo's defaults; the documented names are not written
    assert doc["default"]["job_recovery_timeout_s"] == 21600
    assert doc["default"]["job_recovery_threshold_s"] == 3600
    assert "job_recover_timeout_s" not in doc["default"] and "job_recover_threshold_s" not in doc["default"]
    doc["default"]["job_recovery_timeout_s"] = 60
    await couch.save_doc("system_config", doc)
    again = await setup(couchdb_url, "n@h", events=NullBus())
    assert again["master_account_id"] == master["master_account_id"] and again["api_key"] == master["api_key"]
    assert "admin_password" not in again
    doc = await couch.get_doc("system_config", "crossbar.resources")
    assert doc["default"]["job_recovery_timeout_s"] == 60
    doc["default"]["job_recovery_timeout_s"] = 21600
    await couch.save_doc("system_config", doc)


async def test_setup_carries_a_value_set_under_the_documented_name_to_kazoos(couch, couchdb_url, master):
    """An operator who set `job_recover_threshold_s` (the name Kazoo's API documentation gives, which earlier releases
    read) keeps that value: setup writes it under Kazoo's name instead of Kazoo's default."""
    from kazoo_crossbar.storage.bootstrap import setup

    doc = await couch.get_doc("system_config", "crossbar.resources")
    saved = dict(doc["default"])
    del doc["default"]["job_recovery_threshold_s"]
    doc["default"]["job_recover_threshold_s"] = 600
    await couch.save_doc("system_config", doc)
    try:
        await setup(couchdb_url, "n@h", events=NullBus())
        doc = await couch.get_doc("system_config", "crossbar.resources")
        assert doc["default"]["job_recovery_threshold_s"] == 600 and doc["default"]["job_recover_threshold_s"] == 600
    finally:
        doc = await couch.get_doc("system_config", "crossbar.resources")
        doc["default"] = saved
        await couch.save_doc("system_config", doc)


async def test_recovery_settings_kazoos_name_first_then_the_documented(couch, master):
    """cb_jobs_listener reads `job_recovery_*` from crossbar.resources; the documented `job_recover_*`
    is read after it in each section (node, zone, default), and the shipped default last."""
    node = f"cfg_{secrets.token_hex(3)}@test"
    config = SystemConfig(Writes(couch, NullBus(), node=node))
    key = "job_recovery_threshold_s"
    assert await config.setting_int("crossbar.resources", key) == 3600  # setup wrote Kazoo's default
    for node_section, expected in (
        ({"job_recover_threshold_s": 5}, 5),  # the node's (documented-name) value beats the default section
        ({"job_recover_threshold_s": 5, key: 7}, 7),  # in one section, Kazoo's name wins
        ({key: "not a number"}, 3600),  # the shipped default when the value is unusable
    ):
        doc = await couch.get_doc("system_config", "crossbar.resources")
        doc[node] = node_section
        await couch.save_doc("system_config", doc)
        config.forget()
        assert await config.setting_int("crossbar.resources", key) == expected, node_section
    doc = await couch.get_doc("system_config", "crossbar.resources")
    del doc[node]
    await couch.save_doc("system_config", doc)


async def test_setup_replaces_the_non_kazoo_converters_of_development_builds(couch, couchdb_url, master):
    """A database set up by a development build before 0.1.0 carries converters Kazoo never had:
    setup puts Kazoo's in; an operator's own converters stay."""
    from kazoo_crossbar.storage.bootstrap import setup
    from kazoo_crossbar.storage.system_config import NON_KAZOO_DEFAULTS

    kazoo_converters = fixture("system_config_defaults.json")["number_manager"]["e164_converters"]["value"]
    doc = await couch.get_doc("system_config", "number_manager")
    assert doc["default"]["e164_converters"] == kazoo_converters  # a fresh setup wrote Kazoo's
    doc["default"]["e164_converters"] = NON_KAZOO_DEFAULTS[("number_manager", "e164_converters")]
    await couch.save_doc("system_config", doc)
    await setup(couchdb_url, "n@h", events=NullBus())
    doc = await couch.get_doc("system_config", "number_manager")
    assert doc["default"]["e164_converters"] == kazoo_converters
    own = {"^(\\d{4})$": {"prefix": "+4930"}}
    doc["default"]["e164_converters"] = own
    await couch.save_doc("system_config", doc)
    await setup(couchdb_url, "n@h", events=NullBus())
    doc = await couch.get_doc("system_config", "number_manager")
    assert doc["default"]["e164_converters"] == own
    doc["default"]["e164_converters"] = kazoo_converters
    await couch.save_doc("system_config", doc)


async def test_setup_created_a_kazoo_master_account(couch, master):
    aid = master["master_account_id"]
    doc = await couch.get_doc(names.account_db(aid), aid)
    copy = await couch.get_doc("accounts", aid)
    for key in ("pvt_superduper_admin", "pvt_api_key", "pvt_tree", "name", "realm", "pvt_account_db"):
        assert doc[key] == copy[key]
    assert doc["pvt_superduper_admin"] is True and doc["pvt_tree"] == []
    assert doc["pvt_account_db"] == names.encode(names.account_db(aid))
    cfg = await couch.get_doc("system_config", "accounts")
    assert cfg["default"]["master_account_id"] == aid
    rows = (await couch.view("accounts", "accounts", "listing_by_api", key=master["api_key"]))["rows"]
    assert [r["id"] for r in rows] == [aid]


async def test_views_installed_on_demand(couch, client, kazoo, master_token):
    # an account database created by hand, without any design document
    account = await kazoo.account()
    db = names.account_db(account["_id"])
    ddoc = await couch.get_doc(db, "_design/resources")
    await couch.delete_doc(db, "_design/resources", ddoc["_rev"])
    resp = await client.get(f"/v2/accounts/{account['_id']}/resources", headers={"X-Auth-Token": master_token})
    assert resp.status == 200
    assert (await couch.get_doc(db, "_design/resources"))["views"]["crossbar_listing"]


async def test_views_query_never_creates_a_db(couch):
    db = names.modb(secrets.token_hex(16), 2024, 1)
    with pytest.raises(NotFound):
        await views.query(couch, db, "resources", "status_listing")
    assert not await couch.db_exists(db)


async def test_database_names_with_slashes(couch):
    aid = secrets.token_hex(16)
    for db in (names.account_db(aid), names.modb(aid, 2026, 11), "numbers/+1999"):
        await couch.create_db(db)
        assert db in await couch.all_dbs()
        await couch.save_doc(db, {"_id": "+19995552600", "x": 1})
        rows = await couch.all_docs(db, keys=["+19995552600", "nope"])
        assert rows[0]["id"] == "+19995552600" and rows[1]["error"] == "not_found"


async def test_kazoo_fixture_accounts_work(client, couch):
    """Kazoo's own fixture accounts (non-hex ids), written straight into CouchDB, log in at once."""
    master_doc = fixture("account-db.account-doc.json")
    child_doc = fixture("account-db.child-account-doc.json")
    # give them unique keys so this test does not clash with other fixtures in a shared server
    master_doc["pvt_api_key"] = secrets.token_hex(32)
    child_doc["pvt_api_key"] = secrets.token_hex(32)
    for doc in (master_doc, child_doc):
        db = names.account_db(doc["_id"])
        await views.ensure_db(couch, db)
        for target in (db, "accounts"):
            try:
                await couch.get_doc(target, doc["_id"])
                continue
            except NotFound:
                pass
            await couch.save_doc(target, {k: v for k, v in doc.items() if k != "_rev"})
        doc.update(await couch.get_doc(db, doc["_id"]))
    resp = await client.put("/v2/api_auth", json={"data": {"api_key": child_doc["pvt_api_key"]}})
    body = await resp.json()
    assert resp.status == 201, body
    token = body["auth_token"]
    # the child cannot reach its parent, the parent (super-duper admin) reaches the child
    resp = await client.get(f"/v2/accounts/{master_doc['_id']}/resources", headers={"X-Auth-Token": token})
    assert resp.status == 403
    resp = await client.get(f"/v2/accounts/{child_doc['_id']}/resources", headers={"X-Auth-Token": token})
    assert resp.status == 200


async def test_hierarchy(client, kazoo):
    parent = await kazoo.account()
    child = await kazoo.account(parent=parent)
    grandchild = await kazoo.account(parent=child)
    sibling = await kazoo.account(parent=parent)
    tokens = {
        name: await kazoo.token_for(acc) for name, acc in (("parent", parent), ("child", child), ("sibling", sibling))
    }
    expect = [
        ("parent", child, 200),
        ("parent", grandchild, 200),
        ("parent", parent, 200),
        ("child", grandchild, 200),
        ("child", parent, 403),
        ("child", sibling, 403),
        ("sibling", child, 403),
        ("sibling", grandchild, 403),
    ]
    for who, target, status in expect:
        resp = await client.get(f"/v2/accounts/{target['_id']}/resources", headers={"X-Auth-Token": tokens[who]})
        assert resp.status == status, (who, target["_id"])


async def test_concurrent_installs_of_one_database(couch):
    """Two jobs creating the same number database at once both get it, views included."""
    import asyncio

    db = f"numbers/+1{secrets.randbelow(800) + 100}"
    await asyncio.gather(*(views.ensure_db(couch, db) for _ in range(6)))
    assert (await couch.get_doc(db, "_design/numbers"))["views"]


async def test_a_large_bulk_written_in_slices_answers_as_one(couch):
    """The embedded server writes a _bulk_docs over 100 documents in slices (server.js): results in
    request order, a conflict and an id repeated in a later slice answered as CouchDB does."""
    db = "slices_" + secrets.token_hex(4)
    await couch.create_db(db)
    await couch.save_doc(db, {"_id": "taken"})
    ids = [f"s{i:03d}" for i in range(250)]
    ids[150], ids[30], ids[230] = "taken", "dup", "dup"
    res = await couch.bulk_docs(db, [{"_id": i, "n": n} for n, i in enumerate(ids)])
    assert [r["id"] for r in res] == ids
    assert res[150]["error"] == "conflict" and res[230]["error"] == "conflict" and "rev" in res[30]
    assert sum(1 for r in res if "rev" in r) == 248
    rows = await couch.all_docs(db, keys=["s000", "s149", "s249", "dup"], include_docs=True)
    assert [r["doc"]["n"] for r in rows] == [0, 149, 249, 30]


async def test_client_sends_encoded_paths_and_queries_as_they_are(couch):
    """CouchClient sends an already-encoded path without re-quoting it, with the query encoded by
    itself; ids and keys with reserved or non-ASCII characters round-trip."""
    db = "enc_" + secrets.token_hex(4)
    await couch.create_db(db)
    ids = ["a b+c", "x/y?z#w", "é☃%41", "q&r=s;t"]
    for i in ids:
        await couch.save_doc(db, {"_id": i, "v": i})
    for i in ids:
        assert (await couch.get_doc(db, i))["v"] == i
    rows = await couch.all_docs(db, keys=ids, include_docs=True)
    assert [r["doc"]["v"] for r in rows] == ids
    rows = await couch.all_docs(db, startkey="x/y?z#w", endkey="x/y?z#w\ufff0")
    assert [r["id"] for r in rows] == ["x/y?z#w"]
    # a path that is not pre-encoded still works: aiohttp quotes it
    res = await couch.request("GET", f"/{db}/_all_docs", params={"key": "a b+c"})
    assert [r["id"] for r in res["rows"]] == ["a b+c"]
