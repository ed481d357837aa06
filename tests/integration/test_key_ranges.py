"""The key order storage/collation.py knows is CouchDB's: every range it calls empty is one
CouchDB 3 refuses (query_parse_error), and its reverse is one CouchDB answers."""

from __future__ import annotations

import json

import pytest

from kazoo_crossbar.storage.collation import empty_range
from kazoo_crossbar.storage.couch import CouchError

# ascending in CouchDB's collation, one of each kind (as tests/unit/test_collation.py orders them)
ORDERED = [None, False, True, -1, 0, 0.5, 1, 10**15, "a", [], [None], [1], [1, 2], [2], {}, {"a": 1}, {"a": 1, "b": 2}]


# from `false` on: the client sends no key that is null (a null start or end is no bound)
@pytest.mark.parametrize("i", range(1, len(ORDERED) - 1))
async def test_a_range_collation_calls_empty_is_refused_by_couchdb(couch, master, i):
    low, high = ORDERED[i], ORDERED[i + 1]
    assert empty_range(high, low, descending=False) and not empty_range(low, high, descending=False)
    path = "/accounts/_design/accounts/_view/listing_by_id"
    forward = await couch.request("GET", path, params={"startkey": low, "endkey": high, "limit": 0})
    assert forward["rows"] == []
    with pytest.raises(CouchError) as refused:
        await couch.request("GET", path, params={"startkey": high, "endkey": low, "limit": 0})
    assert refused.value.error == "query_parse_error", json.dumps([low, high])
