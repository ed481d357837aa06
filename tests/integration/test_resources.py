"""The resources API, black box over HTTP, with the stored documents read back from CouchDB."""

from __future__ import annotations

import asyncio
import secrets
from urllib.parse import quote

import pytest

from kazoo_crossbar.storage import names
from kazoo_crossbar.storage.couch import NotFound

from ..kazoo import fixture

MINIMAL = {"name": "Carrier 3", "gateways": [{"server": "carrier1.example.com"}]}
DEFAULTED_TOP = {
    "enabled": True,
    "emergency": False,
    "weight_cost": 50,
    "grace_period": 5,
    "flags": [],
    "rules": [],
    "rules_test": [],
    "from_account_realm": False,
}
DEFAULTED_GATEWAY = {
    "server": "carrier1.example.com",
    "enabled": True,
    "endpoint_type": "sip",
    "invite_format": "route",
    "channel_selection": "ascending",
    "force_port": False,
    "port": 5060,
    "skype_rr": True,
}


@pytest.fixture(scope="module")
async def tenant(kazoo):
    account = await kazoo.account()
    return account, {"X-Auth-Token": await kazoo.token_for(account)}


@pytest.fixture(scope="module")
async def admin(master_token):
    return {"X-Auth-Token": master_token}


def base(scope, account):
    return {
        "global": "/v2/resources",
        "local": f"/v2/accounts/{account['_id']}/resources",
        "local_alias": f"/v2/accounts/{account['_id']}/local_resources",
        "global_alias": f"/v2/accounts/{account['_id']}/global_resources",
    }[scope]


def db_of(scope, account):
    return names.OFFNET if scope in ("global", "global_alias") else names.account_db(account["_id"])


SCOPES = ["global", "local", "local_alias", "global_alias"]


@pytest.mark.parametrize("scope", SCOPES)
async def test_crud_round_trip(client, couch, tenant, admin, scope):
    account, _ = tenant
    url, db = base(scope, account), db_of(scope, account)
    resp = await client.put(url, json={"data": MINIMAL}, headers={**admin, "X-Request-ID": "req-create-1"})
    body = await resp.json()
    assert resp.status == 201, body
    created = body["data"]
    rid = created["id"]
    assert created == {**DEFAULTED_TOP, "name": "Carrier 3", "gateways": [DEFAULTED_GATEWAY], "id": rid}
    assert resp.headers["Location"] == f"{url}/{rid}" and body["revision"].startswith("1-")
    stored = await couch.get_doc(db, rid)
    assert stored["pvt_type"] == "resource" and stored["pvt_vsn"] == "1"
    assert stored["pvt_account_db"] == names.encode(db)
    assert stored["pvt_request_id"] == "req-create-1"
    assert stored["pvt_auth_account_id"] and stored["pvt_is_authenticated"] is True
    assert stored["pvt_alphanum_name"] == "carrier3" and stored["pvt_created"] == stored["pvt_modified"]
    assert stored["pvt_created"] > 63_000_000_000  # gregorian seconds
    assert "id" not in stored
    if scope == "global":
        assert "pvt_account_id" not in stored
    else:
        assert stored["pvt_account_id"] == account["_id"]

    resp = await client.get(f"{url}/{rid}", headers=admin)
    body = await resp.json()
    assert resp.status == 200 and body["data"] == created and resp.headers["ETag"] == f'"{body["revision"]}"'

    # POST replaces: omitted public fields disappear, private ones stay; the URL id wins
    resp = await client.post(
        f"{url}/{rid}", json={"data": {"id": "ignored", "name": "Renamed", "gateways": []}}, headers=admin
    )
    body = await resp.json()
    assert resp.status == 200, body
    assert body["data"]["id"] == rid and body["data"]["gateways"] == [] and body["data"]["weight_cost"] == 50
    stored2 = await couch.get_doc(db, rid)
    assert stored2["pvt_created"] == stored["pvt_created"] and stored2["pvt_alphanum_name"] == "renamed"

    # PATCH: top-level keys replace, null removes
    resp = await client.patch(
        f"{url}/{rid}", json={"data": {"custom": "value", "flags": ["a"], "emergency": None}}, headers=admin
    )
    body = await resp.json()
    assert resp.status == 200, body
    assert body["data"]["custom"] == "value" and body["data"]["flags"] == ["a"]
    assert body["data"]["emergency"] is False  # removed, then the default came back on validation
    assert (await couch.get_doc(db, rid))["custom"] == "value"  # really saved (also on the aliases)
    patched_rev = body["revision"]

    resp = await client.get(url, headers=admin)
    rows = (await resp.json())["data"]
    assert {"id": rid, "name": "Renamed", "enabled": True, "weight_cost": 50} in rows

    resp = await client.delete(f"{url}/{rid}", headers=admin)
    body = await resp.json()
    assert resp.status == 200 and body["data"]["_read_only"] == {"deleted": True} and body["data"]["id"] == rid
    assert body["revision"] == patched_rev  # the revision before the delete
    assert (await couch.get_doc(db, rid))["pvt_deleted"] is True
    for verb in ("get", "delete", "patch"):
        resp = await getattr(client, verb)(f"{url}/{rid}", headers=admin, json={"data": {}})
        body = await resp.json()
        assert resp.status == 404 and body["message"] == "bad_identifier", verb
        assert body["data"] == {"cause": rid, "message": "bad identifier"}
    resp = await client.get(url, headers=admin)
    assert rid not in [r["id"] for r in (await resp.json())["data"]]


