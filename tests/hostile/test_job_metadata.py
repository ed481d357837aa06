"""Hostile `ui_metadata` on bulk jobs (stored with the job): huge, deep, invalid
Unicode or not an object, a job request is a Kazoo-style 400 with nothing stored, or it is
stored, runs to completion, and the account's listings keep working."""

from __future__ import annotations

import json
from datetime import UTC

import pytest

from kazoo_crossbar.storage import names

from ..kazoo import numbers_block, wait_for_job
from .wire import envelope


@pytest.fixture(scope="module")
async def tenant(kazoo, client):
    account = await kazoo.account()
    headers = {"X-Auth-Token": await kazoo.token_for(account)}
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources",
        json={"data": {"name": "Meta carrier", "gateways": []}},
        headers=headers,
    )
    return account, headers, (await resp.json())["data"]["id"]


def jobs_url(account) -> str:
    return f"/v2/accounts/{account['_id']}/resources/jobs"


async def listings_work(client, account, headers) -> list:
    resp = await client.get(jobs_url(account), headers=headers)
    body = await resp.json()
    assert resp.status == 200, body
    assert (await client.get(f"/v2/accounts/{account['_id']}/resources", headers=headers)).status == 200
    return body["data"]


async def job_count(couch, account) -> int:
    from datetime import datetime

    now = datetime.now(UTC)
    db = names.modb(account["_id"], now.year, now.month)
    try:
        rows = (await couch.request("GET", f"/{names.url_path(db)}/_all_docs"))["rows"]
    except Exception:  # no month database yet: no job
        return 0
    return len([r for r in rows if not r["id"].startswith("_design/")])


def nested(depth: int) -> object:
    value: object = {"leaf": True}
    for i in range(depth - 1):
        value = {f"k{i}": value} if i % 2 else [value]
    return value


@pytest.mark.parametrize(
    "ui_metadata",
    [
        "a string",
        42,
        1.5,
        True,
        None,
        [1, "two", {"three": 3}],
        {},
        {"origin": "monster", "nested": nested(40)},
        {"_id": "x", "_rev": "1-x", "pvt_account_id": "0" * 32, "id": "y"},
        {f"k{i}": i for i in range(5000)},
    ],
)
async def test_ui_metadata_of_any_json_shape_is_stored_and_listings_work(client, tenant, ui_metadata):
    account, headers, rid = tenant
    resp = await client.put(
        jobs_url(account),
        headers=headers,
        json={"data": {"resource_id": rid, "numbers": numbers_block(1), "ui_metadata": ui_metadata}},
    )
    body = await resp.json()
    assert resp.status == 201, body
    job_id = body["data"]["id"]
    done = await wait_for_job(client, f"{jobs_url(account)}/{job_id}", headers)
    assert done.get("ui_metadata") == ui_metadata and done["id"] == job_id
    rows = await listings_work(client, account, headers)
    assert job_id in [row["id"] for row in rows]


@pytest.mark.parametrize(
    "raw",
    [
        b'"\\ud800"',
        b'{"\\udc00":1}',
        b'{"a":["ok","\\ud83d"]}',
        b'"\xed\xa0\x80"',
        b'{"k":"\xff"}',
        b"[" * 70 + b"]" * 70,
        b'{"n":' + b"9" * 5000 + b"}",
        b'{"n":NaN}',
        b'{"n":1e999}',
    ],
)
async def test_ui_metadata_that_is_not_storable_json_is_a_400(client, couch, tenant, raw):
    account, headers, rid = tenant
    before = await job_count(couch, account)
    payload = b'{"data":{"resource_id":"' + rid.encode() + b'","numbers":["+15550001234"],"ui_metadata":' + raw + b"}}"
    resp = await client.put(jobs_url(account), data=payload, headers={**headers, "Content-Type": "application/json"})
    body = await envelope(resp, 400)
    assert "json" in body["data"] and len(await resp.read()) < 2000
    assert await job_count(couch, account) == before
    await listings_work(client, account, headers)


async def test_huge_ui_metadata_is_a_400_and_not_echoed(client, couch, tenant):
    account, headers, rid = tenant
    before = await job_count(couch, account)
    resp = await client.put(
        jobs_url(account),
        headers=headers,
        json={"data": {"resource_id": rid, "numbers": numbers_block(1), "ui_metadata": {"blob": "x" * 7_900_000}}},
    )
    body = await envelope(resp, 400)
    assert "ui_metadata" in body["data"] and len(await resp.read()) < 2000, json.dumps(body)[:300]
    assert await job_count(couch, account) == before
    await listings_work(client, account, headers)


async def test_ui_metadata_at_the_limit_is_stored(client, tenant):
    account, headers, rid = tenant
    blob = "y" * (64 * 1024 - len('{"blob":""}'))
    resp = await client.put(
        jobs_url(account),
        headers=headers,
        json={"data": {"resource_id": rid, "numbers": numbers_block(1), "ui_metadata": {"blob": blob}}},
    )
    body = await resp.json()
    assert resp.status == 201, str(body)[:300]
    done = await wait_for_job(client, f"{jobs_url(account)}/{body['data']['id']}", headers)
    assert done["ui_metadata"] == {"blob": blob}


async def test_private_fields_in_a_job_request_are_dropped(client, couch, kazoo, tenant):
    account, headers, rid = tenant
    other = await kazoo.account()
    resp = await client.put(
        jobs_url(account),
        headers=headers,
        json={
            "data": {
                "resource_id": rid,
                "numbers": numbers_block(1),
                "pvt_account_id": other["_id"],
                "pvt_account_db": names.encode(names.account_db(other["_id"])),
                "_id": "201901-0000000000000000",
                "pvt_type": "resource",
                "pvt_status": "complete",
            }
        },
    )
    body = await resp.json()
    assert resp.status == 201, body
    job_id = body["data"]["id"]
    assert job_id != "201901-0000000000000000"
    done = await wait_for_job(client, f"{jobs_url(account)}/{job_id}", headers)
    assert done["status"] == "complete"
    db = names.modb(account["_id"], int(job_id[:4]), int(job_id[4:6]))
    stored = await couch.get_doc(db, job_id)
    assert stored["pvt_account_id"] == account["_id"] and stored["pvt_type"] == "resource_job"
    assert await job_count(couch, other) == 0


async def test_long_number_strings_cannot_make_a_job_that_never_checkpoints(client, tenant):
    """5,000 entries of 1,500 characters: 7.5 MB of request; every one would be an error result,
    doubling the job document past CouchDB's 8,000,000 bytes, so no checkpoint could be saved and
    the job stayed `running` (it was accepted before: 201, then 413 document_too_large)."""
    account, headers, rid = tenant
    numbers = [f"+1{i:010d}" + "9" * 1488 for i in range(5000)]  # 1,500 characters each
    resp = await client.put(jobs_url(account), headers=headers, json={"data": {"resource_id": rid, "numbers": numbers}})
    body = await resp.json()
    assert resp.status == 400, json.dumps(body)[:300]
    assert body["data"]["numbers.0"] == {
        "maxLength": {"message": "String must not be more than 64 characters", "target": 64}
    }
    assert all(key.startswith("numbers.") for key in body["data"]) and "9" * 100 not in json.dumps(body)
    await listings_work(client, account, headers)
