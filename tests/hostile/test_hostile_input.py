"""Bodies built to be slow, invalid Unicode, numbers JSON cannot carry,
dot ids, out-of-range dates and unknown methods. Each answer is a Kazoo envelope, small,
valid JSON, and nothing is written."""

from __future__ import annotations

import json
import secrets

import pytest

from kazoo_crossbar.storage import names

from .wire import envelope, raw_request, strict_json

MANY_LISTS = b'{"data":[' + b",".join([b"[]"] * 2_600_000) + b"]}"  # about 7.8 MB


async def test_huge_unauthenticated_api_auth_body_is_refused_without_reading(client):
    resp = await client.put("/v2/api_auth", data=MANY_LISTS, headers={"Content-Type": "application/json"})
    body = await envelope(resp, 400)
    assert len(await resp.read()) < 2000 and "maxSize" in body["data"]["file"]


async def test_large_body_without_a_valid_token_is_not_parsed(client):
    for headers in ({}, {"X-Auth-Token": "not-a-token"}):
        resp = await client.put(
            "/v2/resources", data=MANY_LISTS, headers={**headers, "Content-Type": "application/json"}
        )
        body = await envelope(resp, 401)
        assert len(await resp.read()) < 2000 and body["message"] == "invalid_credentials"


async def test_body_of_millions_of_values_is_refused_and_not_echoed(client, tenant):
    account, headers = tenant
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources",
        data=MANY_LISTS,
        headers={**headers, "Content-Type": "application/json"},
    )
    body = await envelope(resp, 400)
    assert len(await resp.read()) < 2000 and body["data"]["json"]["invalid"]["message"] == "too many values"


async def test_small_bodies_keep_kazoo_check_order(client):
    """Below 64 KiB the body is parsed first, as Kazoo does: bad JSON is a 400 before the 401."""
    resp = await client.put(
        "/v2/resources", data=b'{"data":[' + b"1," * 10_000 + b"]}", headers={"Content-Type": "application/json"}
    )
    await envelope(resp, 400)


async def test_large_scalar_data_is_not_echoed(client):
    resp = await client.put("/v2/api_auth", json={"data": "x" * 10_000})
    await envelope(resp, 400)
    assert len(await resp.read()) < 2000


@pytest.mark.parametrize(
    "raw",
    [b'{"data":{"api_key":"\\ud800"}}', b'{"data":{"api_key":"\\udc00x"}}', b'{"data":{"api_key":"\xed\xa0\x80"}}'],
)
async def test_lone_surrogate_api_key_gets_a_kazoo_envelope(client, raw):
    resp = await client.put("/v2/api_auth", data=raw, headers={"Content-Type": "application/json"})
    await envelope(resp, 400)


async def test_lone_surrogate_is_refused_and_listings_keep_working(client, couch, tenant):
    account, headers = tenant
    url = f"/v2/accounts/{account['_id']}/resources"
    rid = secrets.token_hex(16)
    raw = (f'{{"data":{{"id":"{rid}","name":"poison \\ud800","gateways":[{{"server":"s.example"}}]}}}}').encode()
    resp = await client.put(url, data=raw, headers={**headers, "Content-Type": "application/json"})
    await envelope(resp, 400)
    rows = (await couch.request("GET", f"/{names.url_path(names.account_db(account['_id']))}/_all_docs"))["rows"]
    assert rid not in [row["id"] for row in rows]
    assert (await client.get(url, headers=headers)).status == 200
    job = b'{"data":{"name":"poison \\ud800","resource_id":"x","numbers":["+15550001111"]}}'
    resp = await client.put(f"{url}/jobs", data=job, headers={**headers, "Content-Type": "application/json"})
    await envelope(resp, 400)
    assert (await client.get(f"{url}/jobs", headers=headers)).status == 200


@pytest.mark.parametrize(
    "header",
    [b"X-Auth-Token: \xed\xa0\x80", b"X-Auth-Token: abc\xff", b"X-Auth-Account-ID: \xff", b"If-Match: \xed\xb0\x80"],
)
async def test_undecodable_header_bytes_are_a_400_envelope(client, tenant, header):
    account, headers = tenant
    token = headers["X-Auth-Token"].encode() if not header.startswith(b"X-Auth-Token") else b""
    request = (
        b"DELETE /v2/accounts/"
        + account["_id"].encode()
        + b"/resources/x HTTP/1.1\r\nHost: t\r\n"
        + (b"X-Auth-Token: " + token + b"\r\n" if token else b"")
        + header
        + b"\r\nConnection: close\r\n\r\n"
    )
    status, payload = await raw_request(client, request)
    assert status == 400, payload[:300]
    body = strict_json(payload.decode())
    assert body["data"]["json"]["invalid"]["message"] == "invalid_string"


@pytest.mark.parametrize(
    "number", [b"1" * 5000, b"-" + b"9" * 5000, b"1e999", b"-1e999", b"NaN", b"Infinity", b"-Infinity"]
)
async def test_numbers_json_cannot_carry_are_a_400_before_auth(client, number):
    raw = b'{"data":{"api_key":"k","n":' + number + b"}}"
    resp = await client.put("/v2/api_auth", data=raw, headers={"Content-Type": "application/json"})
    body = await envelope(resp, 400)
    assert "json" in body["data"]


# Sent raw: an HTTP client library would normalise `.`/`%2E` segments away before sending.
@pytest.mark.parametrize("doc_id", [b"%2E", b"%2E%2E", b"%252E%252E", b".", b"..", b"%2e%2e", b"%252E"])
@pytest.mark.parametrize("method", [b"GET", b"POST", b"PATCH", b"DELETE"])
async def test_dot_ids_never_reach_couchdb_root(client, tenant, doc_id, method):
    account, headers = tenant
    data = (
        b""
        if method in (b"GET", b"DELETE")
        else json.dumps({"data": {"name": "x", "gateways": [{"server": "s.example"}]}}).encode()
    )
    request = (
        method
        + b" /v2/accounts/"
        + account["_id"].encode()
        + b"/resources/"
        + doc_id
        + b" HTTP/1.1\r\nHost: t\r\nX-Auth-Token: "
        + headers["X-Auth-Token"].encode()
        + b"\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(data)).encode()
        + b"\r\nConnection: close\r\n\r\n"
        + data
    )
    status, payload = await raw_request(client, request)
    assert status == 404, payload[:300]
    body = strict_json(payload.decode())
    assert body["status"] == "error" and body["message"] == "bad_identifier"
    assert "couchdb" not in payload.decode().lower() and "db_name" not in payload.decode()


@pytest.mark.parametrize("resource_id", [".", ".."])
async def test_job_with_dot_resource_id_is_a_400(client, tenant, resource_id):
    account, headers = tenant
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources/jobs",
        headers=headers,
        json={"data": {"resource_id": resource_id, "numbers": ["+15550001111"]}},
    )
    body = await envelope(resp, 400)
    assert "resource_id" in body["data"]


@pytest.mark.parametrize(
    "query",
    [
        "created_from=1&created_to=2",
        "created_to=99999999999999",
        "created_from=99999999999998&created_to=99999999999999",
    ],
)
async def test_jobs_listing_dates_out_of_range_are_a_400(client, tenant, query):
    account, headers = tenant
    resp = await client.get(f"/v2/accounts/{account['_id']}/resources/jobs?{query}", headers=headers)
    body = await envelope(resp, 400)
    assert "date_range" in json.dumps(body["data"])


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND"])
async def test_unknown_methods_get_a_kazoo_envelope(client, method):
    resp = await client.request(method, "/v2/resources")
    body = await envelope(resp, 501)
    assert body["message"] == "not_implemented"
