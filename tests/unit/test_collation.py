"""CouchDB's view key order as far as it is known without ICU (storage/collation.py)."""

from __future__ import annotations

import pytest

from kazoo_crossbar.storage.collation import compare, empty_range, sort_key

# ascending in CouchDB's collation (couch_ejson_compare), one of each kind
ORDERED = [None, False, True, -1, 0, 0.5, 1, 10**15, "a", [], [None], [1], [1, 2], [2], {}, {"a": 1}, {"a": 1, "b": 2}]


@pytest.mark.parametrize("i", range(len(ORDERED) - 1))
def test_kinds_and_values_follow_couchdbs_order(i):
    low, high = ORDERED[i], ORDERED[i + 1]
    assert compare(low, high) == -1 and compare(high, low) == 1 and compare(low, low) == 0


def test_two_different_strings_are_left_to_couchdb():
    # ICU puts "a" before "B"; code points would not: the order is unknown, nothing is refused
    assert compare("a", "B") is None and compare(["x", "a"], ["x", "B"]) is None
    assert compare(["a", 1], ["a", 2]) == -1 and compare({"k": "a"}, {"k": "a", "l": 0}) == -1
    assert not empty_range("b", "a", descending=False)


def test_a_range_is_empty_when_its_start_is_past_its_end():
    assert empty_range(["acct", {"x": 1}], ["acct", {}], descending=False)
    assert not empty_range(["acct", "name"], ["acct", {}], descending=False)
    assert empty_range(10, 20, descending=True) and not empty_range(20, 10, descending=True)
    assert not empty_range(5, 5, descending=False) and not empty_range(5, 5, descending=True)
    assert empty_range(True, 1, descending=True) and not empty_range(1, True, descending=True)


def test_the_sort_key_is_couchdbs_order_where_it_is_known():
    # the total order recent.py merges rows by: the same type ranks as `compare`
    shuffled = ORDERED[::2] + ORDERED[1::2][::-1]
    assert sorted(shuffled, key=sort_key) == ORDERED
    for a in ORDERED:
        for b in ORDERED:
            assert (sort_key(a) > sort_key(b)) - (sort_key(a) < sort_key(b)) == compare(a, b)


def test_the_sort_key_orders_strings_by_code_point():
    # ICU would put "a" before "B"; the merge's order is exact only for ids like Kazoo's hex ones
    assert compare("B", "a") is None
    assert sorted(["a", "B", "0f", "0a"], key=sort_key) == ["0a", "0f", "B", "a"]
