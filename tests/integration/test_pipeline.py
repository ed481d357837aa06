"""The request pipeline: check order, envelopes, headers, CORS, bad input."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient, TestServer

from kazoo_crossbar.app import create_app
from kazoo_crossbar.config import Settings

from ..conftest import free_port

ENVELOPE_SUCCESS = ["data", "revision", "timestamp", "version", "node", "request_id", "status", "auth_token"]
ENVELOPE_ERROR = ["data", "error", "message", "status", "timestamp", "version", "node", "request_id", "auth_token"]


@pytest.fixture(scope="module")
async def tenant(kazoo):
    account = await kazoo.account()
    return account, await kazoo.token_for(account)


async def test_success_envelope_and_headers(client, tenant):
    account, token = tenant
    resp = await client.get(f"/v2/accounts/{account['_id']}/resources", headers={"X-Auth-Token": token})
    body = await resp.json()
    assert resp.status == 200 and resp.headers["Content-Type"] == "application/json"
    assert body["status"] == "success" and body["data"] == [] and body["page_size"] == 0
    assert "revision" not in body  # an empty list has none
    assert re.fullmatch(r"[0-9a-f]{32}", body["request_id"])
    assert resp.headers["X-Request-ID"] == body["request_id"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["timestamp"])
    assert len(body["node"]) == 22 and body["auth_token"] == token
    assert resp.headers["Expires"] == "Fri, 01 Jan 1999 00:00:00 GMT"


async def test_request_id_is_echoed(client, tenant):
    account, token = tenant
    resp = await client.get(
        f"/v2/accounts/{account['_id']}/resources", headers={"X-Auth-Token": token, "X-Request-ID": "my-trace-1"}
    )
    assert resp.headers["X-Request-ID"] == "my-trace-1" and (await resp.json())["request_id"] == "my-trace-1"
    resp = await client.get("/v2/resources", headers={"X-Request-ID": "err-trace"})
    body = await resp.json()
    assert resp.status == 401 and body["request_id"] == "err-trace" and resp.headers["X-Request-ID"] == "err-trace"


async def test_error_envelope_shape(client):
    resp = await client.get("/v2/resources")
    body = await resp.json()
    assert list(body) == ENVELOPE_ERROR
    assert body["error"] == "401" and body["status"] == "error" and body["auth_token"] == "undefined"
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"  # on every error


async def test_check_order(client, kazoo, tenant):
    _account, token = tenant
    other = await kazoo.account()
    missing = "0" * 32
    # bad JSON beats everything, even without a token
    resp = await client.put(
        f"/v2/accounts/{missing}/resources", data=b"{nope", headers={"Content-Type": "application/json"}
    )
    body = await resp.json()
    assert resp.status == 400 and body["data"]["json"]["invalid"]["target"] == "body"
    # an unknown account is 404 before authentication
    resp = await client.get(f"/v2/accounts/{missing}/resources")
    body = await resp.json()
    assert resp.status == 404 and body["message"] == "bad_identifier"
    assert body["data"] == {"cause": missing, "message": "bad identifier"}
    # then 401
    resp = await client.get(f"/v2/accounts/{other['_id']}/resources")
    assert resp.status == 401
    # then 403 for someone else's account
    resp = await client.get(f"/v2/accounts/{other['_id']}/resources", headers={"X-Auth-Token": token})
    body = await resp.json()
    assert resp.status == 403 and body["message"] == "forbidden" and body["data"] == {"message": "forbidden"}
    # a wrong method beats the account check
    resp = await client.post(f"/v2/accounts/{missing}/resources")
    assert resp.status == 405


@pytest.mark.parametrize(
    "account_id,message,data",
    [
        ("short", "bad identifier", {"message": "invalid account_id 'short'"}),
        ("a" * 33, "bad identifier", {"message": f"invalid account_id '{'a' * 33}'"}),
    ],
)
async def test_malformed_account_ids(client, account_id, message, data):
    resp = await client.get(f"/v2/accounts/{account_id}/resources")
    body = await resp.json()
    assert resp.status == 404 and body["message"] == message and body["data"] == data


async def test_405_lists_allowed_methods_in_cors_headers(client, tenant):
    account, token = tenant
    resp = await client.post(
        f"/v2/accounts/{account['_id']}/resources", json={"data": {}}, headers={"X-Auth-Token": token}
    )
    body = await resp.json()
    assert resp.status == 405 and body["message"] == "invalid_method"
    assert body["data"] == {"message": "method not allowed"} and "Allow" not in resp.headers
    methods = {m.strip() for m in resp.headers["Access-Control-Allow-Methods"].split(",")}
    assert {"OPTIONS", "GET", "PUT"} <= methods
    resp = await client.head(f"/v2/accounts/{account['_id']}/resources", headers={"X-Auth-Token": token})
    assert resp.status == 405


async def test_unknown_paths(client, tenant):
    account, token = tenant
    resp = await client.get("/v2/nonsense")  # Kazoo authenticates first: no token, 401
    assert resp.status == 401
    for path in (
        "/v2/nonsense",
        f"/v2/accounts/{account['_id']}/resources/a/b",
        f"/v2/accounts/{account['_id']}/nonsense",
    ):
        resp = await client.get(path, headers={"X-Auth-Token": token})
        body = await resp.json()
        assert resp.status == 404 and body["message"] == "not_found", path
    resp = await client.get("/")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
    resp = await client.request("PROPFIND", "/v2/resources")
    assert resp.status == 501


async def test_cors_preflight(client, tenant):
    account, _ = tenant
    resp = await client.options(
        f"/v2/accounts/{account['_id']}/resources/x",
        headers={"Origin": "https://ui.example", "Access-Control-Request-Method": "DELETE"},
    )
    assert resp.status == 200 and await resp.read() == b""
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "x-auth-token" in resp.headers["Access-Control-Allow-Headers"]
    assert resp.headers["Access-Control-Max-Age"] == "86400"
    assert {"DELETE", "PATCH", "POST", "GET", "OPTIONS"} <= {
        m.strip() for m in resp.headers["Access-Control-Allow-Methods"].split(",")
    }
    resp = await client.options(f"/v2/accounts/{account['_id']}/resources")
    assert resp.status == 405  # not a CORS request


@pytest.mark.parametrize("ctype", ["application/json", None, "application/x-www-form-urlencoded"])
async def test_client_tolerance(client, tenant, ctype):
    account, token = tenant
    headers = {"X-Auth-Token": token}
    if ctype:
        headers["Content-Type"] = ctype
    url = f"/v2/accounts/{account['_id']}/resources"
    # empty body with a JSON content type on GET; unknown query params (jQuery's `_`) ignored
    resp = await client.get(url + "?_=1700000000000", headers=headers)
    assert resp.status == 200
    # (aiohttp would add application/octet-stream to a bytes body; a missing type must really be missing)
    resp = await client.put(
        url + "/",
        data=b'{"data":{"name":"tolerant","gateways":[]}}',
        headers=headers,
        skip_auto_headers=["Content-Type"],
    )
    body = await resp.json()
    assert resp.status == 201, body
    doc_id = body["data"]["id"]
    resp = await client.delete(f"{url}/{doc_id}", data=b'{"data":{"ui_metadata":{"ui":"monster-ui"}}}', headers=headers)
    assert resp.status == 200 and (await resp.json())["status"] == "success"


@pytest.mark.parametrize(
    "raw,key", [(b"[]", "json"), (b"{}", "data"), (b'{"data":5}', "data"), (b'{"data":{"a":1}', "json")]
)
async def test_bad_envelopes_without_token(client, raw, key):
    resp = await client.put("/v2/resources", data=raw, headers={"Content-Type": "application/json"})
    body = await resp.json()
    assert resp.status == 400 and body["message"] == "validation error" and key in body["data"]


async def test_body_size_limit(client, kazoo, tenant):
    account, token = tenant
    async with kazoo.system_config("crossbar", max_upload_size=200):
        resp = await client.put(
            f"/v2/accounts/{account['_id']}/resources",
            headers={"X-Auth-Token": token},
            json={"data": {"name": "x" * 300, "gateways": []}},
        )
        body = await resp.json()
        assert resp.status == 400
        assert body["data"] == {
            "file": {"maxSize": {"message": "Payload or Files must not be more than 200 bytes", "target": 200}}
        }


async def test_couchdb_unreachable_is_503():
    settings = Settings(couchdb_url=f"http://127.0.0.1:{free_port()}", node_name="dead@localhost")
    async with TestClient(TestServer(create_app(settings))) as dead:
        resp = await dead.get("/v2/accounts/" + "a" * 32 + "/resources")
        body = await resp.json()
        assert resp.status == 503 and body["message"] == "datastore_unreachable"
        # nothing listens there: refused, not a timeout (Kazoo's own text says "datastore timeout")
        assert body["data"] == {"message": "datastore unreachable: connection refused"}
        resp = await dead.put("/v2/api_auth", json={"data": {"api_key": "a" * 64}})
        assert resp.status == 503 and (await resp.json())["error"] == "503"


async def test_tunnelled_verb(client, tenant):
    account, token = tenant
    url = f"/v2/accounts/{account['_id']}/resources"
    resp = await client.post(
        url + "?verb=PUT", json={"data": {"name": "tunnelled", "gateways": []}}, headers={"X-Auth-Token": token}
    )
    assert resp.status == 201 and (await resp.json())["data"]["name"] == "tunnelled"


async def test_large_bodies_arrive_whole(client, tenant):
    """A body sent in many TCP segments (here about 2 MB) is read to its end."""
    account, token = tenant
    big = {"data": {"name": "big", "gateways": [], "notes": "x" * 2_000_000}}
    resp = await client.put(f"/v2/accounts/{account['_id']}/resources", json=big, headers={"X-Auth-Token": token})
    body = await resp.json()
    assert resp.status == 201, body["data"] if resp.status != 201 else None
    assert len(body["data"]["notes"]) == 2_000_000


async def test_v1_is_served_without_pagination_and_with_string_errors(client, tenant):
    account, token = tenant
    url = f"/v1/accounts/{account['_id']}/resources"
    resp = await client.get(url)
    body = await resp.json()
    assert resp.status == 401 and body["data"] == "invalid credentials"
    resp = await client.get(url, headers={"X-Auth-Token": token})
    body = await resp.json()
    assert resp.status == 200 and "page_size" not in body and isinstance(body["data"], list)
    resp = await client.put(url, json={"data": {}}, headers={"X-Auth-Token": token})
    body = await resp.json()
    assert resp.status == 400 and body["data"]["name"]["required"]["value"] == "name"