async def test_hard_delete(client, couch, admin):
    resp = await client.put("/v2/resources", json={"data": MINIMAL}, headers=admin)
    rid = (await resp.json())["data"]["id"]
    resp = await client.delete(f"/v2/resources/{rid}?should_soft_delete=false", headers=admin)
    assert resp.status == 200
    with pytest.raises(NotFound):
        await couch.get_doc("offnet", rid)


async def test_client_chosen_id_and_duplicates(client, admin):
    rid = "carrier-" + secrets.token_hex(4)
    resp = await client.put("/v2/resources", json={"data": {**MINIMAL, "id": rid}}, headers=admin)
    assert resp.status == 201 and (await resp.json())["data"]["id"] == rid
    resp = await client.put("/v2/resources", json={"data": {**MINIMAL, "id": rid}}, headers=admin)
    body = await resp.json()
    assert resp.status == 409 and body["message"] == "datastore_conflict"
    assert body["data"] == {"message": "conflicting documents"}
    for bad in ("_design/x", "", "x" * 300, "a/b", "/", "carrier/.."):
        resp = await client.put("/v2/resources", json={"data": {**MINIMAL, "id": bad}}, headers=admin)
        body = await resp.json()
        assert resp.status == 400 and body["data"]["id"]["invalid"]["message"] == "Invalid document id", bad
        # nothing stored under that id (a `/` id could never be read back through the URL)
        if bad not in ("", "/"):
            stored = await client.get(f"/v2/resources/{quote(bad, safe='')}", headers=admin)
            assert stored.status in (400, 404), bad


async def test_odd_ids_on_read(client, admin):
    for rid in ("_design%2Fresources", "_all_docs", "a%2Fb", "a%20b", "ünï", "x" * 300):
        resp = await client.get(f"/v2/resources/{rid}", headers=admin)
        body = await resp.json()
        assert resp.status == 404 and body["message"] == "bad_identifier", rid


async def test_private_keys_are_dropped(client, couch, admin):
    resp = await client.put(
        "/v2/resources",
        json={"data": {**MINIMAL, "pvt_type": "user", "_rev": "1-x", "pvt_superduper_admin": True}},
        headers=admin,
    )
    body = await resp.json()
    assert resp.status == 201, body
    stored = await couch.get_doc("offnet", body["data"]["id"])
    assert stored["pvt_type"] == "resource" and "pvt_superduper_admin" not in stored
    assert not any(k.startswith(("_", "pvt_")) for k in body["data"])


async def test_validation_errors_in_kazoo_shape(client, admin):
    resp = await client.put(
        "/v2/resources",
        json={
            "data": {
                "gateways": [{"port": "abc", "codecs": ["NOPE"]}, {"server": "x" * 129}],
                "weight_cost": 101,
                "gateway_strategy": "roundrobin",
            }
        },
        headers=admin,
    )
    body = await resp.json()
    assert resp.status == 400 and body["message"] == "validation error" and body["error"] == "400"
    errs = body["data"]
    assert errs["name"] == {"required": {"message": "Field is required but missing", "value": "name"}}
    assert errs["gateways.0.server"]["required"]["value"] == "server"
    assert errs["gateways.0.port"]["type"]["message"] == "Value did not match type(s): integer"
    assert errs["gateways.0.codecs.0"]["enum"]["message"] == "Value not found in enumerated list of values"
    assert errs["gateways.1.server"]["maxLength"]["message"] == "String must not be more than 128 characters"
    assert errs["weight_cost"]["maximum"]["message"] == "Value must be at most 100"
    assert errs["gateway_strategy"]["enum"]["target"] == ["sequential", "random"]


