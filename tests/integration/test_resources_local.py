"""Local resources: the `sip_auth` copy of registering gateways and the peer checks."""

from __future__ import annotations

import secrets

import pytest

from kazoo_crossbar.storage.couch import NotFound

REGISTERING = {
    "name": "BYOC",
    "gateways": [
        {"server": "sip.byoc.example", "register": True, "username": "u1", "password": "p1", "realm": "byoc.example"}
    ],
}


@pytest.fixture(scope="module")
async def tenant(kazoo):
    account = await kazoo.account()
    return account, {"X-Auth-Token": await kazoo.token_for(account)}


async def sip_auth_doc(couch, rid):
    try:
        return await couch.get_doc("sip_auth", rid)
    except NotFound:
        return None


async def test_registering_gateway_is_copied_to_sip_auth(client, couch, tenant):
    account, headers = tenant
    url = f"/v2/accounts/{account['_id']}/resources"
    resp = await client.put(url, json={"data": REGISTERING}, headers=headers)
    rid = (await resp.json())["data"]["id"]
    copy = await sip_auth_doc(couch, rid)
    assert copy is not None and copy["gateways"][0]["username"] == "u1"
    assert copy["pvt_type"] == "resource" and copy["pvt_account_id"] == account["_id"]
    rows = (await couch.view("sip_auth", "resources", "listing_uac_gateways"))["rows"]
    row = next(r for r in rows if r["id"] == rid)
    assert row["value"]["account_id"] == account["_id"] and row["value"]["id"] == f"{rid}-0"
    # no longer registering: the copy goes away
    resp = await client.post(
        f"{url}/{rid}", json={"data": {"name": "BYOC", "gateways": [{"server": "x"}]}}, headers=headers
    )
    assert resp.status == 200 and await sip_auth_doc(couch, rid) is None
    # registering again, then deleted: gone again
    await client.patch(f"{url}/{rid}", json={"data": {"gateways": REGISTERING["gateways"]}}, headers=headers)
    assert await sip_auth_doc(couch, rid) is not None
    await client.delete(f"{url}/{rid}", headers=headers)
    assert await sip_auth_doc(couch, rid) is None


async def test_disabled_gateway_is_not_copied(client, couch, tenant):
    account, headers = tenant
    gw = {**REGISTERING["gateways"][0], "enabled": False}
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources", json={"data": {"name": "off", "gateways": [gw]}}, headers=headers
    )
    assert await sip_auth_doc(couch, (await resp.json())["data"]["id"]) is None


async def test_global_resources_are_never_copied(client, couch, master_token):
    resp = await client.put("/v2/resources", json={"data": REGISTERING}, headers={"X-Auth-Token": master_token})
    assert await sip_auth_doc(couch, (await resp.json())["data"]["id"]) is None


async def test_peers_refused_unless_allowed(client, kazoo, tenant):
    account, headers = tenant
    async with kazoo.system_config("crossbar.local_resources", allow_peers=False):
        resp = await client.put(
            f"/v2/accounts/{account['_id']}/resources",
            headers=headers,
            json={"data": {"name": "peer", "peer": True, "gateways": [{"server": "10.1.2.3"}]}},
        )
    body = await resp.json()
    assert resp.status == 400
    assert body["data"] == {
        "peer": {"forbidden": {"message": "Peers are currently disabled, please contact the system admin"}}
    }


async def test_peer_ip_checks(client, couch, kazoo, tenant):
    account, headers = tenant
    url = f"/v2/accounts/{account['_id']}/resources"
    octet = secrets.randbelow(200) + 1
    ip_a, ip_b = f"10.{octet}.0.1", f"10.{octet}.0.2"
    acls = {"carrier": {"cidr": f"10.{octet}.9.0/24", "type": "allow"}}
    async with (
        kazoo.system_config("crossbar.local_resources", allow_peers=True),
        kazoo.system_config("ecallmgr", acls=acls),
    ):
        resp = await client.put(
            url, json={"data": {"name": "peer1", "peer": True, "gateways": [{"server": ip_a}]}}, headers=headers
        )
        body = await resp.json()
        assert resp.status == 201, body
        rid = body["data"]["id"]
        assert (await sip_auth_doc(couch, rid)) is not None  # peers are aggregated
        # the same resource may keep its own IP
        resp = await client.post(
            f"{url}/{rid}",
            json={"data": {"name": "peer1", "peer": True, "gateways": [{"server": ip_a}]}},
            headers=headers,
        )
        assert resp.status == 200, await resp.json()
        # another resource may not; every bad gateway is reported at once (4.3 answered 500)
        resp = await client.put(
            url,
            json={
                "data": {
                    "name": "peer2",
                    "peer": True,
                    "gateways": [
                        {"server": ip_a},
                        {"server": "not-an-ip"},
                        {"server": "x", "inbound_ip": f"10.{octet}.9.7"},
                        {"server": ip_b},
                    ],
                }
            },
            headers=headers,
        )
        body = await resp.json()
        assert resp.status == 400, body
        assert body["data"] == {
            "gateways.0.server": {"unique": {"message": "Gateway server ip is already in use", "cause": 0}},
            "gateways.1.server": {
                "required": {"message": "Gateway server must be an IP when peering with the resource", "cause": 1}
            },
            "gateways.2.inbound_ip": {"unique": {"message": "Gateway inbound ip is already in use", "cause": 2}},
        }
