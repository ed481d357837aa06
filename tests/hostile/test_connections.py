"""Issue 21 item 6: half-open sockets from one address cannot use every file descriptor.

A real `serve` process with its open-files limit pinned at 512 (soft and hard, so it cannot
raise it). An attacker on 127.0.0.2 keeps 700 connections open that never send a full request;
/health from 127.0.0.1 must keep answering 200 within a small multiple of its idle latency, the
cap must be logged, and the header timeout must close the attacker's sockets. The settings go
by environment variables (an older build that does not know them still starts, and fails)."""

from __future__ import annotations

import asyncio
import resource
import secrets
import time
from collections import Counter

import aiohttp
import pytest

from ..services import ServiceProcess
from .latency import measure

FD_LIMIT = 512
HELD = 700  # more than the service has descriptors
ATTACKER = "127.0.0.2"
PROBE_GUARD_S = 10  # a probe that gets no answer in this time failed (a hang guard, not a speed check)


def pin_fd_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


@pytest.fixture(scope="module")
def service(couchdb_url, master, tmp_path_factory):
    proc = ServiceProcess(
        couchdb_url,
        f"conns{secrets.token_hex(3)}@test",
        tmp_path_factory.mktemp("connections"),
        preexec_fn=pin_fd_limit,
        KAZOO_CROSSBAR_MAX_CONNECTIONS_PER_IP="100",
        KAZOO_CROSSBAR_HEADER_TIMEOUT_S="2",
        KAZOO_CROSSBAR_BODY_TIMEOUT_S="2",
    )
    proc.start()
    yield proc
    proc.stop()


class Attacker:
    """Keeps up to HELD half-open connections from ATTACKER: a partial request line, nothing more."""

    def __init__(self, port: int):
        self.port = port
        self.writers: list[asyncio.StreamWriter] = []
        self.refused = 0

    async def top_up(self) -> None:
        self.writers = [w for w in self.writers if not w.is_closing() and not w.transport.is_closing()]
        missing = HELD - len(self.writers)
        results = await asyncio.gather(*(self._open() for _ in range(min(missing, 200))), return_exceptions=True)
        self.refused += sum(isinstance(r, OSError) for r in results)
        await asyncio.sleep(0.05)

    async def _open(self) -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", self.port, local_addr=(ATTACKER, 0))
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        self.writers.append(writer)

    def close(self) -> None:
        for w in self.writers:
            w.transport.abort()
        self.writers = []


async def test_half_open_sockets_from_one_address_cannot_starve_the_service(service):
    statuses: list[int | str] = []
    connector = aiohttp.TCPConnector(force_close=True)  # a new connection per probe: accepting must work
    async with aiohttp.ClientSession(connector=connector) as session:

        async def probe() -> None:
            try:
                async with asyncio.timeout(PROBE_GUARD_S):
                    async with session.get(f"{service.url}/health") as resp:
                        statuses.append(resp.status)
                        await resp.read()
            except (TimeoutError, aiohttp.ClientError) as exc:
                statuses.append(type(exc).__name__)

        attacker = Attacker(service.port)
        try:
            result = await measure(probe, attacker.top_up, limit=20, round_budget_s=30)
        finally:
            attacker.close()
    print(result, f"probe answers {dict(Counter(map(str, statuses)))}")  # the figure for the closing table
    assert set(statuses) == {200}, statuses
    assert result.ratio <= result.limit, str(result)
    capped = service.events("connection_cap_reached")
    assert capped and capped[0]["address"] == ATTACKER, capped


async def test_headers_that_never_finish_are_closed_by_the_header_timeout(service):
    reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    try:
        async with asyncio.timeout(30):  # hang guard; the service's timeout is 2 s
            assert await reader.read() == b""
    finally:
        writer.transport.abort()
    print(f"closed after {time.monotonic() - started:.1f} s")


async def test_a_body_that_never_finishes_is_a_408(service):
    reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
    head = b"PUT /v2/api_auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    writer.write(head + b'{"data":')
    try:
        async with asyncio.timeout(30):  # hang guard; the service's body timeout is 2 s
            answer = await reader.read()
    finally:
        writer.transport.abort()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"request_timeout"' in answer
