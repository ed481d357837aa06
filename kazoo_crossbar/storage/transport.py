"""How the CouchDB client moves bytes: one request, one answer, on a pool of keep-alive connections.

`CouchClient` (couch.py) builds the request target and maps the answer to Kazoo's errors; a
transport only sends `METHOD target` with a body and returns `Response(status, headers, body)`.
Two transports keep the same contract (tests/integration/test_couch_client.py runs every client
test over both):

- `KeepAliveTransport`, the default: HTTP/1.1 parsed by httptools (llhttp, the parser Node uses),
  on asyncio protocols. A GET costs about a third of the CPU aiohttp's client session spends on
  it (no tracing, cookies, URL objects or response wrappers), and that CPU is most of what the
  service adds to a CouchDB read (docs/decisions.md, "Performance and benchmarks").
- `AiohttpTransport`: the previous client (aiohttp.ClientSession), kept behind the same seam.

Both raise only `TimeoutError` (total time or connect time used up), `StaleConnection` (a reused
keep-alive connection was closed before any byte of an answer: safe to send again) and other
`ConnectionError`/`OSError`s (CouchDB unreachable, or an answer cut off).
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Mapping
from typing import NamedTuple, Protocol

import aiohttp
import httptools
from yarl import URL

from .lane import PARTY, Places


class Response(NamedTuple):
    status: int
    headers: Mapping[str, str]  # names lower-case for KeepAliveTransport; aiohttp's are case-insensitive
    body: bytes


class StaleConnection(ConnectionError):
    """A pooled keep-alive connection was closed by the server before it answered: the request
    never reached CouchDB, so sending it once more on a fresh connection is safe."""


class Transport(Protocol):
    async def request(
        self, method: str, target: str, body: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> Response: ...

    async def close(self) -> None: ...


def basic_auth(url: URL) -> str | None:
    if not url.user:
        return None
    token = base64.b64encode(f"{url.user}:{url.password or ''}".encode()).decode("ascii")
    return f"Basic {token}"


class _Connection(asyncio.Protocol):
    """One TCP connection to CouchDB, answering one request at a time (no pipelining)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Response] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.answering = False  # a byte of the current answer has arrived
        self.head = False  # the current request is a HEAD: its answer has no body
        self.keep_alive = True
        self.closed = False
        self.used = 0  # requests answered on this connection
        self.idle_since = 0.0

    # --- asyncio.Protocol ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.answering = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"CouchDB answered with invalid HTTP: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            if not self.answering and self.used:
                self.waiter.set_exception(StaleConnection("CouchDB closed a keep-alive connection"))
            else:
                self.waiter.set_exception(ConnectionError(str(exc) if exc else "CouchDB closed the connection"))

    # --- httptools callbacks -------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        if self.head:  # llhttp cannot be told the request was a HEAD: the answer ends here
            self.keep_alive = False
            self._done()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if not self.head:
            self.keep_alive = self.parser.should_keep_alive()
            self._done()

    # --- one exchange --------------------------------------------------------------------------
    def send(self, data: bytes, head: bool, deadline: float) -> asyncio.Future[Response]:
        """The answer, or TimeoutError at `deadline` (loop time): a timer on the future, cheaper
        per request than an asyncio.timeout() around the await."""
        assert self.transport is not None
        self.waiter = self.loop.create_future()
        self.timer = self.loop.call_at(deadline, self._expire)
        self.headers, self.body, self.answering, self.head = {}, [], False, head
        self.transport.write(data)
        return self.waiter

    def _expire(self) -> None:
        self._fail(TimeoutError("CouchDB did not answer in time"))

    def _done(self) -> None:
        waiter, self.waiter = self.waiter, None
        if self.timer is not None:
            self.timer.cancel()
        self.used += 1
        if waiter is not None and not waiter.done():
            status = self.parser.get_status_code()
            waiter.set_result(Response(status, self.headers, b"".join(self.body)))

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)
        self.abort()

    def abort(self) -> None:
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
        if self.transport is not None:
            self.transport.abort()