async def test_js_type_fixup(client, admin):
    resp = await client.put(
        "/v2/resources",
        json={"data": {**MINIMAL, "weight_cost": "50", "enabled": "true", "ui_metadata": {"ui": "monster-ui"}}},
        headers=admin,
    )
    body = await resp.json()
    assert resp.status == 201, body
    assert body["data"]["weight_cost"] == 50 and body["data"]["enabled"] is True
    assert body["data"]["ui_metadata"] == {"ui": "monster-ui"}


async def test_post_reports_schema_errors_before_existence(client, admin):
    resp = await client.post("/v2/resources/doesnotexist", json={"data": {"gateways": []}}, headers=admin)
    assert resp.status == 400
    resp = await client.post("/v2/resources/doesnotexist", json={"data": MINIMAL}, headers=admin)
    assert resp.status == 404


async def test_global_needs_superduper_admin(client, tenant):
    account, headers = tenant
    for method, url in (
        ("GET", "/v2/resources"),
        ("PUT", "/v2/resources"),
        ("GET", f"/v2/accounts/{account['_id']}/global_resources"),
    ):
        resp = await client.request(method, url, json={"data": MINIMAL}, headers=headers)
        body = await resp.json()
        assert resp.status == 403 and body["message"] == "forbidden", url


async def test_wrong_type_documents_are_404(client, couch, admin):
    await couch.save_doc("offnet", {"_id": "not-a-resource-" + secrets.token_hex(3), "pvt_type": "device"})
    rows = await couch.all_docs("offnet")
    doc_id = next(r["id"] for r in rows if r["id"].startswith("not-a-resource-"))
    resp = await client.get(f"/v2/resources/{doc_id}", headers=admin)
    assert resp.status == 404


async def test_method_matrix(client, tenant, admin):
    _account, _ = tenant
    for url, allowed in (
        ("/v2/resources", {"GET", "PUT"}),
        ("/v2/resources/x", {"GET", "POST", "PATCH", "DELETE"}),
        ("/v2/resources/collection", {"PUT", "POST"}),
    ):
        for method in ("GET", "PUT", "POST", "PATCH", "DELETE"):
            if method in allowed:
                continue
            resp = await client.request(method, url, headers=admin)
            assert resp.status == 405, (method, url)
            methods = {m.strip() for m in resp.headers["Access-Control-Allow-Methods"].split(",")}
            assert allowed <= methods


async def test_listing_pagination(client, couch, kazoo):
    account = await kazoo.account()
    headers = {"X-Auth-Token": await kazoo.token_for(account)}
    url = f"/v2/accounts/{account['_id']}/resources"
    made = []
    for i in range(7):
        resp = await client.put(url, json={"data": {**MINIMAL, "name": f"R{i}", "id": f"res{i:02d}"}}, headers=headers)
        made.append((await resp.json())["data"]["id"])
    seen, start, pages = [], None, 0
    while True:
        q = "?page_size=3" + (f"&start_key={start}" if start else "")
        body = await (await client.get(url + q, headers=headers)).json()
        pages += 1
        assert body["page_size"] == len(body["data"])
        ids = [r["id"] for r in body["data"]]
        assert ids == sorted(ids, reverse=True)  # 4.3: each page in reverse
        seen += ids
        if "next_start_key" not in body:
            break
        start = body["next_start_key"]
        assert len(body["data"]) == 3
    assert pages == 3 and sorted(seen) == sorted(made) and len(seen) == len(set(seen))
    body = await (await client.get(url + "?paginate=false", headers=headers)).json()
    assert len(body["data"]) == 7 and "page_size" not in body and "next_start_key" not in body
    body = await (await client.get(url + "?page_size=bogus", headers=headers)).json()
    assert len(body["data"]) == 7  # legacy listings fall back to the default page size
    body = await (await client.get(url + "?filter_name=R3", headers=headers)).json()
    assert [r["id"] for r in body["data"]] == ["res03"]
    body = await (await client.get(url + "?page_size=2&filter_not_name=R3", headers=headers)).json()
    assert len(body["data"]) == 2 and "next_start_key" in body


