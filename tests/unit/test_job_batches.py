"""Batch documents of a running job (jobs/store.py): the grouped success entries give back the
job's encoded entries byte for byte, and merged results keep every batch's entries."""

from __future__ import annotations

import json

from kazoo_crossbar.jobs import numbers as knm
from kazoo_crossbar.jobs import store

ACCOUNT = "a" * 32


def enc(value) -> str:
    """As the job runner encodes a result entry (jsonc: non-ASCII stays UTF-8)."""
    return store._enc(value)


def entries(numbers: list[str], now: int) -> dict[str, str]:
    return {n: enc(knm.success_entry(knm.number_doc(n, ACCOUNT, "rid", knm.LOCAL, now))) for n in numbers}


def test_pack_groups_equal_entries_and_unpacks_byte_for_byte():
    success = {
        **entries(["+14155550100", "+14155550101"], 63_900_000_000),
        **entries(["+14155550102"], 63_900_000_007),
    }  # another timestamp: an entry of its own
    success["+14155550103"] = enc({"resource_id": "rid", "id": "+14155550103"})  # a Kazoo-made entry: as is
    success["+14155550104"] = enc({"name": "caf\u00e9 \u2603"})  # non-ASCII survives
    success["+14155550105"] = enc({"name": "caf\u00e9 \u2603"})
    groups, literal = store.pack_success(success)
    assert sorted(len(g["numbers"]) for g in groups) == [2, 2]
    assert literal == {n: success[n] for n in ("+14155550102", "+14155550103")}
    assert store.unpack_success(groups, literal) == success


def test_a_batch_document_is_small_and_round_trips():
    numbers = [f"+1415555{i:04d}" for i in range(1000)]
    success = entries(numbers, 63_900_000_000)
    errors = {"bad": enc(knm.number_exists("bad"))}
    job = {"_id": "202612-0123456789abcdef", "pvt_account_id": ACCOUNT}
    head, body = store.encode_batch(job, 3, 7, success, errors)
    assert head["_id"] == "202612-0123456789abcdef-batch-000003-000007"
    assert head["pvt_type"] == store.BATCH_TYPE and head["pvt_job_id"] == job["_id"]
    full = sum(len(k) + len(v) for k, v in success.items())
    assert len(body) < full / 8, (len(body), full)  # ~15 bytes a number instead of ~200
    stored = json.loads(body)
    assert store.batch_results([stored]) == (success, errors)


def test_batch_ids_sort_in_the_order_they_were_written():
    ids = [store.batch_id("202612-0123456789abcdef", run, n) for run, n in [(2, 0), (2, 1), (2, 10), (11, 0)]]
    assert ids == sorted(ids)
    assert all(i.startswith(store.batch_prefix("202612-0123456789abcdef")) for i in ids)
    assert store.claim_generation("12-abc") == 12


def test_results_of_several_batches_are_merged():
    first = {"success_groups": [{"entry": {"state": "reserved"}, "numbers": ["+1", "+2"]}], "errors": {"x": 1}}
    second = {"success": {"+3": {"id": "+3"}}, "errors": {"y": {"code": 409}}}
    success, errors = store.batch_results([first, second])
    assert {k: json.loads(v) for k, v in success.items()} == {
        "+1": {"state": "reserved"},
        "+2": {"state": "reserved"},
        "+3": {"id": "+3"},
    }
    assert {k: json.loads(v) for k, v in errors.items()} == {"x": 1, "y": {"code": 409}}
