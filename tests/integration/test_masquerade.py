"""Masquerading, as Kazoo 4.3 does it: crossbar_auth:create_auth_token puts the login request's
`as` ({account_id, owner_id}) into the token; cb_token_auth:check_as makes the token act as that
account and user when the account is one of the token account's descendants
(kapps_util:account_descendants), and fails authentication otherwise. The tokens here are signed
as a Kazoo node signs them (tests/kazoo.py: kazoo_made_token)."""

from __future__ import annotations

import time

import jwt
import pytest

from kazoo_crossbar.storage import names, provision
from kazoo_crossbar.storage.provision import credentials

from ..kazoo import kazoo_made_token, numbers_block, wait_for_job


@pytest.fixture(scope="module")
async def family(kazoo, master_token):
    """A reseller (not a super-duper admin) with a user, a child and grandchild with users, a
    sibling. (`master_token`: a first login has made the cluster's signing key.)"""
    reseller = await kazoo.account(name="Masq Reseller", pvt_wnm_allow_additions=False)
    child = await kazoo.account(parent=reseller, name="Masq Child", pvt_wnm_allow_additions=True)
    grandchild = await kazoo.account(parent=child, name="Masq Grandchild")
    sibling = await kazoo.account(name="Masq Sibling")
    users = {}
    for name, account in (("reseller", reseller), ("child", child), ("grandchild", grandchild)):
        users[name] = await kazoo.user(account, f"{name}-masq", "pw")
    return {"reseller": reseller, "child": child, "grandchild": grandchild, "sibling": sibling, "users": users}


async def token_as(couch, family, account: str, user: str | None = None, **as_claim) -> dict:
    """Headers with a Kazoo-made token of the reseller's user carrying `as`."""
    reseller = family["reseller"]
    token = await kazoo_made_token(
        couch, reseller["_id"], family["users"]["reseller"]["_id"], int(time.time()) + 600, as_=as_claim or None
    )
    return {"X-Auth-Token": token}


async def test_a_kazoo_token_with_as_acts_as_the_descendant(client, couch, family):
    child, user = family["child"], family["users"]["child"]
    headers = await token_as(couch, family, "child", account_id=child["_id"], owner_id=user["_id"])
    resp = await client.put(
        f"/v2/accounts/{child['_id']}/resources", json={"data": {"name": "Masq", "gateways": []}}, headers=headers
    )
    assert resp.status == 201, await resp.text()
    stored = await couch.get_doc(names.account_db(child["_id"]), (await resp.json())["data"]["id"])
    # crossbar_doc:add_pvt_auth stamps the acting account and user (cb_context:auth_account_id/auth_user_id)
    assert stored["pvt_auth_account_id"] == child["_id"] and stored["pvt_auth_user_id"] == user["_id"]
    # acting as the child, the reseller's own account is an ancestor, not the child's: 403 (cb_simple_authz)
    resp = await client.get(f"/v2/accounts/{family['reseller']['_id']}/resources", headers=headers)
    assert resp.status == 403
    # a descendant of the child is still in reach
    resp = await client.get(f"/v2/accounts/{family['grandchild']['_id']}/resources", headers=headers)
    assert resp.status == 200


async def test_a_job_under_masquerade_is_the_descendants(client, couch, family):
    """Who may add numbers (`pvt_auth_account_id` → knm's auth_by) is the acting account: the child may
    (pvt_wnm_allow_additions), the reseller may not, so the job succeeds only because of `as`."""
    child, user = family["child"], family["users"]["child"]
    own = {"X-Auth-Token": await kazoo_made_token(couch, child["_id"], user["_id"], int(time.time()) + 600)}
    resp = await client.put(
        f"/v2/accounts/{child['_id']}/resources", json={"data": {"name": "Jobs", "gateways": []}}, headers=own
    )
    rid = (await resp.json())["data"]["id"]
    for as_claim, expected in (({"account_id": child["_id"], "owner_id": user["_id"]}, "success"), ({}, "forbidden")):
        headers = await token_as(couch, family, "child", **as_claim)
        number = numbers_block(1)[0]
        resp = await client.put(
            f"/v2/accounts/{child['_id']}/resources/jobs",
            json={"data": {"numbers": [number], "resource_id": rid}},
            headers=headers,
        )
        assert resp.status == 201, await resp.text()
        job_id = (await resp.json())["data"]["id"]
        db = names.modb(child["_id"], int(job_id[:4]), int(job_id[4:6]))
        stored = await couch.get_doc(db, job_id)
        assert stored["pvt_auth_account_id"] == (child["_id"] if as_claim else family["reseller"]["_id"])
        done = await wait_for_job(client, f"/v2/accounts/{child['_id']}/resources/jobs/{job_id}", headers)
        if expected == "success":
            assert list(done["successes"]) == [number]
        else:
            assert done["errors"][number]["error"] == "forbidden", done


