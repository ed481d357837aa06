"""A `sip_auth` entry of another account is never overwritten or deleted."""

from __future__ import annotations

import secrets

import pytest

from kazoo_crossbar.storage import names
from kazoo_crossbar.storage.couch import NotFound

REGISTERING = {
    "name": "BYOC",
    "gateways": [
        {"server": "sip.b.example", "register": True, "username": "b", "password": "pb", "realm": "b.example"}
    ],
}
A_REGISTERING = {
    "name": "A's",
    "gateways": [
        {"server": "sip.a.example", "register": True, "username": "a", "password": "pa", "realm": "a.example"}
    ],
}
PLAIN = {"name": "plain", "gateways": [{"server": "sip.plain.example"}]}


@pytest.fixture(scope="module")
async def tenants(kazoo):
    parent = await kazoo.account()
    a, b = await kazoo.account(parent=parent), await kazoo.account(parent=parent)
    return [(acct, {"X-Auth-Token": await kazoo.token_for(acct)}) for acct in (a, b)]


async def stored(couch, db, doc_id):
    try:
        return await couch.get_doc(db, doc_id)
    except NotFound:
        return None


def url(account):
    return f"/v2/accounts/{account['_id']}/resources"


async def test_colliding_registering_resource_is_refused(client, couch, tenants):
    (a, ha), (b, hb) = tenants
    rid = "carrier-" + secrets.token_hex(4)
    assert (await client.put(url(b), json={"data": {**REGISTERING, "id": rid}}, headers=hb)).status == 201
    before = await stored(couch, "sip_auth", rid)
    resp = await client.put(url(a), json={"data": {**A_REGISTERING, "id": rid}}, headers=ha)
    body = await resp.json()
    assert resp.status == 400 and "unique" in body["data"]["id"], body
    assert await stored(couch, names.account_db(a["_id"]), rid) is None
    after = await stored(couch, "sip_auth", rid)
    assert after["_rev"] == before["_rev"] and after["gateways"][0]["username"] == "b"


async def test_deleting_own_resource_leaves_other_accounts_entry(client, couch, kazoo, tenants):
    """A's own resource with the id of B's entry (stored before the rule, e.g. by Kazoo): A's
    DELETE removes A's resource only."""
    (a, ha), (b, hb) = tenants
    rid = "shared-" + secrets.token_hex(4)
    assert (await client.put(url(b), json={"data": {**REGISTERING, "id": rid}}, headers=hb)).status == 201
    await couch.save_doc(
        names.account_db(a["_id"]), {"_id": rid, **PLAIN, "pvt_type": "resource", "pvt_account_id": a["_id"]}
    )
    resp = await client.delete(f"{url(a)}/{rid}", headers=ha)
    assert resp.status == 200, await resp.text()
    assert (await stored(couch, "sip_auth", rid))["pvt_account_id"] == b["_id"]


@pytest.mark.parametrize(
    "data", [PLAIN, {**A_REGISTERING, "gateways": [{**A_REGISTERING["gateways"][0], "password": "stolen"}]}]
)
async def test_resource_with_a_device_id_never_touches_the_device(client, couch, tenants, data):
    (a, ha), (b, _hb) = tenants
    device_id = secrets.token_hex(16)
    device = {
        "_id": device_id,
        "pvt_type": "device",
        "pvt_account_id": b["_id"],
        "sip": {"username": "dev", "password": "devpass"},
    }
    await couch.save_doc("sip_auth", device)
    resp = await client.put(url(a), json={"data": {**data, "id": device_id}}, headers=ha)
    assert resp.status == 400 and "unique" in (await resp.json())["data"]["id"]
    kept = await stored(couch, "sip_auth", device_id)
    assert kept is not None and kept["_rev"] == device["_rev"] and kept["sip"]["password"] == "devpass"


async def test_collection_item_colliding_with_another_account_fails_alone(client, couch, tenants):
    (a, ha), (b, hb) = tenants
    rid = "coll-" + secrets.token_hex(4)
    assert (await client.put(url(b), json={"data": {**REGISTERING, "id": rid}}, headers=hb)).status == 201
    resp = await client.put(f"{url(a)}/collection", json={"data": [{**A_REGISTERING, "id": rid}]}, headers=ha)
    body = await resp.json()
    assert rid in body["data"]["errors"] and "unique" in body["data"]["errors"][rid]["id"], body
    assert (await stored(couch, "sip_auth", rid))["gateways"][0]["username"] == "b"
