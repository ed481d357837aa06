"""PUT/POST /resources/collection: per item successes and errors, as Kazoo's resources API documentation shows."""

from __future__ import annotations

import secrets

import pytest

from kazoo_crossbar.storage import names


@pytest.fixture(scope="module")
async def tenant(kazoo):
    account = await kazoo.account()
    return account, {"X-Auth-Token": await kazoo.token_for(account)}


@pytest.mark.parametrize("scope", ["global", "local"])
async def test_put_then_post_collection(client, couch, tenant, master_token, scope):
    account, headers = tenant
    if scope == "global":
        url, db, headers = "/v2/resources/collection", "offnet", {"X-Auth-Token": master_token}
    else:
        url, db = f"/v2/accounts/{account['_id']}/resources/collection", names.account_db(account["_id"])
    good_id, taken_id = "coll-" + secrets.token_hex(4), "coll-" + secrets.token_hex(4)
    await couch.save_doc(db, {"_id": taken_id, "pvt_type": "resource", "name": "old", "gateways": []})
    resp = await client.put(
        url,
        json={
            "data": [
                {"id": good_id, "name": "Good", "gateways": [{"server": "a.example", "register": True}]},
                {"name": "Anonymous", "gateways": []},
                {"id": "bad-one", "gateways": "nope"},
                {"id": taken_id, "name": "Conflicts", "gateways": []},
                "not an object",
            ]
        },
        headers=headers,
    )
    body = await resp.json()
    assert resp.status == 201, body
    successes, errors = body["data"]["successes"], body["data"]["errors"]
    assert set(successes) >= {good_id} and len(successes) == 2
    assert successes[good_id]["weight_cost"] == 50 and successes[good_id]["id"] == good_id
    assert errors["bad-one"]["name"]["required"]["value"] == "name"
    assert errors["bad-one"]["gateways"]["type"]["target"] == "array"
    assert errors[taken_id]["message"] == "conflicting documents"
    assert "4" in errors
    stored = await couch.get_doc(db, good_id)
    assert stored["pvt_type"] == "resource" and stored["pvt_account_db"] == names.encode(db)
    assert (await couch.get_doc(db, taken_id))["name"] == "old"  # the conflict changed nothing
    if scope == "local":
        assert (await couch.get_doc("sip_auth", good_id))["name"] == "Good"

    resp = await client.post(
        url,
        json={
            "data": [
                {"id": good_id, "gateways": [{"server": "b.example"}], "media": {"audio": {"codecs": ["PCMU"]}}},
                {"id": "missing-" + secrets.token_hex(3), "name": "x"},
                {"id": taken_id, "weight_cost": 500},
            ]
        },
        headers=headers,
    )
    body = await resp.json()
    assert resp.status == 200, body
    merged = body["data"]["successes"][good_id]
    assert merged["name"] == "Good" and merged["gateways"][0]["server"] == "b.example"  # deep merge
    assert merged["media"]["audio"]["codecs"] == ["PCMU"]
    missing = next(k for k in body["data"]["errors"] if k.startswith("missing-"))
    assert body["data"]["errors"][missing] == "resource does not exist"
    assert "maximum" in body["data"]["errors"][taken_id]["weight_cost"]


async def test_collection_needs_a_list(client, tenant):
    account, headers = tenant
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources/collection",
        json={"data": {"numbers": ["+12223334444"], "resource_id": "x"}},
        headers=headers,
    )
    body = await resp.json()
    assert resp.status == 400 and body["data"]["data"]["type"]["target"] == "array"


async def test_empty_collection(client, tenant):
    account, headers = tenant
    resp = await client.put(f"/v2/accounts/{account['_id']}/resources/collection", json={"data": []}, headers=headers)
    body = await resp.json()
    assert resp.status == 201 and body["data"] == {"successes": {}, "errors": {}}


async def test_duplicate_ids_in_one_collection(client, tenant):
    account, headers = tenant
    rid = "dup-" + secrets.token_hex(3)
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources/collection",
        json={"data": [{"id": rid, "name": "first", "gateways": []}, {"id": rid, "name": "second", "gateways": []}]},
        headers=headers,
    )
    body = await resp.json()
    assert list(body["data"]["successes"]) == [rid] and body["data"]["successes"][rid]["name"] == "first"
    assert "unique" in body["data"]["errors"][rid]["id"]
