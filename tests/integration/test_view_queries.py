"""View queries answer as CouchDB 3 answers them: key ranges either way, inclusive or not, key
and keys, skip and limit, grouped reduces, and an index that follows the database (updated and
deleted documents, a changed design document, a database created again). The embedded server
keeps its indexes in memory (couchdb_server/view_index.js) and rebuilds them after a restart.
Each test runs on both engines unless marked (tests/engine.py): CouchDB 3 proves the expected
answers."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import aiohttp
import pytest

from ..conftest import EmbeddedCouch
from ..engine import embedded_only

DDOC = {
    "_id": "_design/q",
    "language": "javascript",
    "views": {
        "by_k": {"map": "function (doc) { if (doc.k) emit(doc.k, doc.v); }", "reduce": "_sum"},
        # one key twice per document: rows of one key and document come in value order
        "twice": {"map": "function (doc) { if (doc.k) { emit(doc.k[0], 2); emit(doc.k[0], 1); } }"},
    },
}
DOCS = [
    {"_id": "a1", "k": ["a", 1], "v": 1},
    {"_id": "a2", "k": ["a", 2], "v": 2},
    {"_id": "b1", "k": ["b", 1], "v": 4},
    {"_id": "b3", "k": ["b", 3], "v": 8},
    {"_id": "c0", "k": ["c", 0], "v": 16},
    {"_id": "no-key", "v": 32},
]


@pytest.fixture
async def db(couchdb_url: str):
    name = f"test_queries_{uuid.uuid4().hex[:12]}"
    async with aiohttp.ClientSession(base_url=couchdb_url) as http:
        assert (await http.put(f"/{name}")).status in (201, 202)
        assert (await http.post(f"/{name}/_bulk_docs", json={"docs": [DDOC, *DOCS]})).status == 201
        yield http, name
        await http.delete(f"/{name}")


async def query(http: aiohttp.ClientSession, db: str, view: str = "by_k", **params) -> dict:
    encoded = {k: json.dumps(v) for k, v in params.items()}
    resp = await http.get(f"/{db}/_design/q/_view/{view}", params=encoded)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def ids(http: aiohttp.ClientSession, db: str, **params) -> list[str]:
    return [r["id"] for r in (await query(http, db, reduce=False, **params))["rows"]]


MAP_CASES = [
    ({}, ["a1", "a2", "b1", "b3", "c0"]),
    ({"startkey": ["a", 2], "endkey": ["b", 3]}, ["a2", "b1", "b3"]),
    ({"startkey": ["a", 2], "endkey": ["b", 3], "inclusive_end": False}, ["a2", "b1"]),
    ({"descending": True, "startkey": ["b", 3], "endkey": ["a", 2]}, ["b3", "b1", "a2"]),
    ({"descending": True, "startkey": ["b", 3], "endkey": ["a", 2], "inclusive_end": False}, ["b3", "b1"]),
    ({"startkey": ["b"], "endkey": ["b", {}]}, ["b1", "b3"]),
    ({"key": ["b", 1]}, ["b1"]),
    ({"key": ["b"]}, []),
    ({"skip": 1, "limit": 2}, ["a2", "b1"]),
    ({"descending": True, "limit": 2}, ["c0", "b3"]),
    ({"descending": True, "skip": 4}, ["a1"]),
    ({"limit": 0}, []),
    ({"startkey": ["z"]}, []),
]


@pytest.mark.parametrize("params,expected", MAP_CASES)
async def test_map_rows_in_range_and_order(db, params, expected):
    http, name = db
    assert await ids(http, name, **params) == expected


async def test_map_rows_name_their_key_value_and_total(db):
    http, name = db
    answer = await query(http, name, reduce=False, key=["b", 3])
    assert answer["rows"] == [{"id": "b3", "key": ["b", 3], "value": 8}]
    assert answer["total_rows"] == 5


async def test_keys_answer_in_the_order_asked(db):
    http, name = db
    resp = await http.post(
        f"/{name}/_design/q/_view/by_k", params={"reduce": "false"}, json={"keys": [["b", 3], ["zz"], ["a", 1]]}
    )
    assert resp.status == 200
    assert [r["id"] for r in (await resp.json())["rows"]] == ["b3", "a1"]


async def test_rows_of_one_key_and_document_come_in_value_order(db):
    http, name = db
    rows = (await query(http, name, "twice", key="b"))["rows"]
    assert [(r["id"], r["value"]) for r in rows] == [("b1", 1), ("b1", 2), ("b3", 1), ("b3", 2)]


REDUCE_CASES = [
    ({}, [(None, 31)]),
    ({"group_level": 1}, [(["a"], 3), (["b"], 12), (["c"], 16)]),
    ({"group": True, "startkey": ["b"]}, [(["b", 1], 4), (["b", 3], 8), (["c", 0], 16)]),
    ({"group_level": 1, "descending": True, "limit": 2}, [(["c"], 16), (["b"], 12)]),
    ({"startkey": ["a", 2], "endkey": ["b", 1]}, [(None, 6)]),
]


@pytest.mark.parametrize("params,expected", REDUCE_CASES)
async def test_reduced_rows(db, params, expected):
    http, name = db
    rows = (await query(http, name, **params))["rows"]
    assert [(r["key"], r["value"]) for r in rows] == expected


async def test_a_reduce_that_throws_answers_null_for_its_group(db):
    """CouchDB 3 answers the group whose reduce threw with a null value, and the other groups."""
    http, name = db
    ddoc = {
        "_id": "_design/r",
        "views": {
            "throws": {
                "map": "function (doc) { if (doc.k) emit(doc.k[0], doc.v); }",
                "reduce": "function (keys, values) { if (values.length > 1) throw new Error('no'); return values[0]; }",
            }
        },
    }
    assert (await http.put(f"/{name}/_design/r", json=ddoc)).status in (201, 202)
    resp = await http.get(f"/{name}/_design/r/_view/throws", params={"group": "true"})
    assert resp.status == 200
    assert [(r["key"], r["value"]) for r in (await resp.json())["rows"]] == [("a", None), ("b", None), ("c", 16)]


async def test_the_index_follows_updates_and_deletions(db):
    http, name = db
    assert len(await ids(http, name)) == 5
    a1 = await (await http.get(f"/{name}/a1")).json()
    b1 = await (await http.get(f"/{name}/b1")).json()
    assert (await http.put(f"/{name}/a1", json={**a1, "k": ["d", 9]})).status in (201, 202)
    assert (await http.delete(f"/{name}/b1", params={"rev": b1["_rev"]})).status in (200, 202)
    assert await ids(http, name) == ["a2", "b3", "c0", "a1"]
    assert [(r["key"], r["value"]) for r in (await query(http, name, group_level=1))["rows"]] == [
        (["a"], 2),
        (["b"], 8),
        (["c"], 16),
        (["d"], 1),
    ]


async def test_an_index_catches_up_over_many_pages_of_changes(db):
    """Thousands of changes, some of them made stale by later writes to the same documents:
    the index is read page by page (several pages at once on the embedded server) and must end
    as the database is, whether it is built from nothing or brought up from where it was."""
    http, name = db

    async def bulk(docs: list[dict]) -> list[dict]:
        resp = await http.post(f"/{name}/_bulk_docs", json={"docs": docs})
        assert resp.status == 201
        return await resp.json()

    def doc(i: int, prefix: str = "n") -> dict:
        return {"_id": f"d{i:05d}", "k": [prefix, i], "v": i}

    revs: dict[str, str] = {}
    expected: dict[str, tuple[list, int]] = {d["_id"]: (d["k"], d["v"]) for d in DOCS if "k" in d}

    async def write(docs: list[dict]) -> None:
        for start in range(0, len(docs), 500):
            for result in await bulk(docs[start : start + 500]):
                assert result.get("ok"), result
                revs[result["id"]] = result["rev"]
        for d in docs:
            if d.get("_deleted"):
                expected.pop(d["_id"], None)
            else:
                expected[d["_id"]] = (d["k"], d["v"])

    async def changed(numbers: range, step: int, prefix: str) -> None:
        # later writes to documents already in the feed: their earlier changes go stale (a
        # deleted one is written again without a revision, as CouchDB 3 wants it)
        await write([{**doc(i, prefix), **live_rev(f"d{i:05d}")} for i in numbers[::step]])

    def live_rev(doc_id: str) -> dict:
        return {"_rev": revs[doc_id]} if doc_id in expected else {}

    async def deleted(numbers: range, step: int) -> None:
        await write([{"_id": f"d{i:05d}", "_rev": revs[f"d{i:05d}"], "_deleted": True} for i in numbers[::step]])

    async def answers_as_stored() -> None:
        rows = (await query(http, name, reduce=False))["rows"]
        assert [r["id"] for r in rows] == sorted(expected, key=lambda i: (expected[i][0], i))
        assert [r["key"] for r in rows] == [expected[r["id"]][0] for r in rows]
        assert (await query(http, name))["rows"][0]["value"] == sum(v for _, v in expected.values())

    first, later = range(1_600), range(1_600, 2_800)
    await write([doc(i) for i in first])
    await changed(first, 7, "u")
    await deleted(first, 11)
    await answers_as_stored()  # built from nothing
    await write([doc(i) for i in later])
    await changed(range(2_800), 5, "w")
    await deleted(later, 13)
    await answers_as_stored()  # brought up from where it was


async def test_a_changed_design_document_is_indexed_again(db):
    http, name = db
    assert len(await ids(http, name)) == 5
    ddoc = await (await http.get(f"/{name}/_design/q")).json()
    ddoc["views"]["by_k"] = {"map": "function (doc) { if (doc.k) emit(doc.k[1], doc.v); }", "reduce": "_sum"}
    assert (await http.put(f"/{name}/_design/q", json=ddoc)).status in (201, 202)
    assert [r["key"] for r in (await query(http, name, reduce=False))["rows"]] == [0, 1, 1, 2, 3]


async def test_a_database_created_again_has_none_of_the_old_rows(couchdb_url: str):
    name = f"test_queries_{uuid.uuid4().hex[:12]}"
    async with aiohttp.ClientSession(base_url=couchdb_url) as http:
        try:
            for docs, expected in ((DOCS, 5), (DOCS[:1], 1)):
                assert (await http.put(f"/{name}")).status in (201, 202)
                assert (await http.post(f"/{name}/_bulk_docs", json={"docs": [DDOC, *docs]})).status == 201
                assert len(await ids(http, name)) == expected
                assert (await http.delete(f"/{name}")).status in (200, 202)
        finally:
            await http.delete(f"/{name}")


@embedded_only("restarts the embedded server on its data directory")
async def test_views_are_rebuilt_after_a_restart(tmp_path: Path):
    server = EmbeddedCouch(data_dir=tmp_path / "couch").start()
    try:
        async with aiohttp.ClientSession(base_url=server.url) as http:
            assert (await http.put("/restarted")).status in (201, 202)
            assert (await http.post("/restarted/_bulk_docs", json={"docs": [DDOC, *DOCS]})).status == 201
            before = await query(http, "restarted", group_level=1)
            assert len(await ids(http, "restarted")) == 5
        server.stop()
        server.start()
        async with aiohttp.ClientSession(base_url=server.url) as http:
            assert await query(http, "restarted", group_level=1) == before
            assert (await http.put("/restarted/e5", json={"k": ["e", 5], "v": 64})).status in (201, 202)
            assert await ids(http, "restarted") == ["a1", "a2", "b1", "b3", "c0", "e5"]
    finally:
        server.stop()
