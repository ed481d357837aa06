"""JSON for the hot paths (response envelopes, the CouchDB client, log lines): orjson, with the
semantics the code relies on from the standard library's json:

- `dumps` gives compact UTF-8 bytes (`,`/`:` separators, non-ASCII as UTF-8), keys in insertion
  order, or sorted with `sort_keys=True`; `indent=True` gives 2-space indentation.
- NaN and ±Infinity are refused with ValueError, as `json.dumps(allow_nan=False)` does (orjson
  would write `null`: its output is checked for non-finite floats whenever it contains `null`).
- A value orjson cannot encode but the standard library can (a lone surrogate in a string, an
  integer beyond 64 bits, a non-string key) is encoded by the standard library with
  `ensure_ascii=True`: valid JSON, the surrogate kept as its `\\udXXX` escape.
- `loads` reads what CouchDB stores. A document written by someone else may hold a lone
  surrogate escape (`"\\ud800"`), which orjson refuses: such text is read by the standard
  library (NaN/Infinity still refused).
- `loads_strict` reads request bodies: invalid UTF-8, lone surrogates, NaN/Infinity and numbers
  that overflow a double are errors (JSONDecodeError, a ValueError).
"""

from __future__ import annotations

import json as _json
import math
from typing import Any

import orjson

__all__ = ["JSONDecodeError", "dumps", "dumps_str", "loads", "loads_strict"]

JSONDecodeError = _json.JSONDecodeError  # orjson's JSONDecodeError subclasses it
_NULL = b"null"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"Out of range float values are not JSON compliant: {name}")


def _check_finite(value: Any) -> None:
    """ValueError on the first NaN/±Infinity inside value (only run when orjson wrote a null)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, float):
            if not math.isfinite(v):
                raise ValueError("Out of range float values are not JSON compliant")
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, (list, tuple)):
            stack.extend(v)


def dumps(obj: Any, *, sort_keys: bool = False, indent: bool = False) -> bytes:
    option = (orjson.OPT_SORT_KEYS if sort_keys else 0) | (orjson.OPT_INDENT_2 if indent else 0)
    try:
        out = orjson.dumps(obj, option=option) if option else orjson.dumps(obj)
    except orjson.JSONEncodeError:
        # what the standard library takes and orjson refuses; ASCII output keeps surrogates valid
        try:
            return _json.dumps(
                obj,
                indent=2 if indent else None,
                separators=None if indent else (",", ":"),
                allow_nan=False,
                sort_keys=sort_keys,
            ).encode("ascii")
        except RecursionError as exc:  # orjson's limit is lower; say it as json would
            raise ValueError("nesting too deep") from exc
    if _NULL in out:
        _check_finite(obj)
    return out


def dumps_str(obj: Any, *, sort_keys: bool = False, indent: bool = False) -> str:
    return dumps(obj, sort_keys=sort_keys, indent=indent).decode("utf-8")


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        # a lone surrogate escape is valid JSON to CouchDB and to Python: read it as before
        text = data if isinstance(data, str) else bytes(data).decode("utf-8")
        return _json.loads(text, parse_constant=_refuse_constant)


def loads_strict(data: bytes | bytearray | memoryview | str) -> Any:
    return orjson.loads(data)
