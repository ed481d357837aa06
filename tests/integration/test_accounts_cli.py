"""`kazoo-crossbar accounts create|list|update` write accounts as Kazoo 4.3 stores them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess

from kazoo_crossbar.storage import names

from ..cli import kc, one_line_failure


def accounts(couchdb_url: str, *args: str) -> subprocess.CompletedProcess:
    return kc("accounts", *args, env={"KAZOO_COUCHDB_URL": couchdb_url})


async def run(couchdb_url: str, *args: str) -> list[dict]:
    proc = await asyncio.to_thread(accounts, couchdb_url, *args)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


async def test_create_writes_the_account_as_kazoo_does_and_its_key_logs_in(couchdb_url, couch, master, kazoo):
    [made] = await run(
        couchdb_url, "create", "Acme Tel", "--realm", f"acme-{os.getpid()}.example.test", "--allow-number-additions"
    )
    assert set(made) == {"id", "api_key", "realm"} and made["realm"] == f"acme-{os.getpid()}.example.test"
    db = names.account_db(made["id"])
    doc = await couch.get_doc(db, made["id"])
    copy = await couch.get_doc(names.ACCOUNTS, made["id"])
    for d in (doc, copy):
        assert d["pvt_type"] == "account" and d["pvt_tree"] == [master["master_account_id"]]
        assert d["pvt_api_key"] == made["api_key"] and d["pvt_wnm_allow_additions"] is True
        assert d["pvt_account_db"] == names.encode(db) and d["pvt_superduper_admin"] is False
    assert (await couch.get_doc(db, "_design/users"))["views"]  # the account DB has its design documents
    token = await kazoo.api_token(made["api_key"])
    assert token


async def test_list_and_update(couchdb_url, couch, master):
    [parent] = await run(couchdb_url, "create", "Reseller", "--superduper-admin")
    [child] = await run(couchdb_url, "create", "Child", "--parent", parent["id"])
    listed = await run(couchdb_url, "list", "--parent", parent["id"])
    assert [row["id"] for row in listed] == [child["id"]]
    assert listed[0]["allow_number_additions"] is False and listed[0]["enabled"] is True
    assert child["id"] in {row["id"] for row in await run(couchdb_url, "list")}

    [updated] = await run(couchdb_url, "update", child["id"], "--allow-number-additions", "--disable")
    assert updated["allow_number_additions"] is True and updated["enabled"] is False
    for db in (names.account_db(child["id"]), names.ACCOUNTS):
        doc = await couch.get_doc(db, child["id"])
        assert doc["pvt_wnm_allow_additions"] is True and doc["pvt_enabled"] is False
        assert doc["pvt_tree"] == [master["master_account_id"], parent["id"]]
    [back] = await run(couchdb_url, "update", child["id"], "--no-allow-number-additions", "--enable")
    assert back["allow_number_additions"] is False and back["enabled"] is True


async def test_account_mistakes_are_one_line(couchdb_url, master):
    realm = f"taken-{os.getpid()}.example.test"
    await run(couchdb_url, "create", "First", "--realm", realm)
    cases = [
        (("create", "Second", "--realm", realm.upper()), "already used"),
        (("create", "Orphan", "--parent", "f" * 32), "does not exist"),
        (("create", "Orphan", "--parent", "nope"), "not an account id"),
        (("update", "e" * 32, "--enable"), "does not exist"),
        (("update", master["master_account_id"]), "nothing to update"),
    ]
    for argv, fragment in cases:
        proc = await asyncio.to_thread(accounts, couchdb_url, *argv)
        one_line_failure(proc, "accounts", fragment)


async def test_with_a_broker_every_write_publishes_what_kazoo_caches_need(couchdb_url, couch, master, listener):
    """#19: `accounts update --disable` with `--amqp-url` sends `doc_edited` for the account doc and
    its `accounts` copy (kz_cache_listener flushes both, so Kazoo nodes stop serving the enabled
    account); `create` sends `db_created` for the new account database and `doc_created` for both docs."""
    from .. import broker
    from ..kazoo_api import check_message

    url = broker.amqp_url()
    [made] = await run(couchdb_url, "--amqp-url", url, "create", "Cached Co")
    account_db = names.encode(names.account_db(made["id"]))
    for db in (account_db, names.ACCOUNTS):
        ((ex, key, payload),) = await listener.wait_for(
            lambda e, k, p, db=db: k == f"doc_created.{db}.account.{made['id']}"
        )
        assert check_message(ex, key, payload) == [] and payload["ID"] == made["id"]
    await listener.wait_for(lambda e, k, p: k.startswith(f"db_created.{account_db}.database."))

    listener.messages.clear()
    env = {"KAZOO_COUCHDB_URL": couchdb_url, "KAZOO_AMQP_URL": url}
    proc = await asyncio.to_thread(kc, "accounts", "update", made["id"], "--disable", env=env)
    assert proc.returncode == 0, proc.stderr
    for db in (account_db, names.ACCOUNTS):
        ((ex, key, payload),) = await listener.wait_for(
            lambda e, k, p, db=db: k == f"doc_edited.{db}.account.{made['id']}"
        )
        assert check_message(ex, key, payload) == []
        assert payload["Database"] == db and payload["Type"] == "account" and payload["Account-ID"] == made["id"]


async def test_a_broker_that_does_not_answer_stops_the_command_before_it_writes(couchdb_url, couch, master):
    from ..conftest import free_port

    [made] = await run(couchdb_url, "create", "Quiet Co")
    proc = await asyncio.to_thread(
        accounts, couchdb_url, "update", made["id"], "--disable", "--amqp-url", f"amqp://127.0.0.1:{free_port()}/"
    )
    one_line_failure(proc, "accounts", "broker")
    assert (await couch.get_doc(names.account_db(made["id"]), made["id"]))["pvt_enabled"] is True
