"""The request line's fast path writes what structlog's chain writes (keys, order, context)."""

from __future__ import annotations

import io
import json
import sys

import structlog

from kazoo_crossbar import log


def test_the_fast_request_line_matches_structlogs(monkeypatch):
    slow, fast = io.BytesIO(), io.BytesIO()
    monkeypatch.setattr(sys, "stderr", io.TextIOWrapper(slow))
    line = log._RequestLog()  # not the module's: structlog caches a logger's stream on first use
    try:
        log.configure("json")
        assert log.request_log.out is not None  # the fast path is on for JSON lines at INFO
        line.out = fast
        fields = {"method": "GET", "path": "/v2/resources/é☃", "status": 200, "duration_ms": 1.25}
        with structlog.contextvars.bound_contextvars(request_id="r" * 32, job_id="j1"):
            line(**fields)
            line.slow.info("request", **fields)
        log.configure("console")
        assert log.request_log.out is None  # console lines: structlog's
    finally:
        structlog.reset_defaults()
        log.request_log.out = None
    sys.stderr.flush()
    got, want = json.loads(fast.getvalue()), json.loads(slow.getvalue().splitlines()[0])
    assert got.pop("timestamp")[-1] == "Z" and want.pop("timestamp")[-1] == "Z"
    assert list(got.items()) == list(want.items())
    assert fast.getvalue().endswith(b"\n") and fast.getvalue().count(b"\n") == 1
