"""The one middleware covers every route: request id, Kazoo error envelope, metrics, request log."""

from __future__ import annotations

import structlog


async def test_plain_routes_get_request_id_metrics_and_errors(client):
    resp = await client.get("/health", headers={"X-Request-ID": "health-check-1"})
    assert resp.status == 200 and resp.headers["X-Request-ID"] == "health-check-1"
    resp = await client.delete("/v2/api_auth")
    body = await resp.json()
    assert resp.status == 405 and body["status"] == "error" and body["error"] == "405"
    assert body["message"] == "invalid_method" and resp.headers["X-Request-ID"] == body["request_id"]
    text = await (await client.get("/metrics")).text()
    assert 'crossbar_requests_total{endpoint="health",method="GET",status="200"}' in text
    assert 'crossbar_requests_total{endpoint="api_auth",method="DELETE",status="405"}' in text
    # The Prometheus registry is process-wide: other tests may have counted
    # /openapi.json already, so compare the count before and after.
    before = _openapi_count(text)
    await client.get("/openapi.json")
    text = await (await client.get("/metrics")).text()
    assert _openapi_count(text) == before + 1


def _openapi_count(metrics_text: str) -> float:
    key = 'crossbar_request_seconds_count{endpoint="openapi.json",method="GET"} '
    for line in metrics_text.splitlines():
        if line.startswith(key):
            return float(line[len(key) :])
    return 0.0


async def test_request_log_line_has_duration(client):
    with structlog.testing.capture_logs() as logs:
        await client.get("/health", headers={"X-Request-ID": "log-line-1"})
        await client.get("/v2/nothing-here")
    lines = [e for e in logs if e["event"] == "request"]
    assert [e["path"] for e in lines] == ["/health", "/v2/nothing-here"]
    assert all(isinstance(e["duration_ms"], float) and e["duration_ms"] >= 0 for e in lines)
    assert lines[0]["status"] == 200 and lines[1]["status"] == 401
