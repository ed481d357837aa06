"""Kazoo's `start_key` / `next_start_key` encoding (api_util:encode_start_key/1).

A key travels as base64url (no padding) of `term_to_binary(Key)`, the view key
as an Erlang JSON term. erlang-py does the External Term Format; two cases
are adjusted to match what Kazoo 4.3 (OTP 19/21) emits: atoms use ATOM_EXT,
and a list of small integers is a STRING_EXT, as Erlang encodes it.
"""

from __future__ import annotations

import base64
import binascii
import struct
from typing import Any

import erlang

_MAX_DEPTH = 32


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


def _from_term(term: Any, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        raise ValueError("start key nested too deeply")
    if term is True or term is False:
        return term
    if isinstance(term, erlang.OtpErlangAtom):
        name = term.value.decode("utf-8") if isinstance(term.value, bytes) else str(term.value)
        if name in ("null", "undefined"):
            return None
        return name
    if isinstance(term, erlang.OtpErlangBinary):
        if term.bits != 8:
            raise ValueError("bitstring start key")
        return term.value.decode("utf-8")
    if isinstance(term, bytes):  # STRING_EXT: a list of small integers
        return list(term)
    if isinstance(term, (int, float)):
        return term
    if isinstance(term, (list, erlang.OtpErlangList)):
        items = term.value if isinstance(term, erlang.OtpErlangList) else term
        if isinstance(term, erlang.OtpErlangList) and term.improper:
            raise ValueError("improper list")
        return [_from_term(t, depth + 1) for t in items]
    if isinstance(term, tuple) and len(term) == 1:  # {[{K, V}, ...]}: a JSON object
        pairs = _from_term_pairs(term[0], depth + 1)
        return dict(pairs)
    raise ValueError(f"unsupported term {type(term).__name__}")


def _from_term_pairs(term: Any, depth: int) -> list[tuple[str, Any]]:
    items = term.value if isinstance(term, erlang.OtpErlangList) else term
    if not isinstance(items, list):
        raise ValueError("object body is not a list")
    out = []
    for pair in items:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise ValueError("object member is not a pair")
        key = _from_term(pair[0], depth + 1)
        if not isinstance(key, str):
            raise ValueError("object key is not a string")
        out.append((key, _from_term(pair[1], depth + 1)))
    return out


def decode(value: str) -> Any:
    """Decode a start key; like Kazoo, anything that is not a valid term is the raw string."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        if not raw.startswith(b"\x83"):
            return value
        return _from_term(erlang.binary_to_term(raw))
    except (
        ValueError,
        TypeError,
        IndexError,
        KeyError,
        struct.error,
        binascii.Error,
        UnicodeDecodeError,
        RecursionError,
        erlang.ParseException,
        erlang.InputException,
    ):
        return value
