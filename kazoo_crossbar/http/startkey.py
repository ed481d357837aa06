"""Kazoo's `start_key` / `next_start_key` encoding (api_util:encode_start_key/1).

A key travels as base64url (no padding) of `term_to_binary(Key)`, the view key
as an Erlang JSON term. erlang-py does the External Term Format; two cases
are adjusted to match what Kazoo 4.3 (OTP 19/21) emits: atoms use ATOM_EXT,
and a list of small integers is a STRING_EXT, as Erlang encodes it.

Decoding is this module's own, and reads only what a JSON view key can be: binaries, atoms,
integers of at most 64 bits, floats, lists and `{[{K, V}]}` objects. A general
`binary_to_term` would inflate compressed terms without limit and rebuild big integers in
quadratic time (one 307-character key froze the service for 25 s). Every byte is read once,
so the cost is linear in the key, and the key is at most `MAX_KEY_CHARS` long. A value that is
not a term at all is the raw string, as in Kazoo; a term outside that subset is refused.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from typing import Any

import erlang

MAX_KEY_CHARS = 4096  # a view key of this service (ids, names, timestamps) is far shorter
MAX_INT_BYTES = 8  # gregorian seconds and every other integer key fit in 64 bits
_MAX_DEPTH = 32
VERSION = 131


class InvalidStartKey(ValueError):
    """A start key this service would never have issued; the reason says what is wrong."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _Atom(erlang.OtpErlangAtom):
    def binary(self) -> bytes:
        return b"d" + struct.pack(">H", len(self.value)) + self.value


def _to_term(value: Any) -> Any:
    if value is True or value is False or value is None:
        return _Atom({True: b"true", False: b"false", None: b"null"}[value])
    if isinstance(value, str):
        return erlang.OtpErlangBinary(value.encode("utf-8"))
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, list):
        if value and all(type(v) is int and 0 <= v <= 255 for v in value):
            return bytes(value)  # erlang-py writes bytes as STRING_EXT
        return erlang.OtpErlangList([_to_term(v) for v in value])
    if isinstance(value, dict):
        return (erlang.OtpErlangList([(_to_term(k), _to_term(v)) for k, v in value.items()]),)
    raise TypeError(f"cannot encode {type(value).__name__} as a start key")


def encode(key: Any) -> str:
    raw = erlang.term_to_binary(_to_term(key))
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


_ATOMS = {b"true": True, b"false": False, b"null": None, b"undefined": None}
_ATOM_TAGS = {100: 2, 118: 2, 115: 1, 119: 1}  # ATOM_EXT, ATOM_UTF8_EXT, SMALL_ATOM_EXT, SMALL_ATOM_UTF8_EXT
_TUPLE_TAGS = {104: 1, 105: 4}  # SMALL_TUPLE_EXT, LARGE_TUPLE_EXT: arity size
_BIG_TAGS = {110: 1, 111: 4}  # SMALL_BIG_EXT, LARGE_BIG_EXT: digit count size


class _Reader:
    """One pass over the External Term Format bytes of a JSON view key."""

    def __init__(self, raw: bytes):
        self.raw, self.pos = raw, 1  # after the version byte

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.raw):
            raise InvalidStartKey("truncated term")
        chunk = self.raw[self.pos : end]
        self.pos = end
        return chunk

    def size(self, width: int) -> int:
        return int.from_bytes(self.take(width), "big")

    def text(self, n: int) -> str:
        try:
            return self.take(n).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidStartKey("string is not UTF-8") from None

    def term(self, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise InvalidStartKey("nested too deeply")
        tag = self.take(1)[0]
        if tag == 97:  # SMALL_INTEGER_EXT
            return self.take(1)[0]
        if tag == 98:  # INTEGER_EXT
            return int.from_bytes(self.take(4), "big", signed=True)
        if tag in _BIG_TAGS:
            digits = self.size(_BIG_TAGS[tag])
            if digits > MAX_INT_BYTES:
                raise InvalidStartKey("integer too large")
            sign = self.take(1)[0]
            value = int.from_bytes(self.take(digits), "little")
            return -value if sign else value
        if tag == 70:  # NEW_FLOAT_EXT
            (number,) = struct.unpack(">d", self.take(8))
            if not math.isfinite(number):
                raise InvalidStartKey("not a finite float")
            return number
        if tag == 109:  # BINARY_EXT
            return self.text(self.size(4))
        if tag in _ATOM_TAGS:
            name = self.take(self.size(_ATOM_TAGS[tag]))
            if name in _ATOMS:
                return _ATOMS[name]
            return name.decode("utf-8" if tag in (118, 119) else "latin-1")
        if tag == 106:  # NIL_EXT
            return []
        if tag == 107:  # STRING_EXT: a list of small integers
            return list(self.take(self.size(2)))
        if tag == 108:  # LIST_EXT
            return self.items(depth)
        if tag in _TUPLE_TAGS and self.size(_TUPLE_TAGS[tag]) == 1:  # {[{K, V}, …]}: a JSON object
            return self.members(depth + 1)
        if tag == 80:
            raise InvalidStartKey("compressed terms are not accepted")
        raise InvalidStartKey("not a JSON view key")

    def items(self, depth: int) -> list[Any]:
        count = self.size(4)
        if count > len(self.raw) - self.pos:  # every element takes at least one byte
            raise InvalidStartKey("truncated term")
        out = [self.term(depth + 1) for _ in range(count)]
        if self.take(1) != b"j":
            raise InvalidStartKey("improper list")
        return out

    def members(self, depth: int) -> dict[str, Any]:
        tag = self.take(1)[0]
        if tag == 106:
            return {}
        if tag != 108:
            raise InvalidStartKey("object body is not a list")
        count = self.size(4)
        if count > len(self.raw) - self.pos:
            raise InvalidStartKey("truncated term")
        out: dict[str, Any] = {}
        for _ in range(count):
            if self.take(2) != b"h\x02":
                raise InvalidStartKey("object member is not a pair")
            key = self.term(depth + 1)
            if not isinstance(key, str):
                raise InvalidStartKey("object key is not a string")
            out[key] = self.term(depth + 1)
        if self.take(1) != b"j":
            raise InvalidStartKey("improper list")
        return out


def decode(value: str) -> Any:
    """The view key of a start key. Like Kazoo, a value that is not a term is the raw string;
    a term this service would not have issued raises InvalidStartKey."""
    if len(value) > MAX_KEY_CHARS:
        raise InvalidStartKey("too long")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return value
    if not raw or raw[0] != VERSION:
        return value
    reader = _Reader(raw)
    key = reader.term()
    if reader.pos != len(raw):
        raise InvalidStartKey("trailing bytes after the term")
    return key
