"""Building blocks of the OpenAPI 3.1 document: operations, parameters and Kazoo's envelopes.
Endpoints declare their routes with these (http/endpoint.py `Route`); openapi.py assembles the
document from the route table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ERRORS = {
    "400": "validation error",
    "401": "invalid credentials",
    "403": "forbidden",
    "404": "bad identifier / not found",
    "405": "method not allowed",
    "409": "conflicting documents",
    "503": "datastore unavailable",
}


def envelope_schema(data_schema: dict) -> dict:
    return {"type": "object", "required": ["data"], "properties": {"data": data_schema}}


def body_of(data_schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": envelope_schema(data_schema)}}}


def responses(success: str, data: dict) -> dict:
    out = {
        success: {
            "description": "success",
            "content": {
                "application/json": {
                    "schema": {
                        "allOf": [
                            {"$ref": "#/components/schemas/SuccessEnvelope"},
                            {"type": "object", "properties": {"data": data}},
                        ]
                    }
                }
            },
        }
    }
    for code, text in ERRORS.items():
        out[code] = {
            "description": text,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
        }
    return out


def op(
    op_id: str,
    summary: str,
    success: str,
    data: dict,
    body: dict | None = None,
    params: list | None = None,
    deprecated: bool = False,
    public: bool = False,
) -> dict:
    out: dict[str, Any] = {"operationId": op_id, "summary": summary, "responses": responses(success, data)}
    if body is not None:
        out["requestBody"] = body_of(body)
    if params:
        out["parameters"] = params
    if deprecated:
        out["deprecated"] = True
    if public:
        out["security"] = []
    return out


def path_param(name: str, pattern: str | None = None) -> dict:
    schema: dict[str, Any] = {"type": "string", "minLength": 1}
    if pattern:
        schema["pattern"] = pattern
    return {"name": name, "in": "path", "required": True, "schema": schema}


def query_params(*names: str) -> tuple[dict, ...]:
    return tuple({"name": n, "in": "query", "required": False, "schema": {"type": "string"}} for n in names)


ACCOUNT_ID = path_param("account_id", r"^[a-z0-9]{32}$")  # the /v2/accounts/{account_id} prefix
LISTING_PARAMS = query_params("page_size", "start_key", "paginate", "created_from", "created_to")
OBJECT = {"type": "object"}
ROWS = {"type": "array", "items": {"type": "object"}}


@dataclass(frozen=True)
class Operation:
    """One method of one route, as the API document shows it. `{tag}` in the id is replaced by
    the mount's tag, so the same route under several prefixes gets distinct operation ids."""

    op_id: str
    summary: str
    success: str
    data: dict
    body: dict | None = None
    query: tuple[dict, ...] = ()  # query parameters, after the path's
    public: bool = False  # no token needed

    def render(self, tag: str, path_params: list[dict], deprecated: bool) -> dict:
        params = [*path_params, *self.query]
        return op(
            self.op_id.format(tag=tag),
            self.summary,
            self.success,
            self.data,
            self.body,
            params,
            deprecated,
            self.public,
        )
