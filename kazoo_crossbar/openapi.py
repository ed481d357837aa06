"""The OpenAPI 3.1 document, built from the shipped JSON schemas (one source of truth).

Request bodies are Kazoo's envelope `{"data": <schema>}`; every answer is Kazoo's success
or error envelope. Draft-04 `$ref`s by schema id become component references.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from . import validation
from .http.envelope import KAZOO_VERSION

ERRORS = {"400": "validation error", "401": "invalid credentials", "403": "forbidden",
          "404": "bad identifier / not found", "405": "method not allowed", "409": "conflicting documents",
          "503": "datastore unavailable"}


def _convert(node: Any) -> Any:
    """Draft-04 schema → OpenAPI 3.1 schema object (JSON Schema 2020-12 dialect)."""
    if isinstance(node, list):
        return [_convert(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("$schema", "id"):
            continue
        if key == "default" and "required" in node and value == {}:
            continue  # Kazoo's `{}` default of a gateway item is no valid instance; OpenAPI checks that
        if key == "$ref" and isinstance(value, str) and not value.startswith("#"):
            out[key] = f"#/components/schemas/{value}"
        elif key in ("properties", "patternProperties", "definitions"):
            out[key] = {k: _convert(v) for k, v in value.items()}
        else:
            out[key] = _convert(value)
    return out


def _envelope(data_schema: dict) -> dict:
    return {"type": "object", "required": ["data"], "properties": {"data": data_schema}}


def _body(data_schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": _envelope(data_schema)}}}


def _responses(success: str, data: dict) -> dict:
    out = {success: {"description": "success", "content": {"application/json": {"schema": {
        "allOf": [{"$ref": "#/components/schemas/SuccessEnvelope"},
                  {"type": "object", "properties": {"data": data}}]}}}}}
    for code, text in ERRORS.items():
        out[code] = {"description": text, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}}
    return out


def _op(op_id: str, summary: str, success: str, data: dict, body: dict | None = None,
        params: list | None = None, deprecated: bool = False, public: bool = False) -> dict:
    op: dict[str, Any] = {"operationId": op_id, "summary": summary, "responses": _responses(success, data)}
    if body is not None:
        op["requestBody"] = _body(body)
    if params:
        op["parameters"] = params
    if deprecated:
        op["deprecated"] = True
    if public:
        op["security"] = []
    return op


def _path_param(name: str, pattern: str | None = None) -> dict:
    schema: dict[str, Any] = {"type": "string", "minLength": 1}
    if pattern:
        schema["pattern"] = pattern
    return {"name": name, "in": "path", "required": True, "schema": schema}


LISTING_PARAMS = [{"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
                  for n in ("page_size", "start_key", "paginate", "created_from", "created_to")]


def _resource_paths(prefix: str, tag: str, params: list, deprecated: bool) -> dict:
    ref = {"$ref": "#/components/schemas/resources"}
    rid = _path_param("resource_id")
    one = {"type": "object"}
    listing = {"type": "array", "items": {"type": "object"}}
    collection = {"type": "object", "properties": {"successes": {"type": "object"}, "errors": {"type": "object"}}}
    paths = {
        f"{prefix}": {
            "get": _op(f"list_{tag}", "List resources", "200", listing, params=params + LISTING_PARAMS,
                       deprecated=deprecated),
            "put": _op(f"create_{tag}", "Create a resource", "201", one, ref, params, deprecated)},
        f"{prefix}/{{resource_id}}": {
            "get": _op(f"get_{tag}", "Fetch a resource", "200", one, params=params + [rid], deprecated=deprecated),
            "post": _op(f"replace_{tag}", "Replace a resource", "200", one, ref, params + [rid], deprecated),
            "patch": _op(f"patch_{tag}", "Change some fields of a resource", "200", one, {"type": "object"},
                         params + [rid], deprecated),
            "delete": _op(f"delete_{tag}", "Remove a resource", "200", one, params=params + [rid],
                          deprecated=deprecated)},
        f"{prefix}/collection": {
            "put": _op(f"create_collection_{tag}", "Create many resources", "201", collection,
                       {"type": "array", "items": ref}, params, deprecated),
            "post": _op(f"update_collection_{tag}", "Change many resources", "200", collection,
                        {"type": "array", "items": {"type": "object"}}, params, deprecated)},
    }
    if not deprecated:
        job = {"$ref": "#/components/schemas/resource_jobs"}
        jid = _path_param("job_id", r"^\d{6}-[0-9a-f]{16}$")
        paths[f"{prefix}/jobs"] = {
            "get": _op(f"list_jobs_{tag}", "List bulk number jobs", "200", listing, params=params + LISTING_PARAMS),
            "put": _op(f"create_job_{tag}", "Add numbers in bulk", "201", one, job, params)}
        paths[f"{prefix}/jobs/{{job_id}}"] = {
            "get": _op(f"get_job_{tag}", "Fetch a job's status", "200", one, params=params + [jid])}
    return paths


@lru_cache(maxsize=1)
def _document() -> dict:
    schemas = {name: _convert(validation.load_schema(name)) for name in validation.schema_names()}
    schemas["SuccessEnvelope"] = {"type": "object", "required": ["status", "request_id"], "properties": {
        "status": {"const": "success"}, "data": {}, "request_id": {"type": "string"},
        "revision": {"type": "string"}, "auth_token": {"type": "string"}, "page_size": {"type": "integer"},
        "next_start_key": {"type": "string"}, "start_key": {"type": "string"}}}
    schemas["ErrorEnvelope"] = {"type": "object", "required": ["status", "error", "message", "data", "request_id"],
                                "properties": {"status": {"const": "error"}, "error": {"type": "string"},
                                               "message": {"type": "string"}, "data": {},
                                               "request_id": {"type": "string"}, "auth_token": {"type": "string"}}}
    account = [_path_param("account_id", r"^[a-z0-9]{32}$")]
    paths: dict[str, Any] = {
        "/v2/api_auth": {"put": _op("api_auth", "A token for an account API key", "201", {"type": "object"},
                                    {"$ref": "#/components/schemas/api_auth"}, public=True)},
        "/v2/user_auth": {"put": _op("user_auth", "A token for user credentials", "201", {"type": "object"},
                                     {"$ref": "#/components/schemas/user_auth"}, public=True)},
    }
    paths.update(_resource_paths("/v2/resources", "global", [], False))
    paths.update(_resource_paths("/v2/accounts/{account_id}/resources", "local", account, False))
    paths.update(_resource_paths("/v2/accounts/{account_id}/local_resources", "local_alias", account, True))
    paths.update(_resource_paths("/v2/accounts/{account_id}/global_resources", "global_alias", account, True))
    return {
        "openapi": "3.1.0",
        "info": {"title": "kazoo_crossbar resources API", "version": KAZOO_VERSION,
                 "description": "Kazoo 4.3 Crossbar compatible resources, bulk number jobs and auth."},
        "servers": [{"url": "/"}],
        "security": [{"XAuthToken": []}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "XAuthToken": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"}}},
    }


def document() -> dict:
    return copy.deepcopy(_document())
