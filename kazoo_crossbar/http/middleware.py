"""The one middleware every route goes through (the Kazoo API, /health, /metrics, /openapi.json):
it sets the request id, renders every error as Kazoo's envelope (never a traceback), records
the metrics and writes one request log line with `duration_ms`. Per request it does only
that: a context object, one structlog line and two prometheus updates (on label children
looked up once per label set, not per request)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from ..log import request_log
from ..metrics import Metrics
from ..storage.couch import CouchError
from . import envelope, errors
from .context import Context, new_request_id
from .errors import ApiError

log = structlog.get_logger(__name__)
CONTEXT = web.RequestKey("crossbar_context", Context)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def endpoint_label(ctx: Context) -> str:
    """A low-cardinality name for metrics: the noun, `accounts/` when scoped, plus `jobs`/`collection`;
    a plain route's own path."""
    if not ctx.nouns:
        route = ctx.request.match_info.route.resource
        canonical = route.canonical if route is not None else ""
        # a plain route's template (`ui/{path}`) is one label; the pipeline's catch-all is not a name
        return canonical.lstrip("/") if canonical and not canonical.startswith("/{tail") else "unknown"
    noun, args = ctx.nouns[-1]
    scope = "accounts/" if ctx.account_id is not None else ""
    sub = f"/{args[0]}" if args and args[0] in ("jobs", "collection") else ("/{id}" if args else "")
    return f"{scope}{noun}{sub}"


def request_middleware(metrics: Metrics, node_hash: str) -> Callable:
    counters: dict[tuple[str, str, int], Any] = {}
    histograms: dict[tuple[str, str], Any] = {}

    def record(label: str, method: str, status: int, elapsed: float) -> None:
        counter = counters.get((label, method, status))
        if counter is None:
            counter = counters[(label, method, status)] = metrics.requests.labels(
                endpoint=label, method=method, status=str(status)
            )
        histogram = histograms.get((label, method))
        if histogram is None:
            histogram = histograms[(label, method)] = metrics.latency.labels(endpoint=label, method=method)
        counter.inc()
        histogram.observe(elapsed)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        ctx = Context(
            request=request,
            method=request.method.upper(),
            node_hash=node_hash,
            request_id=new_request_id(request.headers.get("X-Request-ID")),
        )
        request[CONTEXT] = ctx
        bound = structlog.contextvars.bind_contextvars(request_id=ctx.request_id)
        try:
            response: web.StreamResponse
            try:
                response = await handler(request)
            except ApiError as exc:
                response = envelope.error(ctx, exc, ctx.allowed)
            except CouchError as exc:
                log.warning("couchdb_error", status=exc.status, error=exc.error, reason=exc.reason, db=exc.db)
                metrics.couchdb_errors.labels(error=exc.error or str(exc.status)).inc()
                response = envelope.error(ctx, errors.from_couch(exc), ctx.allowed)
            except web.HTTPException as exc:  # aiohttp's own answers: a redirect as it is,
                # a refusal (the router's 404 for a target that is not a path) as an envelope
                response = exc if exc.status < 400 else envelope.error(ctx, errors.from_http(exc.status, exc.reason))
            except Exception:  # a bug: log it, never show a traceback
                log.exception("unhandled_error", path=request.path, method=ctx.method)
                response = envelope.error(ctx, errors.unspecified_fault(), ctx.allowed)
            response.headers.setdefault("X-Request-ID", ctx.request_id)
            if ctx.method == "HEAD" and isinstance(response, web.Response):
                response.body = b""
            elapsed = time.perf_counter() - started
            record(endpoint_label(ctx), ctx.method, response.status, elapsed)
            request_log(
                method=ctx.method, path=request.path, status=response.status, duration_ms=round(elapsed * 1000, 3)
            )
        finally:
            structlog.contextvars.reset_contextvars(**bound)
        if isinstance(response, web.HTTPException):
            raise response
        return response

    return middleware
