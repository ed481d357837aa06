"""Answers of the CouchDB under test where the embedded server (couchdb_server/server.js,
mapreduce.js) imitates Apache CouchDB 3: each test asserts what CouchDB 3.5 answers (status,
error and reason), so it passes on both engines. Run it against a real CouchDB 3 with
KAZOO_COUCHDB_URL=http://admin:admin@127.0.0.1:PORT."""

from __future__ import annotations

import json
import uuid

import aiohttp
import pytest

MAX_LIMIT = 576460752303423487  # couch_mrview's ?MAX_VIEW_LIMIT
TOO_LARGE = f"Limit is too large, must not exceed {MAX_LIMIT}"
RANGE = "No rows can match your key range, reverse your start_key and end_key or set descending="
SUM_ERROR = (
    "The _sum function requires that map values be numbers, arrays of numbers, or objects. Objects cannot be "
    "mixed with other data structures. Objects can be arbitrarily nested, provided that the values for all "
    "fields are themselves numbers, arrays of numbers, or objects."
)
MAX_DOCUMENT_SIZE = 8_000_000
DDOCS = [
    {"_id": "_design/t", "views": {"plain": {"map": "function (doc) { if (doc.g) emit(doc._id, 1); }"}}},
    {
        "_id": "_design/su",
        "views": {"sum": {"map": "function (doc) { if (doc.g) emit(doc.g, doc.n); }", "reduce": "_sum"}},
    },
]
DOCS = [{"_id": "a", "g": "x", "n": 1}, {"_id": "b", "g": "x", "n": None}, {"_id": "c", "g": "y", "n": 3}]


@pytest.fixture
async def db(couchdb_url: str):
    name = f"test_matches_{uuid.uuid4().hex[:12]}"
    async with aiohttp.ClientSession(base_url=couchdb_url) as http:
        assert (await http.put(f"/{name}")).status in (201, 202)
        assert (await http.post(f"/{name}/_bulk_docs", json={"docs": [*DDOCS, *DOCS]})).status == 201
        yield http, name
        await http.delete(f"/{name}")


async def answer(resp: aiohttp.ClientResponse) -> tuple[int, str, str]:
    body = await resp.json()
    return resp.status, body.get("error", ""), body.get("reason", "")


async def test_every_answer_is_json_whatever_the_accept_header(couchdb_url):
    async with aiohttp.ClientSession(base_url=couchdb_url) as http:
        resp = await http.get("/", headers={"Accept": "text/html"})
        assert resp.headers["Content-Type"] == "application/json"
        welcome = await resp.json()
    assert welcome["couchdb"] == "Welcome" and welcome["version"].startswith("3.")


@pytest.mark.parametrize("path", ["/_all_docs", "/_design/t/_view/plain"])
async def test_a_limit_over_couchdb_3s_maximum_is_a_query_parse_error(db, path):
    http, name = db
    for limit in ("99999999999999999999999", str(MAX_LIMIT + 1)):
        resp = await http.get(f"/{name}{path}", params={"limit": limit})
        assert await answer(resp) == (400, "query_parse_error", TOO_LARGE)
    resp = await http.post(f"/{name}{path}", json={"limit": 99999999999999999999999})
    assert await answer(resp) == (400, "query_parse_error", TOO_LARGE)
    resp = await http.get(f"/{name}{path}", params={"limit": str(MAX_LIMIT)})
    assert resp.status == 200 and len((await resp.json())["rows"]) == 3 + (2 if path == "/_all_docs" else 0)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"limit": "1.5"}, (400, "query_parse_error", 'Invalid value for integer: "1.5"')),
        ({"limit": "-1"}, (400, "query_parse_error", 'Invalid value for positive integer: "-1"')),
        ({"skip": "x"}, (400, "query_parse_error", 'Invalid value for integer: "x"')),
        ({"startkey": "abc"}, (400, "bad_request", "invalid UTF-8 JSON")),
        ({"endkey": "1e999"}, (400, "bad_request", "invalid UTF-8 JSON")),
        ({"key": "[1,"}, (400, "bad_request", "invalid UTF-8 JSON")),
    ],
)
@pytest.mark.parametrize("path", ["/_all_docs", "/_design/t/_view/plain"])
async def test_view_parameters_are_checked_as_couchdb_3_does(db, path, params, expected):
    http, name = db
    assert await answer(await http.get(f"/{name}{path}", params=params)) == expected


