"""Kazoo 4.3 tokens: issue, verify, expiry, tampering, interchangeability."""

from __future__ import annotations

import base64
import json
import secrets
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from kazoo_crossbar.app import SERVICES
from kazoo_crossbar.storage import names
from kazoo_crossbar.storage.provision import credentials

from ..kazoo import b64, kazoo_made_token, stored_key


async def test_api_auth_issues_a_verifiable_kazoo_jwt(client, couch, master):
    resp = await client.put("/v2/api_auth", json={"data": {"api_key": master["api_key"]}})
    body = await resp.json()
    assert resp.status == 201 and resp.headers["Content-Type"] == "application/json"
    assert body["status"] == "success" and body["data"]["account_id"] == master["master_account_id"]
    assert "owner_id" not in body["data"]
    token = body["auth_token"]
    header = jwt.get_unverified_header(token)
    auth = (await couch.get_doc("system_config", "auth"))["default"]
    assert header["alg"] == "RS256" and header["kid"] == auth["system_key"]
    key = await stored_key(couch, header["kid"])
    claims = jwt.decode(token, key.public_key(), algorithms=["RS256"])
    assert list(claims) == ["iss", "identity_sig", "account_id", "method", "exp"]
    assert claims["method"] == "cb_api_auth" and claims["iss"] == "kazoo"
    assert 3500 < claims["exp"] - time.time() <= 3600
    key_doc = await couch.get_doc("system_auth", header["kid"])
    assert key_doc["pvt_type"] == "system_key"
    assert key_doc["_attachments"]["private_key.pem"]["content_type"] == "application/x-pem-file"


async def test_api_auth_errors(client):
    resp = await client.put("/v2/api_auth", json={"data": {"api_key": "f" * 64}})
    body = await resp.json()
    assert resp.status == 404 and body["message"] == "bad identifier" and body["data"] == ["f" * 64]
    assert body["error"] == "404" and body["auth_token"] == "undefined"
    resp = await client.put("/v2/api_auth", json={"data": {"api_key": "short"}})
    body = await resp.json()
    assert resp.status == 400 and body["message"] == "validation error"
    assert "minLength" in body["data"]["api_key"]
    resp = await client.put("/v2/api_auth", json={"data": {}})
    assert (await resp.json())["data"]["api_key"]["required"]["message"] == "Field is required but missing"
    resp = await client.get("/v2/api_auth")
    assert resp.status == 405 and (await resp.json())["message"] == "invalid_method"


async def test_user_auth_by_name_realm_and_sha(client, kazoo):
    account = await kazoo.account(name="User Auth Co")
    user = await kazoo.user(account, "alice", "pa55word")
    md5, sha1 = credentials("alice", "pa55word")
    for ident in (
        {"account_name": "User Auth Co"},
        {"account_name": "userauthco"},
        {"realm": account["realm"].upper()},
        {"account_realm": account["realm"]},
    ):
        resp = await client.put(
            "/v2/user_auth", json={"data": {"credentials": md5, **ident}}, headers={"X-Auth-Token": ""}
        )
        body = await resp.json()
        assert resp.status == 201, body
        assert body["data"]["account_id"] == account["_id"] and body["data"]["owner_id"] == user["_id"]
        assert body["auth_token"].count(".") == 2
    resp = await client.put(
        "/v2/user_auth", json={"data": {"credentials": sha1, "method": "sha", "account_name": "User Auth Co"}}
    )
    assert resp.status == 201
    claims = jwt.decode((await resp.json())["auth_token"], options={"verify_signature": False})
    assert claims["owner_id"] == user["_id"] and claims["method"] == "cb_user_auth"


async def test_user_auth_refusals(client, kazoo):
    account = await kazoo.account(name="Refusals Co")
    await kazoo.user(account, "bob", "right")
    wrong, _ = credentials("bob", "wrong")
    resp = await client.put("/v2/user_auth", json={"data": {"credentials": wrong, "account_name": "Refusals Co"}})
    body = await resp.json()
    assert resp.status == 401 and body["error"] == "401" and body["message"] == "invalid_credentials"
    right, _ = credentials("bob", "right")
    resp = await client.put("/v2/user_auth", json={"data": {"credentials": right, "account_name": "Nobody"}})
    assert resp.status == 401
    disabled = await kazoo.account(name="Disabled Co", enabled=False)
    await kazoo.user(disabled, "carol", "pw")
    creds, _ = credentials("carol", "pw")
    resp = await client.put("/v2/user_auth", json={"data": {"credentials": creds, "account_name": "Disabled Co"}})
    body = await resp.json()
    assert resp.status == 400 and body["data"] == {"account": {"disabled": {"message": "account disabled"}}}
    resp = await client.put("/v2/user_auth", json={"data": {"account_name": "Refusals Co"}})
    assert resp.status == 400 and "credentials" in (await resp.json())["data"]


