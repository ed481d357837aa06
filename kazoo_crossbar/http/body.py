"""Request parsing before any check (api_util:get_req_data/2): query string,
body by content type, the `{"data": …}` envelope. Bad input stops here with
400, before authentication, as in Kazoo."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import unquote_plus

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from .. import jsonc
from . import errors, protocol

JSON_TYPES = {"", "application/json", "application/x-json"}
FORM_TYPE = "application/x-www-form-urlencoded"


def parse_query(query_string: str) -> dict[str, Any]:
    """Values are strings; a bare `?flag` is true; the first occurrence of a key wins."""
    out: dict[str, Any] = {}
    for part in query_string.split("&"):
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = unquote_plus(key)
        if key not in out:
            out[key] = unquote_plus(value) if sep else True
    return out


MAX_DEPTH = 64  # no Kazoo document nests this deep; deeper input would only exhaust the stack
# Containers ({} and []) a body may hold: a collection of thousands of resources stays far below;
# `{"data":[[],[],…]}` (millions) is refused before it is parsed.
MAX_CONTAINERS = 50_000
# Bodies larger than this are parsed in a worker thread, so the read loop stays responsive.
OFF_LOOP_BYTES = 256 * 1024
_SURROGATE = re.compile("[\ud800-\udfff]")
_KEEP_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_SQUARE = bytes.maketrans(b"{}", b"[]")


def has_surrogate(text: str) -> bool:
    """A lone surrogate cannot be encoded as UTF-8: stored, it breaks every later listing."""
    return _SURROGATE.search(text) is not None


def structure_problem(raw: bytes) -> str | None:
    """Too many containers or too deep, read off the raw bytes with C-speed byte operations
    only (linear in the body, nothing built per value). Exact for valid JSON; invalid JSON is
    refused by the parser anyway."""
    if b"[" not in raw and b"{" not in raw:
        return None
    # drop escaped backslashes, then escaped quotes: what is left of each string has no quote inside
    bare = raw.replace(b"\\\\", b"").replace(b'\\"', b"") if b"\\" in raw else raw
    kept = bare.translate(None, _KEEP_STRUCTURE)
    # outside strings = the even pieces between quotes
    brackets = (b"".join(kept.split(b'"')[0::2]) if b'"' in kept else kept).translate(_SQUARE)
    if len(brackets) > 2 * MAX_CONTAINERS:
        return "nesting too deep" if brackets.startswith(b"[" * (MAX_DEPTH + 1)) else "too many values"
    for _ in range(MAX_DEPTH):  # each round removes the innermost level of every branch
        inner = brackets.replace(b"[]", b"")
        if len(inner) == len(brackets):
            return None  # empty; or unbalanced, which the parser reports
        brackets = inner
    return "nesting too deep" if brackets else None


def _decode_json(raw: bytes) -> Any:
    """jsonc.loads_strict (orjson): rejects invalid UTF-8, lone surrogates, NaN/Infinity and numbers that overflow a
    double (a 5,000-digit integer) with a parse error; messages never quote the input."""
    if problem := structure_problem(raw):
        raise errors.invalid_json(problem)
    try:
        value = jsonc.loads_strict(raw)
    except jsonc.JSONDecodeError as exc:
        if "depth limit" in exc.msg or "recursion" in exc.msg:
            raise errors.invalid_json("nesting too deep") from exc
        # jiffy's names: bad UTF-8 or a lone surrogate is invalid_string, the rest invalid_json
        kind = "invalid_string" if "UTF-8" in exc.msg or "surrogate" in exc.msg else "invalid_json"
        raise errors.invalid_json(f"{kind} around {exc.pos + 1}") from exc
    return value


# A form body can never carry a valid request (its values are strings, `data` must be an object),
# so it is answered without decoding much: Kazoo's envelope has a handful of keys.
MAX_FORM_FIELDS = 100
# A piece longer than this is never URL-decoded: it cannot be the key `data` (12 bytes at most,
# `%64%61%74%61`) and is too long to be quoted back in an error (errors.MAX_ECHO characters).
FORM_DECODE_BYTES = 3 * 256


def _form_text(raw: bytes) -> str:
    if len(raw) > FORM_DECODE_BYTES:
        return raw.decode("latin-1")  # C-speed; only its length matters from here on
    return unquote_plus(raw.decode("utf-8", "replace"))


def _form_fields(raw: bytes) -> dict[str, Any] | None:
    """Kazoo's reading of a form body (api_util:handle_failed_multipart/handle_url_encoded_body,
    cow_qs): None when it is a single field without `=` (`curl -d '{json}'`), which is then
    parsed as JSON; otherwise the fields (a field without `=` is true), the last of a name
    winning. The fields are counted before anything is decoded."""
    if raw.count(b"&") >= MAX_FORM_FIELDS:
        raise errors.invalid_json("too many values")
    parts = [p for p in raw.split(b"&") if p]
    if len(parts) == 1 and b"=" not in parts[0]:
        return None
    fields: dict[str, Any] = {}
    for part in parts:
        key, sep, value = part.partition(b"=")
        fields[_form_text(key)] = _form_text(value) if sep else True
    return fields


def _normalize_envelope(envelope: dict) -> dict:
    # Only top-level envelope keys: lower-cased, `-` → `_`, nulls dropped.
    return {k.lower().replace("-", "_"): v for k, v in envelope.items() if v is not None}


async def read_body(request: web.Request, max_size: int) -> bytes:
    """The raw body, refused (400) as soon as it is known to exceed `max_size`."""
    too_big = errors.validation(
        {
            "file": {
                "maxSize": {"message": f"Payload or Files must not be more than {max_size} bytes", "target": max_size}
            }
        }
    )
    if request.content_length is not None and request.content_length > max_size:
        raise too_big
    chunks, size = [], 0
    try:
        # the whole body within the connection's body timeout: a client trickling bytes holds no socket for long
        async with asyncio.timeout(protocol.body_timeout(request)):
            while chunk := await request.content.read(1 << 16):  # read() returns what has arrived, not all
                size += len(chunk)  # after Content-Encoding is undone: a gzip bomb stops here too
                if size > max_size:
                    raise too_big
                chunks.append(chunk)
    except TimeoutError:
        protocol.abandon_body(request)
        raise errors.request_timeout() from None
    except RequestPayloadError as exc:
        # a body that is not what its Content-Encoding says, a truncated or malformed chunked body,
        # fewer bytes than Content-Length: the client's fault, a 400, then the connection is closed
        protocol.abandon_body(request)
        cause = str(exc.__cause__ or exc).strip().splitlines()[-1].strip()
        raise errors.validation({"file": {"encoding": {"message": f"the body could not be read: {cause}"}}}) from None
    return b"".join(chunks)


def parse_envelope(raw: bytes, content_type: str) -> tuple[dict, Any]:
    """(envelope, data) from the raw body."""
    if not raw.strip():
        return {}, {}
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == FORM_TYPE:
        form = _form_fields(raw)
        body = _decode_json(raw) if form is None else form  # None: what `curl -d '{json}'` sends
    elif ctype in JSON_TYPES:
        body = _decode_json(raw)
    else:
        return {}, {}  # Kazoo treats other bodies as uploaded files; request data stays {}
    if not isinstance(body, dict):
        raise errors.invalid_json("All JSON must be valid")
    envelope = _normalize_envelope(body)
    if "data" not in envelope:
        # Kazoo echoes the body; errors.validation leaves it out when it is large
        raise errors.validation({"data": {"required": {"message": "Field is required but missing", "value": body}}})
    data = envelope["data"]
    if not isinstance(data, (dict, list)):
        raise errors.wrong_type(data, "object, array")
    return envelope, data


async def parse_envelope_off_loop(raw: bytes, content_type: str) -> tuple[dict, Any]:
    """parse_envelope, in a worker thread for large bodies."""
    if len(raw) <= OFF_LOOP_BYTES:
        return parse_envelope(raw, content_type)
    return await asyncio.get_running_loop().run_in_executor(None, parse_envelope, raw, content_type)
