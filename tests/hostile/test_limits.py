"""Limits: numbers per job, CouchDB 3's max_document_size, token buckets on the
login endpoints, and /health when CouchDB stops answering."""

from __future__ import annotations

import os
import signal
import time

import pytest
from aiohttp.test_utils import TestClient, TestServer

from kazoo_crossbar.app import create_app
from kazoo_crossbar.config import Settings
from kazoo_crossbar.storage.couch import CouchClient, CouchError

from ..conftest import EmbeddedCouch
from ..kazoo import numbers_block


async def test_job_over_job_max_numbers_is_a_400_and_nothing_is_stored(client, couch, kazoo, tenant):
    account, headers = tenant
    url = f"/v2/accounts/{account['_id']}/resources/jobs"
    async with kazoo.system_config("crossbar.resources", job_max_numbers=5):
        resp = await client.put(url, headers=headers, json={"data": {"resource_id": "x", "numbers": numbers_block(6)}})
        body = await resp.json()
    assert resp.status == 400, body
    assert body["data"] == {"numbers": {"maxItems": {"message": "The list is more than 5 items", "target": 5}}}
    listing = await client.get(url, headers=headers)
    assert (await listing.json())["data"] == []


async def test_default_job_max_numbers_is_10000(client, tenant):
    account, headers = tenant
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources/jobs",
        headers=headers,
        json={"data": {"resource_id": "x", "numbers": ["+1555"] * 10_001}},
    )
    assert resp.status == 400
    assert (await resp.json())["data"]["numbers"]["maxItems"]["target"] == 10_000


@pytest.mark.parametrize("bulk", [False, True])
async def test_embedded_couchdb_refuses_documents_over_8000000_bytes(couch, bulk):
    db = f"hostile_max_doc_size_{int(bulk)}"
    await couch.request("PUT", f"/{db}") if not await _exists(couch, db) else None
    big = {"_id": f"big-{bulk}", "blob": "x" * 8_000_001}
    path, payload = (f"/{db}/_bulk_docs", {"docs": [{"_id": "small"}, big]}) if bulk else (f"/{db}/{big['_id']}", big)
    with pytest.raises(CouchError) as exc:
        await couch.request("POST" if bulk else "PUT", path, body=payload, db=db)
    assert exc.value.status == 413 and exc.value.error == "document_too_large" and exc.value.reason == big["_id"]
    rows = (await couch.request("GET", f"/{db}/_all_docs"))["rows"]
    assert rows == []  # nothing of the request was written
    await couch.request("PUT", f"/{db}/fits", body={"blob": "x" * 7_900_000})


async def _exists(couch: CouchClient, db: str) -> bool:
    try:
        await couch.request("GET", f"/{db}")
        return True
    except CouchError:
        return False


RL_NODE = "kazoo_crossbar_ratelimit@localhost"


async def test_login_endpoints_are_rate_limited_per_client(couchdb_url, couch, master):
    """A separate app instance (its own node name, so its own token_buckets section) keeps the
    shared test server's logins unaffected."""
    doc = await couch.get_doc("system_config", "token_buckets")
    doc[RL_NODE] = {"crossbar": {"max_bucket_tokens": 5, "tokens_fill_rate": 0}}
    await couch.save_doc("system_config", doc)
    try:
        app = create_app(Settings(couchdb_url=couchdb_url, node_name=RL_NODE), background=False)
        async with TestClient(TestServer(app)) as rl:
            statuses = []
            for _ in range(5):
                statuses.append((await rl.put("/v2/api_auth", json={"data": {"api_key": "0" * 64}})).status)
            assert statuses == [404] * 5  # wrong keys, answered while tokens last
            for path, data in (
                ("/v2/api_auth", {"api_key": master["api_key"]}),
                ("/v2/user_auth", {"credentials": "0" * 32, "account_name": "x"}),
            ):
                resp = await rl.put(path, json={"data": data})
                body = await resp.json()
                assert resp.status == 429, body
                assert body["error"] == "429" and body["message"] == "too_many_requests" and body["status"] == "error"
    finally:
        doc = await couch.get_doc("system_config", "token_buckets")
        doc.pop(RL_NODE, None)
        await couch.save_doc("system_config", doc)


async def test_health_answers_while_couchdb_is_stopped(tmp_path):
    server = EmbeddedCouch().start()
    try:
        app = create_app(
            Settings(couchdb_url=server.url, node_name="kazoo_crossbar_health@localhost"), background=False
        )
        async with TestClient(TestServer(app)) as hc:
            assert (await hc.get("/health")).status == 200
            os.kill(server.proc.pid, signal.SIGSTOP)
            try:
                started = time.monotonic()
                resp = await hc.get("/health")
                elapsed = time.monotonic() - started
            finally:
                os.kill(server.proc.pid, signal.SIGCONT)
            assert resp.status == 503 and (await resp.json())["couchdb"] == "down"
            assert elapsed < 10, elapsed  # 1.5 s by design; it was 31 s (generous for a busy machine)
    finally:
        server.stop()
