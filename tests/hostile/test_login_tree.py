"""Hostile data under the login answer's reseller lookup (which walks `pvt_tree`):
an account whose tree names a missing or foreign account, a cycle, a 1,000-long tree or junk,
and documents with fields of the wrong type, logs in (201) without a 500, and the walk costs a
fixed number of CouchDB reads whatever the tree's length."""

from __future__ import annotations

import secrets
from contextlib import contextmanager

import pytest

from kazoo_crossbar.app import SERVICES


@contextmanager
def couch_requests(client):
    """Counts the CouchDB requests the service makes (a wrapper around its real client)."""
    couch = client.app[SERVICES].couch
    seen: list[str] = []
    original = couch.request

    async def counting(method, path, *args, **kwargs):
        seen.append(f"{method} {path}")
        return await original(method, path, *args, **kwargs)

    couch.request = counting
    try:
        yield seen
    finally:
        del couch.request


async def login(client, account) -> tuple[int, dict]:
    resp = await client.put("/v2/api_auth", json={"data": {"api_key": account["pvt_api_key"]}})
    return resp.status, await resp.json()


def hex_ids(n: int) -> list[str]:
    return [secrets.token_hex(16) for _ in range(n)]


async def test_tree_naming_missing_accounts_falls_back_to_the_master(client, kazoo, master):
    account = await kazoo.account(pvt_tree=hex_ids(3))
    status, body = await login(client, account)
    assert status == 201, body
    assert body["data"]["reseller_id"] == master["master_account_id"]


async def test_tree_naming_a_foreign_reseller_is_answered(client, kazoo):
    """The tree is written by Kazoo, not by the tenant: a reseller it names is the answer."""
    other = await kazoo.account(name="Foreign reseller", pvt_reseller=True)
    account = await kazoo.account(pvt_tree=[other["_id"], secrets.token_hex(16)])
    status, body = await login(client, account)
    assert status == 201, body
    assert body["data"]["reseller_id"] == other["_id"] and "Foreign reseller" not in str(body)


async def test_cycle_and_repeats_in_the_tree(client, kazoo, master):
    """A tree naming the account itself: the account (a reseller) is not its own reseller."""
    account_id = secrets.token_hex(16)
    parent = await kazoo.account(pvt_tree=[account_id], pvt_reseller=False)
    account = await kazoo.account(
        account_id=account_id, pvt_tree=[parent["_id"], account_id, parent["_id"], account_id], pvt_reseller=True
    )
    status, body = await login(client, account)
    assert status == 201, body
    assert body["data"]["reseller_id"] == master["master_account_id"]


async def test_thousand_long_tree_costs_a_fixed_number_of_reads(client, kazoo, master):
    reseller = await kazoo.account(pvt_reseller=True)
    short = await kazoo.account(pvt_tree=[reseller["_id"], secrets.token_hex(16)])
    long = await kazoo.account(pvt_tree=[reseller["_id"], *hex_ids(1000)])
    for account in (short, long):  # warms the service's caches (config, the api_key lookup)
        assert (await login(client, account))[0] == 201
    counts = []
    for account in (short, long):
        with couch_requests(client) as seen:
            status, body = await login(client, account)
        assert status == 201 and body["data"]["reseller_id"] == reseller["_id"], body
        # system_config reads are cached and refreshed in the background on their own clock
        # (refresh ahead), so they land in either window: only the tree walk's reads count here
        counts.append(len([r for r in seen if "/system_config/" not in r]))
    assert counts[1] == counts[0], counts


@pytest.mark.parametrize(
    "tree",
    [
        None,
        "not-a-list",
        {"a": 1},
        [None, 1, [], {}, "x" * 10_000, "\u0000" * 32],
        ["_design/accounts", "_all_docs", "..", "."],
        [""] * 100,
    ],
)
async def test_junk_trees_are_ignored(client, kazoo, master, tree):
    account = await kazoo.account(pvt_tree=tree)
    status, body = await login(client, account)
    assert status == 201, body
    assert body["data"]["reseller_id"] == master["master_account_id"]


@pytest.mark.parametrize("language", [["en-US"], {"en-US": 1}, 5, True, "", "x" * 10_000])
async def test_account_language_of_any_type(client, kazoo, language):
    account = await kazoo.account(language=language)
    status, body = await login(client, account)
    assert status == 201, body
    assert isinstance(body["data"]["language"], str)


@pytest.mark.parametrize("language", [["fr-FR"], {"x": 1}, 7])
async def test_user_language_of_any_type(client, kazoo, language):
    account = await kazoo.account()
    await kazoo.user(account, "lang-user", "pw-lang-123", language=language)
    from kazoo_crossbar.storage.provision import credentials

    md5, _ = credentials("lang-user", "pw-lang-123")
    resp = await client.put("/v2/user_auth", json={"data": {"credentials": md5, "account_name": account["name"]}})
    body = await resp.json()
    assert resp.status == 201, body
    assert isinstance(body["data"]["language"], str)


async def test_services_doc_with_junk_reseller_fields(client, kazoo, couch, master):
    reseller = await kazoo.account()
    account = await kazoo.account(pvt_tree=[reseller["_id"]])
    await _ensure_db(couch, "services")
    await couch.save_doc("services", {"_id": account["_id"], "pvt_reseller_id": {"$gt": None}, "pvt_reseller": "yes"})
    await couch.save_doc("services", {"_id": reseller["_id"], "pvt_reseller": ["true"]})
    status, body = await login(client, account)
    assert status == 201, body
    assert body["data"]["reseller_id"] == master["master_account_id"] and body["data"]["is_reseller"] is False


async def _ensure_db(couch, db):
    if not await couch.db_exists(db):
        await couch.create_db(db)