class KeepAliveTransport:
    """Up to `limit` requests in flight, each on a connection of its own; an idle connection is
    reused (most recently used first) unless CouchDB closed it or it idled past `idle_s`
    (shorter than the servers' own keep-alive timeouts, Node's 5 s, so a reuse rarely races a
    server-side close; when it does, the caller gets StaleConnection and sends again)."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        limit: int = 64,
        idle_s: float = 4.0,
    ) -> None:
        parsed = URL(url)
        if parsed.scheme != "http":  # TLS to CouchDB goes through AiohttpTransport
            raise ValueError(f"KeepAliveTransport speaks plain http, not {parsed.scheme!r}")
        self.host, self.port = parsed.host or "127.0.0.1", parsed.port or 80
        host_header = parsed.host if parsed.port in (None, 80) else f"{parsed.host}:{parsed.port}"
        auth = basic_auth(parsed)
        # the fixed part of every request head, encoded once
        self._fixed = (
            f"Host: {host_header}\r\nAccept: application/json\r\n" + (f"Authorization: {auth}\r\n" if auth else "")
        ).encode("latin-1")
        self.timeout_s, self.connect_timeout_s, self.idle_s = timeout_s, connect_timeout_s, idle_s
        self.limit = limit
        self.places = Places(limit)  # who goes first, and when (lane.py)
        self._idle: list[_Connection] = []

    async def request(
        self, method: str, target: str, body: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> Response:
        head = [f"{method} {target} HTTP/1.1\r\n".encode("latin-1"), self._fixed]
        if headers:
            head.append("".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1"))
        if body is not None or method in ("PUT", "POST"):
            head.append(b"Content-Length: %d\r\n" % len(body or b""))
        head.append(b"\r\n")
        if body:
            head.append(body)
        data = b"".join(head)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        party = PARTY.get()
        await self.places.take(party, deadline)
        try:
            conn = await self._connection(deadline)
            try:
                resp = await conn.send(data, method == "HEAD", deadline)
            except BaseException:
                conn.abort()  # an answer may still be on its way: this connection is done
                raise
            self._release(conn)
            return resp
        finally:
            self.places.give(party)

    async def _connection(self, deadline: float) -> _Connection:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed and now - conn.idle_since < self.idle_s:
                return conn
            conn.abort()
        loop = asyncio.get_running_loop()
        async with asyncio.timeout_at(min(deadline, loop.time() + self.connect_timeout_s)):
            _, conn = await loop.create_connection(lambda: _Connection(loop), self.host, self.port)
        return conn

    def _release(self, conn: _Connection) -> None:
        if conn.keep_alive and not conn.closed:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:
            conn.abort()

    async def close(self) -> None:
        """Closes the idle connections (a request in flight keeps its own); the transport opens new ones if it is used again, as aiohttp's session does."""
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.abort()


class AiohttpTransport:
    """The same contract on aiohttp's client session (also what speaks https)."""

    def __init__(self, url: str, *, timeout_s: float = 30.0, connect_timeout_s: float = 5.0, limit: int = 64) -> None:
        parsed = URL(url)
        self.base = str(parsed.origin())  # the target carries the path
        auth = basic_auth(parsed)
        self._headers = {"Accept": "application/json", **({"Authorization": auth} if auth else {})}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=connect_timeout_s)
        self.limit = limit
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, headers=self._headers, connector=aiohttp.TCPConnector(limit=self.limit)
            )
        return self._session

    async def request(
        self, method: str, target: str, body: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> Response:
        try:
            async with self.session.request(
                method, URL(self.base + target, encoded=True), data=body, headers=headers
            ) as resp:
                return Response(resp.status, resp.headers, await resp.read())
        except aiohttp.ServerDisconnectedError as exc:
            raise StaleConnection(str(exc) or "CouchDB closed the connection") from exc
        except aiohttp.ClientError as exc:  # connection errors, and an answer cut short (payload errors)
            if isinstance(exc, OSError):
                raise
            raise ConnectionError(str(exc) or type(exc).__name__) from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
