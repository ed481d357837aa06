"""The OpenAPI 3.1 document, generated from the route table (routes.py: every endpoint's
paths and the plain routes) and the shipped JSON schemas (one source of truth).

Request bodies are Kazoo's envelope `{"data": <schema>}`; every answer is Kazoo's success
or error envelope. Draft-04 `$ref`s by schema id become component references.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from . import validation
from .config import Settings
from .http.envelope import KAZOO_VERSION
from .routes import RouteTable, table
from .services import make_services


def _convert(node: Any) -> Any:
    """Draft-04 schema → OpenAPI 3.1 schema object (JSON Schema 2020-12 dialect)."""
    if isinstance(node, list):
        return [_convert(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
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


@lru_cache(maxsize=1)
def _schemas() -> dict:
    schemas = {name: _convert(validation.load_schema(name)) for name in validation.schema_names()}
    schemas["SuccessEnvelope"] = {
        "type": "object",
        "required": ["status", "request_id"],
        "properties": {
            "status": {"const": "success"},
            "data": {},
            "request_id": {"type": "string"},
            "revision": {"type": "string"},
            "auth_token": {"type": "string"},
            "page_size": {"type": "integer"},
            "next_start_key": {"type": "string"},
            "start_key": {"type": "string"},
        },
    }
    schemas["ErrorEnvelope"] = {
        "type": "object",
        "required": ["status", "error", "message", "data", "request_id"],
        "properties": {
            "status": {"const": "error"},
            "error": {"type": "string"},
            "message": {"type": "string"},
            "data": {},
            "request_id": {"type": "string"},
            "auth_token": {"type": "string"},
        },
    }
    return schemas


def document(routes: RouteTable | None = None) -> dict:
    """The document for a route table (by default the service's own, as `make_services` builds it)."""
    if routes is None:
        routes = table(make_services(Settings(couchdb_url="http://127.0.0.1:5984")))  # nothing connects
    paths: dict[str, Any] = {}
    for endpoint in routes.endpoints:
        paths.update(endpoint.paths())
    for plain in routes.plain:
        if plain.operation is None:
            continue
        paths.setdefault(plain.path, {})[plain.method.lower()] = plain.operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "kazoo_crossbar resources API",
            "version": KAZOO_VERSION,
            "description": "Kazoo 4.3 Crossbar compatible resources, bulk number jobs and auth.",
        },
        "servers": [{"url": "/"}],
        "security": [{"XAuthToken": []}],
        "paths": paths,
        "components": {
            "schemas": copy.deepcopy(_schemas()),
            "securitySchemes": {"XAuthToken": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"}},
        },
    }