async def test_tokens_made_by_kazoo_are_accepted(client, couch, kazoo):
    account = await kazoo.account()
    user = await kazoo.user(account, "dave", "pw")
    creds, _ = credentials("dave", "pw")
    # log in once so the identity secret exists (Kazoo creates it the same way)
    resp = await client.put("/v2/user_auth", json={"data": {"credentials": creds, "realm": account["realm"]}})
    assert resp.status == 201
    token = await kazoo_made_token(couch, account["_id"], user["_id"], int(time.time()) + 600)
    resp = await client.get(f"/v2/accounts/{account['_id']}/resources", headers={"X-Auth-Token": token})
    assert resp.status == 200, await resp.text()


@pytest.mark.parametrize(
    "problem",
    ["missing", "garbage", "expired", "tampered", "forged", "other_kid", "identity", "account_header", "no_kid"],
)
async def test_bad_tokens_get_401(client, couch, kazoo, problem):
    account = await kazoo.account()
    good = await kazoo.token_for(account)
    url = f"/v2/accounts/{account['_id']}/resources"
    headers = {"X-Auth-Token": good}
    if problem == "missing":
        headers = {}
    elif problem == "garbage":
        headers["X-Auth-Token"] = "not-a-jwt"
    elif problem == "expired":
        headers["X-Auth-Token"] = await kazoo_made_token(couch, account["_id"], None, int(time.time()) - 5)
    elif problem == "tampered":
        head, payload, sig = good.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        claims["exp"] += 100000
        headers["X-Auth-Token"] = ".".join([head, b64(json.dumps(claims).encode()), sig])
    elif problem in ("forged", "other_kid", "no_kid"):
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        claims = jwt.decode(good, options={"verify_signature": False})
        kid = jwt.get_unverified_header(good)["kid"] if problem == "forged" else "0" * 32
        headers["X-Auth-Token"] = jwt.encode(
            claims, other, algorithm="RS256", headers={} if problem == "no_kid" else {"kid": kid}
        )
    elif problem == "identity":
        doc = await couch.get_doc(names.account_db(account["_id"]), account["_id"])
        doc["pvt_signature_secret"] = "reset" + doc["pvt_signature_secret"]
        await couch.save_doc(names.account_db(account["_id"]), doc)
        client.app[SERVICES].tokens.forget()  # what the cache TTL does a few seconds later
    elif problem == "account_header":
        headers["X-Auth-Account-ID"] = "0" * 32
    resp = await client.get(url, headers=headers)
    body = await resp.json()
    assert resp.status == 401, body
    assert body["error"] == "401" and body["message"] == "invalid_credentials"
    assert body["data"] == {"message": "invalid credentials"}
    assert "WWW-Authenticate" not in resp.headers


async def test_token_in_query_string_and_envelope(client, kazoo):
    account = await kazoo.account()
    token = await kazoo.token_for(account)
    resp = await client.get(f"/v2/accounts/{account['_id']}/resources?auth_token={token}")
    assert resp.status == 200
    assert (await resp.json())["auth_token"] == token


async def test_token_expiry_follows_config(client, kazoo):
    async with kazoo.system_config("crossbar.auth", token_auth_expiry_s=60):
        account = await kazoo.account()
        claims = jwt.decode(await kazoo.token_for(account), options={"verify_signature": False})
        assert 50 < claims["exp"] - time.time() <= 60


async def test_two_nodes_creating_the_signing_key_agree(couch, master):
    """Both sides may create a new key at once; the loser of the race uses the winner's key."""
    import asyncio
    import secrets as _secrets

    from kazoo_crossbar.auth.keys import KeyStore
    from kazoo_crossbar.bus.base import NullBus
    from kazoo_crossbar.storage.system_config import SystemConfig
    from kazoo_crossbar.storage.writes import Writes

    kid = _secrets.token_hex(16)
    writes = [Writes(couch, NullBus(), node=f"n{i}@h") for i in range(3)]
    stores = [KeyStore(SystemConfig(w), w) for w in writes]
    keys = await asyncio.gather(*(s.private_key(kid, create=True) for s in stores))
    numbers = {k.private_numbers().d for k in keys}
    assert len(numbers) == 1
    stored = await stored_key(couch, kid)
    assert stored.private_numbers().d in numbers


