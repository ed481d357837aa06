"""The operator routes outside the Kazoo API: /health, /metrics, /openapi.json."""

from __future__ import annotations

import asyncio

from aiohttp import web

from .http import errors
from .http.pipeline import refused_method
from .metrics import CONTENT_TYPE_LATEST
from .services import OPENAPI, SERVICES

HEALTH_TIMEOUT_S = 1.5


async def metrics_view(request: web.Request) -> web.Response:
    body = request.app[SERVICES].metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def health_view(request: web.Request) -> web.Response:
    """200 when CouchDB answers (and the broker is connected, when one is configured), else 503."""
    services = request.app[SERVICES]
    try:  # a CouchDB that accepts connections but never answers must not hang the probe
        couchdb = await asyncio.wait_for(services.couch.up(), HEALTH_TIMEOUT_S)
    except TimeoutError:
        couchdb = False
    checks = {"couchdb": "up" if couchdb else "down"}
    if services.settings.amqp_url:
        checks["amqp"] = "up" if services.bus.connected else "down"
    healthy = all(v == "up" for v in checks.values())
    return web.json_response({"status": "ok" if healthy else "degraded", **checks}, status=200 if healthy else 503)


async def openapi_view(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI])


async def other_method(request: web.Request) -> web.Response:
    """Any method but GET on these routes: Kazoo's 405 envelope (501 for a method it does not know)."""
    raise refused_method(request.method, frozenset({"GET"}))


async def elsewhere(request: web.Request) -> web.Response:
    """A route served on another address (`/metrics` with `--metrics-address`): 404 here."""
    raise errors.not_found()


def _plain(op_id: str, summary: str, content_type: str, schema: dict, *, unhealthy: bool = False) -> dict:
    ok = {"description": "success", "content": {content_type: {"schema": schema}}}
    responses = {
        "200": ok,
        **({"503": {"description": "degraded", "content": {content_type: {"schema": schema}}}} if unhealthy else {}),
    }
    return {"operationId": op_id, "summary": summary, "security": [], "responses": responses}


HEALTH = _plain(
    "health",
    "CouchDB (and broker) reachable",
    "application/json",
    {
        "type": "object",
        "required": ["status", "couchdb"],
        "properties": {
            "status": {"enum": ["ok", "degraded"]},
            "couchdb": {"enum": ["up", "down"]},
            "amqp": {"enum": ["up", "down"]},
        },
    },
    unhealthy=True,
)
METRICS = _plain("metrics", "Prometheus metrics", "text/plain", {"type": "string"})
OPENAPI_DOC = _plain("openapi", "This document", "application/json", {"type": "object"})
