"""Answers the HTTP server gives before any route or middleware runs: a request line or header
over 8190 bytes, too many headers, a control byte in the path, a method token it cannot parse.

aiohttp answers those itself in text/plain and quotes up to 100 bytes of the offending line
back. Here they are Kazoo envelopes (e.g. 400 `bad_request`, nothing of the request quoted) and the
connection is closed, as aiohttp does. aiohttp builds its per-connection handler from the
`RequestHandler` name in `aiohttp.web_server`; `install()` points that name at the subclass
below (once per process; tests/hostile/test_console.py checks it is in place)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from aiohttp import http_exceptions, web, web_protocol, web_server

from . import envelope, errors
from .context import Context, new_request_id

log = structlog.get_logger(__name__)

# What a client does wrong or a connection that goes away: logged as one line, never a traceback
# (aiohttp logs each with its traceback: an upload aborted after `100 Continue`, a body that is
# not the gzip it says, a header line over 8190 bytes).
CLIENT_FAULTS = (
    http_exceptions.HttpProcessingError,
    web_protocol.RequestPayloadError,
    web_protocol.PayloadAccessError,
    ConnectionError,
)


class EnvelopeRequestHandler(web_protocol.RequestHandler):
    node_hash = ""

    def handle_error(
        self, request: Any, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        # aiohttp logs, and refuses (ConnectionError) when a response has already started
        super().handle_error(request, status, exc, message)
        ctx = Context(request=request, method="GET", node_hash=self.node_hash, request_id=new_request_id(None))
        if status == HTTPStatus.INTERNAL_SERVER_ERROR:
            error = errors.unspecified_fault()
        else:
            error = errors.from_http(status, HTTPStatus(status).phrase)
        response = envelope.error(ctx, error)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.force_close()
        return response

    def log_exception(self, *args: Any, **kw: Any) -> None:
        exc = kw.get("exc_info")
        if isinstance(exc, CLIENT_FAULTS):
            reason = str(exc).strip().splitlines()[-1].strip() if str(exc).strip() else ""
            log.info("client_fault", error=type(exc).__name__, reason=reason[:200])
            return
        super().log_exception(*args, **kw)  # a bug of ours keeps its traceback


def install(node_hash: str) -> None:
    EnvelopeRequestHandler.node_hash = node_hash
    web_server.RequestHandler = EnvelopeRequestHandler  # type: ignore[misc]
