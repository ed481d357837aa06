"""The per-connection HTTP handler: answers given before any route runs, and connection limits.

Answers the HTTP server gives before any route or middleware runs: a request line or header
over 8190 bytes, too many headers, a control byte in the path, a method token it cannot parse.
aiohttp answers those itself in text/plain and quotes up to 100 bytes of the offending line
back. Here they are Kazoo envelopes (e.g. 400 `bad_request`, nothing of the request quoted) and the
connection is closed, as aiohttp does.

Connection limits (issue 21: 21,000 half-open sockets from one address used every file
descriptor): a connection must finish sending its request headers within `header_timeout`
seconds (from its start, or from the first byte of the next request on a kept-alive
connection), a body must arrive within `body_timeout` seconds (read by http/body.py), and one
address may hold at most `per_address` connections, all addresses together at most `total`
(derived from the file descriptor limit). A refused connection is reset at once; the first
refusal of an address, then one every 10 s, is logged.

aiohttp builds its per-connection handler from the `RequestHandler` name in
`aiohttp.web_server`, with the keyword arguments given to `web.run_app`/`AppRunner`/`TestServer`;
`install()` points that name at the subclass below (once per process;
tests/hostile/test_ui_confinement.py checks it is in place)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import structlog
from aiohttp import http_exceptions, web, web_protocol, web_server

from . import envelope, errors
from .context import Context, new_request_id

log = structlog.get_logger(__name__)

DEFAULT_HEADER_TIMEOUT_S = 10.0
DEFAULT_BODY_TIMEOUT_S = 60.0
DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 256
CAP_LOG_INTERVAL_S = 10.0

# What a client does wrong or a connection that goes away: logged as one line, never a traceback
# (aiohttp logs each with its traceback: an upload aborted after `100 Continue`, a body that is
# not the gzip it says, a header line over 8190 bytes).
CLIENT_FAULTS = (
    http_exceptions.HttpProcessingError,
    web_protocol.RequestPayloadError,
    web_protocol.PayloadAccessError,
    ConnectionError,
)


@dataclass
class ConnectionLimits:
    """Open connections per peer address and in all, shared by every handler of one server.
    A limit of 0 is no limit."""

    per_address: int = DEFAULT_MAX_CONNECTIONS_PER_ADDRESS
    total: int = 0
    open: dict[str, int] = field(default_factory=dict)
    open_total: int = 0
    _refused: dict[str, int] = field(default_factory=dict)
    _logged_at: dict[str, float] = field(default_factory=dict)

    def admit(self, address: str) -> bool:
        held = self.open.get(address, 0)
        if (self.per_address and held >= self.per_address) or (self.total and self.open_total >= self.total):
            self._refuse(address, held)
            return False
        self.open[address] = held + 1
        self.open_total += 1
        return True

    def release(self, address: str) -> None:
        held = self.open.get(address, 0) - 1
        if held > 0:
            self.open[address] = held
        else:
            self.open.pop(address, None)
        self.open_total -= 1

    def _refuse(self, address: str, held: int) -> None:
        self._refused[address] = self._refused.get(address, 0) + 1
        now = time.monotonic()
        if now - self._logged_at.get(address, -CAP_LOG_INTERVAL_S) < CAP_LOG_INTERVAL_S:
            return
        if len(self._logged_at) > 10_000:  # many addresses: forget the old ones
            self._logged_at = {a: t for a, t in self._logged_at.items() if now - t < CAP_LOG_INTERVAL_S}
        self._logged_at[address] = now
        log.warning(
            "connection_cap_reached",
            address=address,
            open_from_address=held,
            max_connections_per_address=self.per_address,
            open_total=self.open_total,
            max_connections=self.total,
            refused=self._refused.pop(address),
        )


class EnvelopeRequestHandler(web_protocol.RequestHandler):
    node_hash = ""

    def __init__(
        self,
        manager: web_server.Server,
        *,
        connection_limits: ConnectionLimits | None = None,
        header_timeout: float = DEFAULT_HEADER_TIMEOUT_S,
        body_timeout: float = DEFAULT_BODY_TIMEOUT_S,
        **kwargs: Any,
    ):
        super().__init__(manager, **kwargs)
        self.connection_limits, self.header_timeout, self.body_timeout = connection_limits, header_timeout, body_timeout
        self._address: str | None = None  # set once admitted (and counted)
        self._refused = False
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        if self.connection_limits is not None:
            peer = transport.get_extra_info("peername")
            address = str(peer[0]) if isinstance(peer, tuple) and peer else ""
            if not self.connection_limits.admit(address):
                self._refused = True
                transport.abort()  # reset: the descriptor is free at once
                return
            self._address = address
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._refused:
            return  # never handed to aiohttp
        if self._address is not None and self.connection_limits is not None:
            self.connection_limits.release(self._address)
            self._address = None
        self._disarm_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        before = self._request_count
        super().data_received(data)
        if self._request_count != before:
            self._disarm_header_timer()  # a request's headers are complete
        elif self._header_timer is None and self._waiting_for_request():
            self._arm_header_timer()  # the first bytes of the next request on a kept-alive connection

    def _waiting_for_request(self) -> bool:
        return self._waiter is not None and not self._waiter.done() and not self._messages

    def _arm_header_timer(self) -> None:
        if self.header_timeout > 0 and self.transport is not None:
            self._header_timer = self._loop.call_later(self.header_timeout, self._header_timeout_fired)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout_fired(self) -> None:
        self._header_timer = None
        if self._waiting_for_request():
            self.force_close()  # headers never completed: a slow or silent client

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

    def abandon_body(self) -> None:
        """Close after this response instead of reading the rest of the body for `lingering_time`
        (aiohttp's default): for a body that trickles in or cannot be decoded."""
        self._lingering_time = 0.0


def body_timeout(request: web.BaseRequest) -> float:
    """Seconds a request's body may take to arrive (its connection's setting)."""
    return getattr(request.protocol, "body_timeout", DEFAULT_BODY_TIMEOUT_S)


def abandon_body(request: web.BaseRequest) -> None:
    if isinstance(request.protocol, EnvelopeRequestHandler):
        request.protocol.abandon_body()


def install(node_hash: str) -> None:
    EnvelopeRequestHandler.node_hash = node_hash
    web_server.RequestHandler = EnvelopeRequestHandler  # type: ignore[misc]