async def test_listing_rows_follow_the_view(client, couch, admin):
    doc = fixture("offnet.resources.json")[0]
    doc["_id"] = "kazoo-fixture-" + secrets.token_hex(4)
    doc["template_name"] = "tpl"
    await couch.save_doc("offnet", doc)
    body = await (await client.get("/v2/resources?paginate=false", headers=admin)).json()
    row = next(r for r in body["data"] if r["id"] == doc["_id"])
    assert row == {
        "id": doc["_id"],
        "name": "Resource001",
        "enabled": True,
        "weight_cost": 1,
        "template_name": "tpl",
        "classifiers": doc["classifiers"],
    }
    # and the Kazoo-written document reads back with nothing private in it
    body = await (await client.get(f"/v2/resources/{doc['_id']}", headers=admin)).json()
    assert body["data"]["gateways"][0]["custom_sip_headers"]["in"] == {"x-gateway-inbound": "foo"}


async def test_stepswitch_views_see_our_documents(client, couch, admin):
    resp = await client.put(
        "/v2/resources",
        json={
            "data": {
                **MINIMAL,
                "name": "Routable",
                "weight_cost": 7,
                "rules": ["^\\+1(\\d{10})$"],
                "gateways": [{"server": "gw.example", "register": True, "username": "u", "password": "p"}],
            }
        },
        headers=admin,
    )
    rid = (await resp.json())["data"]["id"]
    rows = (await couch.view("offnet", "resources", "listing_active_by_rules"))["rows"]
    assert any(r["id"] == rid and r["key"] == [7, "^\\+1(\\d{10})$"] for r in rows)
    rows = (await couch.view("offnet", "resources", "listing_active_by_weight"))["rows"]
    assert any(r["id"] == rid and r["key"] == [7, rid] for r in rows)
    rows = (await couch.view("offnet", "resources", "listing_uac_gateways"))["rows"]
    assert any(r["id"] == rid and r["value"]["server"] == "gw.example" for r in rows)
    await client.delete(f"/v2/resources/{rid}", headers=admin)
    rows = (await couch.view("offnet", "resources", "listing_active_by_rules"))["rows"]
    assert not any(r["id"] == rid for r in rows)


async def test_concurrent_updates_one_wins(client, couch, admin):
    resp = await client.put("/v2/resources", json={"data": MINIMAL}, headers=admin)
    rid = (await resp.json())["data"]["id"]

    async def update(i):
        resp = await client.post(
            f"/v2/resources/{rid}", json={"data": {**MINIMAL, "name": f"writer{i}"}}, headers=admin
        )
        return resp.status, (await resp.json())

    results = await asyncio.gather(*(update(i) for i in range(10)))
    statuses = [s for s, _ in results]
    assert set(statuses) <= {200, 409} and 200 in statuses
    winners = [b["data"]["name"] for s, b in results if s == 200]
    final = await couch.get_doc("offnet", rid)
    assert final["name"] in winners
    assert int(final["_rev"].split("-")[0]) == 1 + statuses.count(200)  # no update lost silently


async def test_if_match(client, admin):
    resp = await client.put("/v2/resources", json={"data": MINIMAL}, headers=admin)
    body = await resp.json()
    rid, rev = body["data"]["id"], body["revision"]
    resp = await client.post(f"/v2/resources/{rid}", json={"data": MINIMAL}, headers={**admin, "If-Match": '"1-bad"'})
    assert resp.status == 412 and (await resp.json())["status"] == "error"
    resp = await client.post(f"/v2/resources/{rid}", json={"data": MINIMAL}, headers={**admin, "If-Match": f'"{rev}"'})
    assert resp.status == 200


async def test_array_data_on_every_write_is_a_400(client, tenant, admin):
    account, headers = tenant
    resp = await client.put("/v2/resources", json={"data": MINIMAL}, headers=admin)
    rid = (await resp.json())["data"]["id"]
    for method, url, hdrs in (
        ("PUT", "/v2/resources", admin),
        ("POST", f"/v2/resources/{rid}", admin),
        ("PATCH", f"/v2/resources/{rid}", admin),
        ("PUT", f"/v2/accounts/{account['_id']}/resources/jobs", headers),
        ("PUT", "/v2/api_auth", {}),
        ("PUT", "/v2/user_auth", {}),
    ):
        resp = await client.request(method, url, json={"data": [1, "x"]}, headers=hdrs)
        body = await resp.json()
        assert resp.status == 400 and body["message"] == "validation error", (method, url, body)
