import base64
import struct
import tracemalloc
import zlib

import erlang
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kazoo_crossbar.http import startkey

# Vectors from Kazoo's basics.md, via the conventions spec §8.3.
VECTORS = [
    ([63691980222, "98016800"], "g2wAAAACbgUAvn1W1A5tAAAACDk4MDE2ODAwag"),
    ([63692031599, {}], "g2wAAAACbgUAb0ZX1A5oAWpq"),
    ("6b71cb72c876b5b1396a335f8f8a2594", "g20AAAAgNmI3MWNiNzJjODc2YjViMTM5NmEzMzVmOGY4YTI1OTQ"),
    (["abc", 5], "g2wAAAACbQAAAANhYmNhBWo"),
]


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@pytest.mark.parametrize("key,encoded", VECTORS)
def test_kazoo_vectors(key, encoded):
    assert startkey.encode(key) == encoded
    assert startkey.decode(encoded) == key


@pytest.mark.parametrize(
    "key",
    [[1, 2, 255], -5, 300, 2**40, -(2**40), 2**64 - 1, 1.5, True, None, "é€", {"a": [False, None]}, [], [[1], "x"]],
)
def test_round_trip(key):
    assert startkey.decode(startkey.encode(key)) == key


def test_small_int_list_is_string_ext():
    assert startkey.encode([1, 2]) == "g2sAAgEC"


def test_atoms_use_atom_ext():
    raw = base64.urlsafe_b64decode(startkey.encode(True) + "==")
    assert raw == b"\x83d\x00\x04true"


@pytest.mark.parametrize(
    "raw, value",
    [
        (b"\x83w\x04true", True),  # SMALL_ATOM_UTF8_EXT, as newer OTP releases write atoms
        (b"\x83v\x00\x04null", None),  # ATOM_UTF8_EXT
        (b"\x83s\x09undefined", None),  # SMALL_ATOM_EXT
        (b"\x83o\x00\x00\x00\x02\x01\x01\x01", -257),  # LARGE_BIG_EXT within 64 bits
        (b"\x83i\x00\x00\x00\x01j", {}),  # LARGE_TUPLE_EXT of arity 1
    ],
)
def test_other_encodings_of_json_terms(raw, value):
    assert startkey.decode(b64(raw)) == value


@pytest.mark.parametrize("raw", ["plain-id", "!!!", "", "child one", "g"])
def test_a_value_that_is_not_a_term_is_the_raw_string(raw):
    assert startkey.decode(raw) == raw


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"\x83P\x00\x00\x00\x05" + zlib.compress(b"a\x01"), "compressed terms are not accepted"),
        (b"\x83n\x09\x00" + b"\x01" * 9, "integer too large"),
        (b"\x83o\x00\x03\x0d\x00\x00", "integer too large"),  # 200,000 digits announced
        (b"\x83l\x00\x00\x00\x02a\x01a\x02", "truncated term"),
        (b"\x83l\xff\xff\xff\xffj", "truncated term"),  # four billion elements announced
        (b"\x83l\x00\x00\x00\x01a\x01a\x02", "improper list"),
        (b"\x83a\x01a\x01", "trailing bytes after the term"),
        (b"\x83h\x02a\x01a\x02", "not a JSON view key"),  # {1, 2}
        (b"\x83q\x00\x00\x00\x01", "not a JSON view key"),  # a fun/export
        (b"\x83M\x00\x00\x00\x01\x03\xff", "not a JSON view key"),  # a bitstring
        (b"\x83m\x00\x00\x00\x01\xff", "string is not UTF-8"),
        (b"\x83F\x7f\xf8\x00\x00\x00\x00\x00\x00", "not a finite float"),
        (b"\x83h\x01l\x00\x00\x00\x01h\x02a\x01a\x02j", "object key is not a string"),
        (b"\x83" + b"l\x00\x00\x00\x01" * 40 + b"j" + b"j" * 40, "nested too deeply"),
    ],
)
def test_terms_outside_json_view_keys_are_refused(raw, reason):
    with pytest.raises(startkey.InvalidStartKey) as exc:
        startkey.decode(b64(raw))
    assert exc.value.reason == reason


def test_too_long_is_refused_before_decoding():
    with pytest.raises(startkey.InvalidStartKey, match="too long"):
        startkey.decode("g" * (startkey.MAX_KEY_CHARS + 1))


def test_a_compressed_bomb_allocates_nothing_big():
    """A 1.3 KB key made the old decoder allocate 512 MB; here 64 MB of zeros behind 'P'."""
    term = b"m" + struct.pack(">I", 64 << 20) + bytes(64 << 20)
    key = b64(b"\x83P" + struct.pack(">I", len(term)) + zlib.compress(term, 9))
    tracemalloc.start()
    try:
        with pytest.raises(startkey.InvalidStartKey):
            startkey.decode(key)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak


PROPERTY = settings(max_examples=200, deadline=None, database=None)  # no example database: no I/O

# JSON view keys as this service encodes them: integers of 64 bits at most (the decoder's cap).
json_keys = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64) + 1, max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=10), inner, max_size=6),
    max_leaves=25,
)


@PROPERTY
@given(json_keys)
def test_decode_inverts_encode(key):
    assert startkey.decode(startkey.encode(key)) == key


def general_reading(term):
    """erlang-py's binary_to_term result read as a JSON value (the old decoder's reading)."""
    if isinstance(term, erlang.OtpErlangAtom):
        return {b"true": True, b"false": False, b"null": None}[term.value]
    if isinstance(term, erlang.OtpErlangBinary):
        return term.value.decode("utf-8")
    if isinstance(term, bytes):
        return list(term)
    if isinstance(term, (erlang.OtpErlangList, list)):
        return [general_reading(t) for t in (term.value if isinstance(term, erlang.OtpErlangList) else term)]
    if isinstance(term, tuple):
        pairs = term[0].value if isinstance(term[0], erlang.OtpErlangList) else term[0]
        return {general_reading(k): general_reading(v) for k, v in pairs}
    return term


@PROPERTY
@given(json_keys)
def test_decode_agrees_with_a_general_term_reader(key):
    """On keys this service issues, the decoder reads what erlang-py's binary_to_term reads."""
    encoded = startkey.encode(key)
    general = erlang.binary_to_term(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    assert startkey.decode(encoded) == general_reading(general)


@PROPERTY
@given(json_keys, st.data())
def test_damaged_keys_decode_or_are_refused(key, data):
    raw = bytearray(base64.urlsafe_b64decode(startkey.encode(key) + "=="))
    cut = data.draw(st.integers(min_value=1, max_value=len(raw)))
    flip = data.draw(st.integers(min_value=1, max_value=max(1, len(raw) - 1)))
    if flip < len(raw):
        raw[flip] ^= data.draw(st.integers(min_value=1, max_value=255))
    try:
        startkey.decode(b64(bytes(raw[:cut])))
    except startkey.InvalidStartKey:
        pass


@PROPERTY
@given(st.binary(max_size=200))
def test_any_bytes_decode_or_are_refused(tail):
    try:
        startkey.decode(b64(b"\x83" + tail))
    except startkey.InvalidStartKey:
        pass
