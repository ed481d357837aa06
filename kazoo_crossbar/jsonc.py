"""JSON for the hot paths (response envelopes, the CouchDB client, log lines): orjson, pinned, with
the standard library's json only when orjson cannot be imported (a platform without its wheel).

The semantics are the ones the code relied on with the standard library, whichever backend runs:

- `dumps` gives compact UTF-8 bytes (`,`/`:` separators, non-ASCII as UTF-8), keys in insertion
  order, or sorted with `sort_keys=True`; `indent=True` gives 2-space indentation.
- NaN and ±Infinity are refused with ValueError, as `json.dumps(allow_nan=False)` does (orjson
  would write `null`: its output is checked for non-finite floats whenever it contains `null`).
- A value orjson cannot encode but the standard library can (a lone surrogate in a string, an
  integer beyond 64 bits, a non-string key) is encoded by the standard library with
  `ensure_ascii=True`: valid JSON, the surrogate kept as its `\\udXXX` escape.
- `loads` reads what CouchDB stores. A document written by someone else may hold a lone
  surrogate escape (`"\\ud800"`), which orjson refuses: such text is read by the standard
  library (NaN/Infinity still refused). Request bodies are parsed strictly by `loads_strict`.
- `loads_strict` (request bodies, issue 12): invalid UTF-8, lone surrogates, NaN/Infinity and
  numbers that overflow a double are errors (JSONDecodeError, a ValueError).
"""

from __future__ import annotations

import json as _json
import math
from typing import Any

try:  # pragma: no branch
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised by tests/unit/test_jsonc.py with the fallback forced
    _orjson = None  # type: ignore[assignment]

__all__ = ["BACKEND", "JSONDecodeError", "dumps", "dumps_str", "loads", "loads_strict"]

BACKEND = "orjson" if _orjson is not None else "json"
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


def _std_dumps(obj: Any, sort_keys: bool, indent: bool, ascii_only: bool) -> bytes:
    if indent:
        text = _json.dumps(obj, indent=2, ensure_ascii=ascii_only, allow_nan=False, sort_keys=sort_keys)
    else:
        text = _json.dumps(obj, separators=(",", ":"), ensure_ascii=ascii_only, allow_nan=False, sort_keys=sort_keys)
    return text.encode("utf-8")


if _orjson is not None:
    _OPT_SORT, _OPT_INDENT = _orjson.OPT_SORT_KEYS, _orjson.OPT_INDENT_2

    def dumps(obj: Any, *, sort_keys: bool = False, indent: bool = False) -> bytes:
        option = (_OPT_SORT if sort_keys else 0) | (_OPT_INDENT if indent else 0)
        try:
            out = _orjson.dumps(obj, option=option) if option else _orjson.dumps(obj)
        except _orjson.JSONEncodeError:
            # what the standard library takes and orjson refuses; ASCII output keeps surrogates valid
            try:
                return _std_dumps(obj, sort_keys, indent, ascii_only=True)
            except RecursionError as exc:  # orjson's limit is lower; say it as json would
                raise ValueError("nesting too deep") from exc
        if _NULL in out:
            _check_finite(obj)
        return out

    def loads(data: bytes | bytearray | memoryview | str) -> Any:
        try:
            return _orjson.loads(data)
        except _orjson.JSONDecodeError:
            # a lone surrogate escape is valid JSON to CouchDB and to Python: read it as before
            text = data if isinstance(data, str) else bytes(data).decode("utf-8")
            return _json.loads(text, parse_constant=_refuse_constant)

    def loads_strict(data: bytes | bytearray | memoryview | str) -> Any:
        return _orjson.loads(data)

else:  # pragma: no cover - the fallback; tests/unit/test_jsonc.py runs it with orjson hidden

    def dumps(obj: Any, *, sort_keys: bool = False, indent: bool = False) -> bytes:
        try:
            return _std_dumps(obj, sort_keys, indent, ascii_only=False)
        except UnicodeEncodeError:  # a lone surrogate: keep it as its escape
            return _std_dumps(obj, sort_keys, indent, ascii_only=True)

    def loads(data: bytes | bytearray | memoryview | str) -> Any:
        text = data if isinstance(data, str) else bytes(data).decode("utf-8")
        return _json.loads(text, parse_constant=_refuse_constant)

    def _no_big_float(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise ValueError("number is infinity when parsed as double")
        return value

    def _no_big_int(text: str) -> int:
        if len(text.lstrip("-")) > 19:  # orjson reads larger integers as doubles: refuse past that
            _no_big_float(text)
        return int(text)

    def loads_strict(data: bytes | bytearray | memoryview | str) -> Any:
        raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
        try:
            text = raw.decode("utf-8")  # strict: invalid UTF-8 and encoded surrogates refused
        except UnicodeDecodeError as exc:
            raise JSONDecodeError("str is not valid UTF-8", raw.decode("utf-8", "replace"), exc.start) from None
        try:
            value = _json.loads(text, parse_constant=_refuse_constant, parse_float=_no_big_float, parse_int=_no_big_int)
        except JSONDecodeError:
            raise
        except ValueError as exc:
            raise JSONDecodeError(str(exc), text, 0) from None
        try:  # a lone surrogate escape decodes to a str UTF-8 cannot hold
            _json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise JSONDecodeError("str is not valid UTF-8: surrogates not allowed", text, 0) from exc
        return value


def dumps_str(obj: Any, *, sort_keys: bool = False, indent: bool = False) -> str:
    return dumps(obj, sort_keys=sort_keys, indent=indent).decode("utf-8")
