"""Kazoo's response envelopes and headers (api_util:create_resp_envelope/1, §4 and §6)."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from .. import jsonc
from .context import Context
from .errors import ApiError

KAZOO_VERSION = "4.3.0"
CORS_ALLOW_HEADERS = (
    "content-type, depth, user-agent, x-http-method-override, x-file-size, x-requested-with, "
    "if-modified-since, x-file-name, cache-control, x-auth-token, x-kazoo-cluster-id, if-match"
)
CORS_EXPOSE_HEADERS = "content-type, x-auth-token, x-request-id, x-kazoo-cluster-id, location, etag, etag"


def node_hash(node_name: str) -> str:
    """kz_nodes:node_encoded/0: base64url (no padding) of the MD5 of the node name."""
    return base64.urlsafe_b64encode(hashlib.md5(node_name.encode()).digest()).rstrip(b"=").decode()


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON (jsonc: orjson)."""
    return jsonc.dumps(obj)


_stamp: list = [-1, ""]  # [second, its text]: formatted at most once per second


def timestamp() -> str:
    now = int(time.time())
    if now != _stamp[0]:
        _stamp[:] = [now, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))]
    return _stamp[1]


def cors_headers(methods: Iterable[str]) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": ", ".join(["OPTIONS", *sorted(set(methods) - {"OPTIONS"})]),
        "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
        "Access-Control-Expose-Headers": CORS_EXPOSE_HEADERS,
        "Access-Control-Max-Age": "86400",
    }


def is_cors(request: web.Request) -> bool:
    h = request.headers
    return "Origin" in h or "Access-Control-Request-Method" in h or "Access-Control-Request-Headers" in h


def _json_response(status: int, body: dict, headers: dict[str, str]) -> web.Response:
    pretty = headers.pop("_pretty", None) is not None
    return web.Response(status=status, body=jsonc.dumps(body, indent=pretty), headers=headers, content_type=None)


def _common_headers(ctx: Context) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "X-Request-ID": ctx.request_id}
    pretty = ctx.request.headers.get("X-Pretty-Print", "") or ctx.query.get("pretty_print", "")
    if str(pretty).lower() == "true":
        headers["_pretty"] = "1"
    return headers


def success(ctx: Context, allowed: Iterable[str] = ()) -> web.Response:
    body: dict[str, Any] = dict(ctx.resp_envelope)
    if ctx.resp_data is not None:
        body["data"] = ctx.resp_data
    revision = ctx.revision
    if revision is None and isinstance(ctx.resp_data, list) and ctx.resp_data:
        revision = hashlib.md5(dumps(ctx.resp_data)).hexdigest()
    if revision is not None:
        body["revision"] = revision
    body.update(
        timestamp=timestamp(), version=KAZOO_VERSION, node=ctx.node_hash, request_id=ctx.request_id, status="success"
    )
    if ctx.auth_token:
        body["auth_token"] = ctx.auth_token
    headers = _common_headers(ctx)
    if ctx.method == "GET":
        if revision is not None:
            headers["ETag"] = f'"{revision}"'
        headers["Expires"] = "Fri, 01 Jan 1999 00:00:00 GMT"
    if ctx.location:
        headers["Location"] = ctx.location
    if is_cors(ctx.request):
        headers.update(cors_headers([*allowed, ctx.method]))
    return _json_response(ctx.status, body, headers)


def error_data(ctx: Context, exc: ApiError) -> Any:
    """v1 clients get a system error's human message as a plain string; validation errors
    keep their object in every version (cb_context:build_system_error/4)."""
    data = exc.data
    if ctx.version == "v1" and exc.message != "validation error" and isinstance(data, dict) and "message" in data:
        return data["message"]
    return data


def error(ctx: Context, exc: ApiError, allowed: Iterable[str] = ()) -> web.Response:
    body: dict[str, Any] = {
        "data": error_data(ctx, exc),
        "error": str(exc.code),
        "message": exc.message,
        "status": "error",
        "timestamp": timestamp(),
        "version": KAZOO_VERSION,
        "node": ctx.node_hash,
        "request_id": ctx.request_id,
        # Kazoo 4.3 always sends auth_token on errors, "undefined" when there was none.
        "auth_token": ctx.auth_token or "undefined",
    }
    headers = _common_headers(ctx)
    # Crossbar adds the CORS headers to every error it produces.
    headers.update(cors_headers([*(exc.allowed or allowed), ctx.method]))
    return _json_response(exc.code, body, headers)
