"""CouchDB's view key order (couch_ejson_compare), as far as it can be known without ICU.

null < false < true < numbers < strings < arrays < objects; numbers by value, arrays and
objects member by member, a prefix first. Two different strings are ordered by ICU's
collation in CouchDB, which this module does not imitate: their order is unknown (None), and
so is the order of anything that depends on it. Used to tell, before a query is sent, that
CouchDB would refuse a key range (query_parse_error "No rows can match your key range").
`sort_key` is the total order storage/recent.py merges rows by: the same ranks, strings by
code point where CouchDB uses ICU (exact for Kazoo's hex ids).
"""

from __future__ import annotations

from typing import Any

# the type ranks of couch_ejson_compare
_NULL, _FALSE, _TRUE, _NUMBER, _STRING, _ARRAY, _OBJECT = range(7)


def _rank(value: Any) -> int:
    if value is None:
        return _NULL
    if value is False:
        return _FALSE
    if value is True:
        return _TRUE
    if isinstance(value, (int, float)):
        return _NUMBER
    if isinstance(value, str):
        return _STRING
    if isinstance(value, list):
        return _ARRAY
    return _OBJECT


def _sign(a: Any, b: Any) -> int:
    return (a > b) - (a < b)


def compare(a: Any, b: Any) -> int | None:
    """-1, 0 or 1 as CouchDB orders the keys a and b; None when only ICU could tell."""
    ra, rb = _rank(a), _rank(b)
    if ra != rb:
        return _sign(ra, rb)
    if ra == _NUMBER:
        return _sign(a, b)
    if ra == _STRING:
        return 0 if a == b else None
    if ra == _ARRAY:
        return _members(a, b)
    if ra == _OBJECT:
        pairs_a = [x for kv in a.items() for x in kv]
        pairs_b = [x for kv in b.items() for x in kv]
        return _members(pairs_a, pairs_b)
    return 0


def _members(a: list, b: list) -> int | None:
    for x, y in zip(a, b, strict=False):
        order = compare(x, y)
        if order != 0:
            return order
    return _sign(len(a), len(b))


def sort_key(value: Any) -> tuple:
    """A sort key in CouchDB's order of JSON types; strings by code point, not by ICU."""
    rank = _rank(value)
    if rank == _ARRAY:
        return (rank, tuple(sort_key(v) for v in value))
    if rank == _OBJECT:
        return (rank, tuple((sort_key(k), sort_key(v)) for k, v in value.items()))
    if rank in (_NUMBER, _STRING):
        return (rank, value)
    return (rank,)


def empty_range(start: Any, end: Any, *, descending: bool) -> bool:
    """True when CouchDB would refuse the range: start after end (before it, descending)."""
    order = compare(start, end)
    return order == (-1 if descending else 1)
