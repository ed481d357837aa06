"""Issue 21 item 8: transfer edge cases are a 400 envelope or a quiet close, never a 500, and
the service's log (stderr of a real `serve` process) holds no traceback."""

from __future__ import annotations

import asyncio
import gzip
import json
import secrets
import zlib

import pytest

from ..services import ServiceProcess

IO_GUARD_S = 30  # a hang guard for each exchange, not a speed check


@pytest.fixture(scope="module")
def service(couchdb_url, master, tmp_path_factory):
    proc = ServiceProcess(couchdb_url, f"encoding{secrets.token_hex(3)}@test", tmp_path_factory.mktemp("encoding"))
    proc.start()
    yield proc
    proc.stop()


async def exchange(port: int, head: str, body: bytes = b"", *, then_close: bool = False) -> tuple[int | None, bytes]:
    """Send a raw request; (status, body) of the answer, status None when the server just closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        await writer.drain()
        if then_close:
            writer.close()
            return None, b""
        raw = await asyncio.wait_for(reader.read(), IO_GUARD_S)
    except (ConnectionResetError, BrokenPipeError):
        return None, b""
    finally:
        writer.close()
    if not raw:
        return None, b""
    status = int(raw.split(b" ", 2)[1])
    return status, raw.partition(b"\r\n\r\n")[2]


def request(method: str, path: str, length: int, *extra: str) -> str:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json", *extra]
    return "\n".join([*lines, f"Content-Length: {length}", "Connection: close", ""])


def envelope_or_close(status: int | None, body: bytes, expected: int = 400) -> None:
    if status is None:
        return  # a quiet close is an answer too
    assert status == expected, body[:300]
    assert json.loads(body)["status"] == "error"


async def test_gzip_header_with_a_body_that_is_not_gzip(service):
    raw = b'{"data":{"api_key":"x"}}'
    status, body = await exchange(service.port, request("PUT", "/v2/api_auth", len(raw), "Content-Encoding: gzip"), raw)
    envelope_or_close(status, body)
    assert status is not None  # the answer is an envelope, not only a close


@pytest.mark.parametrize("encoding", ["deflate", "br", "x-unknown"])
async def test_other_encodings_with_a_body_that_is_not_theirs(service, encoding):
    raw = b'{"data":{"api_key":"x"}}'
    status, body = await exchange(
        service.port, request("PUT", "/v2/api_auth", len(raw), f"Content-Encoding: {encoding}"), raw
    )
    envelope_or_close(status, body)


async def test_truncated_gzip(service):
    raw = gzip.compress(b'{"data":{"api_key":"' + b"x" * 1000 + b'"}}')[:-20]
    status, body = await exchange(service.port, request("PUT", "/v2/api_auth", len(raw), "Content-Encoding: gzip"), raw)
    envelope_or_close(status, body)


async def test_gzip_bomb_is_refused_at_the_size_limit(service):
    """About 100 KB of gzip inflating to 100 MB: refused as over the login body limit."""
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
    raw = bomb.compress(b'{"data":{"api_key":"') + bomb.compress(b"0" * (100 << 20)) + bomb.flush()
    status, body = await exchange(service.port, request("PUT", "/v2/api_auth", len(raw), "Content-Encoding: gzip"), raw)
    envelope_or_close(status, body)
    if status is not None:
        assert "maxSize" in json.loads(body)["data"]["file"]


async def test_upload_aborted_after_100_continue(service):
    reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
    head = request("PUT", "/v2/api_auth", 100_000, "Expect: 100-continue")
    writer.write(head.replace("\n", "\r\n").encode() + b"\r\n")
    await writer.drain()
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IO_GUARD_S)
    assert interim.startswith(b"HTTP/1.1 100")
    writer.write(b'{"data":{"api_key":"' + b"x" * 1000)
    await writer.drain()
    writer.transport.abort()  # gone mid-body
    await asyncio.sleep(0.5)
    # and the same with an orderly close instead of a reset
    status, _ = await exchange(
        service.port, request("PUT", "/v2/api_auth", 100_000, "Expect: 100-continue"), then_close=True
    )
    assert status is None


async def test_a_request_line_over_8190_bytes(service):
    status, body = await exchange(service.port, f"GET /v2/resources?{'a' * 9000} HTTP/1.1\nHost: 127.0.0.1\n")
    envelope_or_close(status, body)


async def test_the_log_holds_no_traceback(service):
    """Runs after the cases above (same module): every one of them is in the log, none as a traceback."""
    # one more request so the service has written everything before we read its log
    status, _ = await exchange(service.port, "GET /health HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n")
    assert status == 200
    await asyncio.sleep(0.5)
    log = service.log_path.read_text()
    assert "Traceback" not in log, log[-3000:]
    assert not service.events("unhandled_error")
    statuses = [e["status"] for e in service.events("request")]
    assert 500 not in statuses, statuses
