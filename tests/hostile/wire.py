"""What the hostile tests check answers with: JSON read strictly, Kazoo's error envelope, and raw
bytes on the wire."""

from __future__ import annotations

import asyncio
import json


def strict_json(text: str) -> dict:
    def refuse(value):
        raise AssertionError(f"not JSON: {value}")

    return json.loads(text, parse_constant=refuse)


async def envelope(resp, status: int) -> dict:
    text = await resp.text()
    assert resp.status == status, text[:500]
    assert resp.headers["Content-Type"].startswith("application/json")
    body = strict_json(text)
    assert body["status"] == "error" and body["error"] == str(status)
    return body


async def raw_request(client, request: bytes) -> tuple[int, bytes]:
    """Bytes on the wire, as no HTTP client library would send them."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(request)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    head, _, payload = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), payload
