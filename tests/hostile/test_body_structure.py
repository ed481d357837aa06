"""The raw-byte structure check (containers, depth) that runs before any body is parsed."""

from __future__ import annotations

import json

import pytest

from kazoo_crossbar.http import body
from kazoo_crossbar.http.errors import ApiError


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    "raw, problem",
    [
        (b'{"data":' + nested(63) + b"}", None),  # 64 levels with the envelope
        (b'{"data":' + nested(64) + b"}", "nesting too deep"),
        (b'{"data":' + nested(100_000) + b"}", "nesting too deep"),
        (b'{"data":"' + b"[" * 1000 + b'"}', None),  # brackets inside strings do not count
        (b'{"data":"\\"' + b"[" * 1000 + b'\\\\"}', None),  # nor after escaped quotes/backslashes
        (b'{"data":[' + b",".join([b"{}"] * 50_000) + b"]}", "too many values"),
        (b'{"data":[' + b",".join([b"{}"] * 49_998) + b"]}", None),
        (b'{"data":[' + b",".join([b'"]]]"'] * 60_000) + b"]}", None),
    ],
)
def test_structure_problem(raw, problem):
    if b"[" * 1000 not in raw:  # every case is valid JSON (json.loads cannot nest 100,000 deep)
        json.loads(raw)
    assert body.structure_problem(raw) == problem


def test_unbalanced_input_is_left_to_the_parser():
    assert body.structure_problem(b'{"data":[}') is None
    with pytest.raises(ApiError) as exc:
        body.parse_envelope(b'{"data":[}', "application/json")
    assert exc.value.data["json"]["invalid"]["message"].startswith("invalid_json around")
