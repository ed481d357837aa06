"""Request parsing before any check (api_util:get_req_data/2): query string,
body by content type, the `{"data": …}` envelope. Bad input stops here with
400, before authentication, as in Kazoo."""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from aiohttp import web

from . import errors

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


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _decode_json(raw: bytes) -> Any:
    try:
        value = json.loads(raw.decode("utf-8"))  # JSON on the wire is UTF-8, as jiffy requires
    except UnicodeDecodeError as exc:
        raise errors.invalid_json(f"invalid_string around {exc.start + 1}") from exc
    except json.JSONDecodeError as exc:
        raise errors.invalid_json(f"invalid_json around {exc.pos + 1}") from exc
    except RecursionError as exc:
        raise errors.invalid_json("nesting too deep") from exc
    if _too_deep(value):
        raise errors.invalid_json("nesting too deep")
    return value


def _normalize_envelope(envelope: dict) -> dict:
    # Only top-level envelope keys: lower-cased, `-` → `_`, nulls dropped.
    return {k.lower().replace("-", "_"): v for k, v in envelope.items() if v is not None}


async def read_body(request: web.Request, max_size: int) -> bytes:
    too_big = errors.validation({"file": {"maxSize": {
        "message": f"Payload or Files must not be more than {max_size} bytes", "target": max_size}}})
    if request.content_length is not None and request.content_length > max_size:
        raise too_big
    chunks, size = [], 0
    while chunk := await request.content.read(1 << 16):  # read() returns what has arrived, not all
        size += len(chunk)
        if size > max_size:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def parse_envelope(raw: bytes, content_type: str) -> tuple[dict, Any]:
    """(envelope, data) from the raw body."""
    if not raw.strip():
        return {}, {}
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == FORM_TYPE:
        form = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
        if len(form) == 1 and form[0][1] == "":
            body = _decode_json(raw)  # what `curl -d '{json}'` sends
        else:
            body = dict(form)
    elif ctype in JSON_TYPES:
        body = _decode_json(raw)
    else:
        return {}, {}  # Kazoo treats other bodies as uploaded files; request data stays {}
    if not isinstance(body, dict):
        raise errors.invalid_json("All JSON must be valid")
    envelope = _normalize_envelope(body)
    if "data" not in envelope:
        raise errors.validation({"data": {"required": {"message": "Field is required but missing", "value": body}}})
    data = envelope["data"]
    if not isinstance(data, (dict, list)):
        raise errors.wrong_type(data, "object, array")
    return envelope, data