async def test_expired_trial_and_disabled_accounts(client, couch, kazoo):
    """cb_user_auth:maybe_account_is_expired / maybe_account_is_enabled at login,
    cb_token_auth:is_account_expired on token use: 400 validation errors."""
    past = names.gregorian_now() - 60
    expired = await kazoo.account(name="Expired Trial Co", pvt_trial_expires=past)
    await kazoo.user(expired, "erin", "pw")
    creds, _ = credentials("erin", "pw")
    want = {"account": {"expired": {"message": "account expired", "cause": past}}}
    resp = await client.put("/v2/user_auth", json={"data": {"credentials": creds, "account_name": "Expired Trial Co"}})
    body = await resp.json()
    assert resp.status == 400 and body["message"] == "validation error" and body["data"] == want, body
    resp = await client.put("/v2/api_auth", json={"data": {"api_key": expired["pvt_api_key"]}})
    assert resp.status == 400 and (await resp.json())["data"] == want
    # a trial still running logs in
    running = await kazoo.account(pvt_trial_expires=names.gregorian_now() + 3600)
    token = await kazoo.token_for(running)
    url = f"/v2/accounts/{running['_id']}/resources"
    assert (await client.get(url, headers={"X-Auth-Token": token})).status == 200
    # ... and once the trial ends, its token is refused
    db = names.account_db(running["_id"])
    doc = await couch.get_doc(db, running["_id"])
    doc["pvt_trial_expires"] = past
    await couch.save_doc(db, doc)
    client.app[SERVICES].accounts.forget(running["_id"])
    resp = await client.get(url, headers={"X-Auth-Token": token})
    assert resp.status == 400 and (await resp.json())["data"] == want
    # disabled the way crossbar_util:maybe_disable_account does it (pvt_enabled false)
    off = await kazoo.account(name="Switched Off Co")
    await kazoo.user(off, "frank", "pw")
    token = await kazoo.token_for(off)
    doc = await couch.get_doc(names.account_db(off["_id"]), off["_id"])
    doc["pvt_enabled"] = False
    await couch.save_doc(names.account_db(off["_id"]), doc)
    client.app[SERVICES].accounts.forget(off["_id"])
    disabled = {"account": {"disabled": {"message": "account disabled"}}}
    creds, _ = credentials("frank", "pw")
    resp = await client.put("/v2/user_auth", json={"data": {"credentials": creds, "account_name": "Switched Off Co"}})
    assert resp.status == 400 and (await resp.json())["data"] == disabled
    resp = await client.get(f"/v2/accounts/{off['_id']}/resources", headers={"X-Auth-Token": token})
    assert resp.status == 400 and (await resp.json())["data"] == disabled


async def test_login_answer_has_the_app_store_and_the_reseller(client, couch, kazoo, master):
    """crossbar_util:populate_resp/3: `apps` from the master account's app store (format_app/2),
    `reseller_id` from kz_services_reseller (services doc, else the tree walked up to a reseller)."""
    from kazoo_crossbar.storage import views

    master_id = master["master_account_id"]
    master_db = names.account_db(master_id)
    app_id = "app" + secrets.token_hex(14) + "01"
    await couch.save_doc(
        master_db,
        {
            "_id": app_id,
            "pvt_type": "app",
            "name": f"voip{app_id[:6]}",
            "api_url": "http://api.example:8000/v2",
            "source_url": "http://apps.example/voip",
            "published": True,
            "phase": "gold",
            "i18n": {"en-US": {"label": "Smart PBX"}, "fr-FR": {"label": "PBX Intelligent"}},
            "pvt_account_id": master_id,
            "pvt_account_db": names.encode(master_db),
        },
    )
    await couch.save_doc(
        master_db, {"_id": "app" + secrets.token_hex(14) + "02", "pvt_type": "app", "name": "gone", "pvt_deleted": True}
    )
    # a reseller (promoted: services doc and account doc both say so), a child and a grandchild
    reseller = await kazoo.account(parent={"_id": master_id, "pvt_tree": []}, pvt_reseller=True)
    child = await kazoo.account(parent=reseller, pvt_reseller=False)  # (the fixture doc is a reseller)
    grandchild = await kazoo.account(parent=child, pvt_reseller=False, pvt_reseller_id=master_id)
    await views.ensure_db(couch, "services")
    await couch.save_doc(
        "services", {"_id": reseller["_id"], "pvt_type": "service", "pvt_reseller": True, "pvt_reseller_id": master_id}
    )
    user = await kazoo.user(grandchild, "gina", "pw", language="fr-FR")
    creds, _ = credentials("gina", "pw")
    resp = await client.put("/v2/user_auth", json={"data": {"credentials": creds, "realm": grandchild["realm"]}})
    body = await resp.json()
    assert resp.status == 201, body
    data = body["data"]
    assert data["owner_id"] == user["_id"] and data["language"] == "fr-FR"
    assert data["reseller_id"] == reseller["_id"] and data["is_reseller"] is False
    ours = [a for a in data["apps"] if a["id"] == app_id]
    assert ours == [
        {
            "id": app_id,
            "name": f"voip{app_id[:6]}",
            "api_url": "http://api.example:8000/v2",
            "source_url": "http://apps.example/voip",
            "label": "PBX Intelligent",
        }
    ]
    assert not [a for a in data["apps"] if a["name"] == "gone"]
    # the reseller itself: its services doc names its own reseller, and it is one
    resp = await client.put("/v2/api_auth", json={"data": {"api_key": reseller["pvt_api_key"]}})
    data = (await resp.json())["data"]
    assert data["reseller_id"] == master_id and data["is_reseller"] is True
    assert [a["label"] for a in data["apps"] if a["id"] == app_id] == ["Smart PBX"]  # default language
    # no reseller above: the master account
    lone = await kazoo.account(parent={"_id": master_id, "pvt_tree": []}, pvt_reseller=False)
    resp = await client.put("/v2/api_auth", json={"data": {"api_key": lone["pvt_api_key"]}})
    assert (await resp.json())["data"]["reseller_id"] == master_id
