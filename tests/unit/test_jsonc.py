"""kazoo_crossbar.jsonc: orjson with the standard library's semantics the code relies on."""

from __future__ import annotations

import json

import pytest

from kazoo_crossbar import jsonc

DOC = {"b": 1, "a": [1.5, "é", None, True, {"z": 'x\n"y'}], "_id": "ab/cd", "n": -3, "big": 2**63 - 1}


def test_dumps_is_compact_utf8_in_insertion_order():
    out = jsonc.dumps(DOC)
    assert isinstance(out, bytes)
    assert out == json.dumps(DOC, separators=(",", ":"), ensure_ascii=False).encode()
    assert jsonc.dumps_str(DOC) == out.decode()


def test_sort_keys_and_indent():
    assert jsonc.dumps({"b": 1, "a": {"d": 1, "c": 2}}, sort_keys=True) == b'{"a":{"c":2,"d":1},"b":1}'
    pretty = jsonc.dumps({"a": [1]}, indent=True)
    assert json.loads(pretty) == {"a": [1]}
    assert pretty.decode() == json.dumps({"a": [1]}, indent=2)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_dumps_refuses_nan_and_infinity(bad):
    for value in (bad, [1, bad], {"a": {"b": [None, bad]}}, (None, bad)):
        with pytest.raises(ValueError):
            jsonc.dumps(value)


def test_null_without_nan_is_fine():
    assert jsonc.dumps({"a": None, "b": [1.0, None]}) == b'{"a":null,"b":[1.0,null]}'


def test_lone_surrogate_on_output_stays_valid_json():
    out = jsonc.dumps({"name": "poison \ud800", "ok": "é"})
    assert json.loads(out) == {"name": "poison \ud800", "ok": "é"}
    out.decode("utf-8")  # valid UTF-8 on the wire


def test_values_orjson_refuses_are_encoded_as_before():
    for value in ({1: "a"}, [2**70], {"x": -(2**64)}):
        assert json.loads(jsonc.dumps(value)) == json.loads(json.dumps(value))


def test_unknown_types_are_a_type_error():
    with pytest.raises(TypeError):
        jsonc.dumps({"a": object()})


def test_loads_reads_couchdb_text():
    assert jsonc.loads(json.dumps(DOC).encode()) == DOC
    assert jsonc.loads(json.dumps(DOC)) == DOC
    assert jsonc.loads(b'{"a":"\\u00e9"}') == {"a": "é"}
    # someone else's document with a lone surrogate escape reads as it did with json
    assert jsonc.loads(b'{"name":"x\\ud800"}') == {"name": "x\ud800"}


@pytest.mark.parametrize("raw", [b"NaN", b"[Infinity]", b'{"a":-Infinity}', b"{", b"", b"[1,]", b"\xff"])
def test_loads_refuses_what_is_not_json(raw):
    with pytest.raises(ValueError):
        jsonc.loads(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b'"\\ud800"',
        b'{"a":"\\udc00x"}',
        b'"\xed\xa0\x80"',
        b'"\xff"',
        b"NaN",
        b"[1e999]",
        b"-Infinity",
        b"1" * 5000,
        b"{",
        b'{"a":1}x',
    ],
)
def test_loads_strict_refuses_what_a_request_body_may_not_hold(raw):
    with pytest.raises(jsonc.JSONDecodeError) as caught:
        jsonc.loads_strict(raw)
    assert isinstance(caught.value.pos, int)
    assert "1111" not in caught.value.msg  # messages never quote the input


def test_loads_strict_reads_valid_bodies():
    body = {"data": {"name": "é \U0001f600", "n": [1, 2.5, -7, 12345678901234567], "t": True, "z": None}}
    assert jsonc.loads_strict(json.dumps(body).encode()) == body
    assert jsonc.loads_strict(json.dumps(body, ensure_ascii=False).encode()) == body


def test_surrogate_messages_name_the_problem():
    """body.py tells invalid_string from invalid_json by these words (jiffy's names)."""
    for raw in (b'"\\ud800"', b'"\xed\xa0\x80"', b'"\xff"'):
        with pytest.raises(jsonc.JSONDecodeError) as caught:
            jsonc.loads_strict(raw)
        msg = caught.value.msg
        assert "UTF-8" in msg or "surrogate" in msg, msg