async def test_a_reversed_key_range_is_a_query_parse_error_on_a_view(db):
    http, name = db
    view = f"/{name}/_design/t/_view/plain"
    resp = await http.get(view, params={"startkey": '"c"', "endkey": '"a"'})
    assert await answer(resp) == (400, "query_parse_error", RANGE + "true")
    resp = await http.get(view, params={"startkey": '"a"', "endkey": '"c"', "descending": "true"})
    assert await answer(resp) == (400, "query_parse_error", RANGE + "false")
    resp = await http.get(view, params={"startkey": '"c"', "endkey": '"a"', "descending": "true"})
    assert resp.status == 200 and [r["id"] for r in (await resp.json())["rows"]] == ["c", "b", "a"]
    # _all_docs checks no range: an empty answer
    resp = await http.get(f"/{name}/_all_docs", params={"startkey": '"c"', "endkey": '"a"'})
    assert resp.status == 200 and (await resp.json())["rows"] == []


async def test_sum_over_a_non_number_is_an_error_row(db):
    http, name = db
    resp = await http.get(f"/{name}/_design/su/_view/sum", params={"group": "true"})
    assert resp.status == 200
    rows = {r["key"]: r["value"] for r in (await resp.json())["rows"]}
    assert rows == {"x": {"error": "builtin_reduce_error", "reason": SUM_ERROR, "caused_by": None}, "y": 3}


async def test_stats_over_null_is_invalid_value(db):
    http, name = db
    ddoc = {
        "views": {"stats": {"map": "function (doc) { if (doc._id === 'b') emit(doc._id, doc.n); }", "reduce": "_stats"}}
    }
    assert (await http.put(f"/{name}/_design/st", json=ddoc)).status in (201, 202)
    resp = await http.get(f"/{name}/_design/st/_view/stats")
    assert await answer(resp) == (500, "invalid_value", "non-numeric _stats input: null")


async def test_max_document_size_counts_the_body_without_its_id(db):
    http, name = db
    fits = "x" * (MAX_DOCUMENT_SIZE - len(json.dumps({"blob": ""}, separators=(",", ":"))))
    resp = await http.put(f"/{name}/just-fits", json={"_id": "just-fits", "blob": fits})
    assert resp.status in (201, 202)
    resp = await http.put(f"/{name}/one-over", json={"_id": "one-over", "blob": fits + "x"})
    assert await answer(resp) == (413, "document_too_large", "one-over")
    # the reason is the body's _id, read before the URL's: none, an empty reason
    for resp in (
        await http.put(f"/{name}/no-id", json={"blob": fits + "x"}),
        await http.post(f"/{name}", json={"blob": fits + "x"}),
    ):
        assert await answer(resp) == (413, "document_too_large", "")
    resp = await http.post(f"/{name}/_bulk_docs", json={"docs": [{"_id": "small"}, {"_id": "big", "blob": fits + "x"}]})
    assert await answer(resp) == (413, "document_too_large", "big")
    assert (await http.get(f"/{name}/small")).status == 404


async def test_put_stores_under_the_url_id_whatever_the_body_says(db):
    http, name = db
    resp = await http.put(f"/{name}/doc1", json={"_id": "other", "v": 1})
    assert resp.status in (201, 202) and (await resp.json())["id"] == "doc1"
    assert (await http.get(f"/{name}/other")).status == 404
    resp = await http.put(f"/{name}/plain", data=b'{"v": 4}', headers={"Content-Type": "text/plain"})
    assert resp.status in (201, 202)
    assert (await (await http.get(f"/{name}/plain")).json())["v"] == 4


@pytest.mark.parametrize("body", [b"[1]", b'"x"', b"null"])
async def test_a_document_must_be_an_object(db, body):
    http, name = db
    resp = await http.put(f"/{name}/d", data=body, headers={"Content-Type": "application/json"})
    assert await answer(resp) == (400, "bad_request", "Document must be a JSON object")


async def test_a_body_that_is_not_json_is_a_bad_request(db):
    http, name = db
    resp = await http.put(f"/{name}/d", data=b'{"v":', headers={"Content-Type": "application/json"})
    assert await answer(resp) == (400, "bad_request", "invalid UTF-8 JSON")


@pytest.mark.parametrize("path", ["/_bulk_docs", "/_all_docs", "/_design/t/_view/plain"])
async def test_a_json_post_without_its_content_type_is_415(db, path):
    http, name = db
    resp = await http.post(f"/{name}{path}", data=b'{"keys": ["a"]}', headers={"Content-Type": "text/plain"})
    assert await answer(resp) == (415, "bad_content_type", "Content-Type must be application/json")


@pytest.mark.parametrize("name", ["UpperCase", "_private", "1digit", "a~b"])
async def test_an_illegal_database_name_is_refused(couchdb_url, name):
    reason = (
        f"Name: '{name}'. Only lowercase characters (a-z), digits (0-9), and any of the characters _, $, (, ), +, "
        "-, and / are allowed. Must begin with a letter."
    )
    async with aiohttp.ClientSession(base_url=couchdb_url) as http:
        assert await answer(await http.put(f"/{name}")) == (400, "illegal_database_name", reason)
