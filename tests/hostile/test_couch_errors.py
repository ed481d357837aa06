"""CouchDB's error answers as the API's (issue 18's outage, issue 21.4): during a cluster outage
every read and write is a Kazoo 503 datastore envelope (never a 404 for a job that exists, never
a 500); a query CouchDB refuses is a 400, a document over its max_document_size a 413; a
page_size or start_key CouchDB 3 would refuse is a 400 before any query is sent.

The service runs against tests/http_faults.py in front of the session's CouchDB (embedded or
CouchDB 3), which answers the chosen requests with CouchDB 3's own error bodies
(chttpd:error_info/1)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from kazoo_crossbar.app import create_app
from kazoo_crossbar.config import Settings
from kazoo_crossbar.http import errors
from kazoo_crossbar.http.listing import MAX_PAGE_SIZE
from kazoo_crossbar.http.startkey import encode
from kazoo_crossbar.storage.couch import CouchClient, CouchError, NotFound

from ..conftest import NODE
from ..http_faults import NODEDOWN, FaultyCouch, Match
from ..kazoo import numbers_block, stale_job

NODEDOWN_412 = (412, b'{"error":"nodedown","reason":"progress not possible"}')
QUORUM = (500, b'{"error":"write_quorum_not_met","reason":"no quorum"}')
TIMEOUT = (500, b'{"error":"timeout","reason":"The request could not be processed in a reasonable amount of time."}')
ALL_WORKERS_DIED = (503, b'{"error":"service unavailable","reason":"all_workers_died"}')
ERROR_UNDER_200 = (200, b'{"error":"nodedown","reason":"progress not possible"}')  # was KeyError 'rows'
FOREIGN_404 = (404, b"<html><body>404 Not Found</body></html>")  # from a proxy in front of CouchDB
LIMIT = (400, b'{"error":"query_parse_error","reason":"Limit is too large, must not exceed 576460752303423487"}')
TOO_LARGE = (413, b'{"error":"document_too_large","reason":"doc"}')
OUTAGE_ANSWERS = {
    "nodedown 500": NODEDOWN,
    "nodedown 412": NODEDOWN_412,
    "timeout 500": TIMEOUT,
    "all workers died 503": ALL_WORKERS_DIED,
    "error body under 200": ERROR_UNDER_200,
    "404 not from CouchDB": FOREIGN_404,
}
ALWAYS = 1_000_000  # a fault's `times`: until the test clears it


def request(method: str, path: str) -> Match:
    """Requests of `method` ("*": any) whose decoded path matches the regular expression."""
    pattern = re.compile(path)
    return lambda m, p, _body: method in ("*", m) and pattern.search(p) is not None


@pytest.fixture(scope="module")
async def faulty(couchdb_url: str) -> AsyncIterator[FaultyCouch]:
    proxy = await FaultyCouch(couchdb_url).start()
    yield proxy
    await proxy.stop()


@pytest.fixture(scope="module")
async def api(faulty: FaultyCouch, master: dict) -> AsyncIterator[TestClient]:
    app = create_app(Settings(couchdb_url=faulty.url, node_name=NODE), background=False)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
async def running_job(kazoo, couch, client):
    """An account, its resource and a running job of a Kazoo node."""
    account = await kazoo.account(name="Outage Reader")
    headers = {"X-Auth-Token": await kazoo.token_for(account)}
    base = f"/v2/accounts/{account['_id']}/resources"
    resp = await client.put(base, json={"data": {"name": "Outage BYOC", "gateways": []}}, headers=headers)
    rid = (await resp.json())["data"]["id"]
    _db, job_id = await stale_job(couch, account, rid, numbers_block(3), status="running", age_s=0, pvt_node="n@x")
    return base, headers, rid, job_id


@pytest.fixture(autouse=True)
def no_faults_left(faulty: FaultyCouch):
    yield
    faulty.faults.clear()


def assert_datastore_503(status: int, body: dict) -> None:
    assert status == 503, body
    assert body["status"] == "error" and body["error"] == "503" and body["message"].startswith("datastore"), body


@pytest.mark.parametrize("answer", OUTAGE_ANSWERS.values(), ids=OUTAGE_ANSWERS.keys())
async def test_a_job_read_during_an_outage_is_a_503_never_a_404(api, faulty, running_job, answer):
    base, headers, _rid, job_id = running_job
    url = f"{base}/jobs/{job_id}"
    rule = faulty.fail(request("GET", job_id + "$"), answer, times=ALWAYS)
    resp = await api.get(url, headers=headers)
    assert_datastore_503(resp.status, await resp.json())
    assert rule.hits == 1
    faulty.faults.clear()
    resp = await api.get(url, headers=headers)
    assert resp.status == 200 and (await resp.json())["data"]["id"] == job_id


@pytest.mark.parametrize("answer", OUTAGE_ANSWERS.values(), ids=OUTAGE_ANSWERS.keys())
async def test_every_reader_of_rows_raises_a_couch_error_not_a_key_error(faulty, answer):
    # `_all_docs` and views answered with an error body (was KeyError 'rows', a 500 traceback)
    faulty.fail(request("*", "/_all_docs$|/_view/"), answer, times=ALWAYS)
    couch = CouchClient(faulty.url)
    try:
        for read in (
            lambda: couch.all_docs("accounts"),
            lambda: couch.all_docs("accounts", keys=["x"]),
            lambda: couch.view("accounts", "accounts", "listing_by_id"),
        ):
            with pytest.raises(CouchError) as raised:
                await read()
            assert not isinstance(raised.value, NotFound) and errors.from_couch(raised.value).code == 503
    finally:
        await couch.close()


@pytest.mark.parametrize("answer", OUTAGE_ANSWERS.values(), ids=OUTAGE_ANSWERS.keys())
@pytest.mark.parametrize("view", ["jobs_listing", "crossbar_listing"])
async def test_listings_during_an_outage_are_503s(api, faulty, running_job, answer, view):
    base, headers, _rid, _job_id = running_job
    faulty.fail(request("GET", f"/_view/{view}$"), answer, times=ALWAYS)
    resp = await api.get(base + ("/jobs" if view == "jobs_listing" else ""), headers=headers)
    assert_datastore_503(resp.status, await resp.json())


@pytest.mark.parametrize("answer", OUTAGE_ANSWERS.values(), ids=OUTAGE_ANSWERS.keys())
async def test_a_resource_read_and_update_during_an_outage_are_503s(api, faulty, running_job, answer):
    base, headers, rid, _job_id = running_job
    faulty.fail(request("*", rid + "$"), answer, times=ALWAYS)
    resp = await api.get(f"{base}/{rid}", headers=headers)
    assert_datastore_503(resp.status, await resp.json())
    resp = await api.post(f"{base}/{rid}", json={"data": {"name": "Renamed", "gateways": []}}, headers=headers)
    assert_datastore_503(resp.status, await resp.json())


@pytest.mark.parametrize("answer", [NODEDOWN, NODEDOWN_412, QUORUM])
async def test_a_job_created_during_an_outage_is_a_503(api, faulty, running_job, answer):
    base, headers, rid, _job_id = running_job
    # the job document in its month database
    faulty.fail(request("PUT", r"-\d{6}/\d{6}-[0-9a-f]{16}$"), answer, times=ALWAYS)
    resp = await api.put(
        f"{base}/jobs", json={"data": {"numbers": numbers_block(1), "resource_id": rid}}, headers=headers
    )
    assert_datastore_503(resp.status, await resp.json())


async def test_a_document_over_max_document_size_is_a_413(api, faulty, running_job):
    base, headers, rid, _job_id = running_job
    faulty.fail(request("PUT", rid + "$"), TOO_LARGE, times=ALWAYS)
    resp = await api.post(f"{base}/{rid}", json={"data": {"name": "Too big", "gateways": []}}, headers=headers)
    body = await resp.json()
    assert resp.status == 413 and body["error"] == "413" and body["message"] == "document_too_large", body


async def test_a_query_couchdb_refuses_is_a_400(api, faulty, running_job):
    base, headers, _rid, _job_id = running_job
    faulty.fail(request("GET", "/_view/crossbar_listing$"), LIMIT, times=ALWAYS)
    resp = await api.get(base, headers=headers)
    body = await resp.json()
    assert resp.status == 400 and body["error"] == "400" and body["message"] == "datastore_query_invalid", body


@pytest.mark.parametrize(
    "query",
    [
        f"page_size={MAX_PAGE_SIZE + 1}",
        "page_size=99999999999999999999999",
        # the jobs listing runs from `created_to` down to `created_from`: a key past its end
        "start_key=" + encode(10),
        # ascending=true, from `created_from` up to `created_to`
        "ascending=true&start_key=" + encode(10**15),
        "ascending=true&start_key=" + encode("a string sorts after every timestamp"),
    ],
)
async def test_a_page_couchdb_3_would_refuse_is_a_400_before_any_query(api, faulty, running_job, query):
    base, headers, _rid, _job_id = running_job
    rule = faulty.fail(request("GET", "/_view/"), NODEDOWN, times=ALWAYS)
    resp = await api.get(f"{base}/jobs?{query}", headers=headers)
    body = await resp.json()
    assert resp.status == 400 and body["message"] == "validation error", body
    assert rule.hits == 0


@pytest.mark.parametrize("suffix", ["", "/jobs"])
async def test_the_largest_page_size_couchdb_3_takes_is_a_page(client, running_job, suffix):
    # on the engine under test (CouchDB 3 takes a limit of 2^59 - 1 and no more: page_size + 1)
    base, headers, _rid, _job_id = running_job
    resp = await client.get(f"{base}{suffix}?page_size={MAX_PAGE_SIZE}", headers=headers)
    assert resp.status == 200, await resp.text()
    resp = await client.get(f"{base}{suffix}?page_size={MAX_PAGE_SIZE + 1}", headers=headers)
    assert resp.status == 400, await resp.text()