@pytest.mark.parametrize("target", ["own", "sibling", "parent_of_reseller", "unknown", "null", "not_an_id"])
async def test_an_as_that_is_not_a_descendant_fails_authentication(client, couch, kazoo, family, target):
    """check_descendants answers false (401, invalid_credentials) for anything but a descendant:
    the token's own account is not among its descendants either."""
    as_account = {
        "own": family["reseller"]["_id"],
        "sibling": family["sibling"]["_id"],
        "parent_of_reseller": kazoo.master["master_account_id"],
        "unknown": "f" * 32,
        "null": None,
        "not_an_id": "../accounts",
    }[target]
    headers = await token_as(couch, family, "x", account_id=as_account, owner_id=family["users"]["reseller"]["_id"])
    resp = await client.get(f"/v2/accounts/{family['reseller']['_id']}/resources", headers=headers)
    body = await resp.json()
    assert resp.status == 401 and body["message"] == "invalid_credentials", body


async def test_an_incomplete_as_is_ignored(client, couch, family):
    """check_as_payload: without both account_id and owner_id the token acts as itself."""
    for as_claim in ({"account_id": family["child"]["_id"]}, {"owner_id": "x"}):
        headers = await token_as(couch, family, "x", **as_claim)
        resp = await client.get(f"/v2/accounts/{family['reseller']['_id']}/resources", headers=headers)
        assert resp.status == 200, (as_claim, await resp.text())


async def test_a_super_duper_admin_masquerading_is_the_descendant(client, couch, kazoo, family):
    """cb_context:is_superduper_admin looks at the acting account: the master account acting as a
    plain account may not manage global resources."""
    master_id = kazoo.master["master_account_id"]
    child = await kazoo.account(parent=await provision.get_account(couch, master_id), name="Masq Master Child")
    token = await kazoo_made_token(
        couch, master_id, None, int(time.time()) + 600, as_={"account_id": child["_id"], "owner_id": None}
    )
    assert (await client.get("/v2/resources", headers={"X-Auth-Token": token})).status == 403
    plain = await kazoo_made_token(couch, master_id, None, int(time.time()) + 600)
    assert (await client.get("/v2/resources", headers={"X-Auth-Token": plain})).status == 200


async def test_login_puts_as_into_the_token_as_kazoo_does(client, couch, family):
    """user_auth and api_auth take `as`; the token carries it in Kazoo's claim order and acts as the
    descendant; the answer is still the logged-in account's (crossbar_util:response_auth)."""
    reseller, child, user = family["reseller"], family["child"], family["users"]["child"]
    as_claim = {"account_id": child["_id"], "owner_id": user["_id"]}
    creds, _ = credentials("reseller-masq", "pw")
    logins = [
        ("/v2/user_auth", {"credentials": creds, "account_name": reseller["name"], "as": as_claim}),
        ("/v2/api_auth", {"api_key": reseller["pvt_api_key"], "as": as_claim}),
    ]
    for path, data in logins:
        resp = await client.put(path, json={"data": data})
        body = await resp.json()
        assert resp.status == 201, body
        assert body["data"]["account_id"] == reseller["_id"]
        claims = jwt.decode(body["auth_token"], options={"verify_signature": False})
        expected = ["iss", "identity_sig", "account_id", "owner_id", "as", "method", "exp"]
        assert list(claims) == ([k for k in expected if k != "owner_id"] if "api_key" in data else expected)
        assert claims["as"] == as_claim
        headers = {"X-Auth-Token": body["auth_token"]}
        assert (await client.get(f"/v2/accounts/{reseller['_id']}/resources", headers=headers)).status == 403
        assert (await client.get(f"/v2/accounts/{child['_id']}/resources", headers=headers)).status == 200
    # user_auth (no additionalProperties in its schema) takes any `as`; a value naming no
    # account and user is carried and ignored, as check_as_payload ignores it
    resp = await client.put("/v2/user_auth", json={"data": {**logins[0][1], "as": "nobody"}})
    token = (await resp.json())["auth_token"]
    assert jwt.decode(token, options={"verify_signature": False})["as"] == "nobody"
    resp = await client.get(f"/v2/accounts/{reseller['_id']}/resources", headers={"X-Auth-Token": token})
    assert resp.status == 200


async def test_the_account_header_names_the_tokens_own_account(client, couch, family):
    """X-Auth-Account-ID is checked against the token's account_id claim, before `as` applies."""
    child = family["child"]
    headers = await token_as(couch, family, "x", account_id=child["_id"], owner_id=family["users"]["child"]["_id"])
    url = f"/v2/accounts/{child['_id']}/resources"
    ok = await client.get(url, headers={**headers, "X-Auth-Account-ID": family["reseller"]["_id"]})
    assert ok.status == 200
    refused = await client.get(url, headers={**headers, "X-Auth-Account-ID": child["_id"]})
    assert refused.status == 401
