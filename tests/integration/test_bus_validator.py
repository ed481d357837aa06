"""The session-wide bus validator (tests/conftest.py, tests/broker.py) fails a run in which any
message lacks what a Kazoo node requires: here a run that publishes one message without `Msg-ID`
fails, listing it, and the same run with the header passes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SELFTEST = "tests/fixtures/bus_selftest/publish.py"


def inner_run(message: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", SELFTEST],
        cwd=ROOT,
        env={**os.environ, "KAZOO_SELFTEST_MESSAGE": message},
        capture_output=True,
        text=True,
        timeout=300,
    )


async def test_a_message_without_msg_id_fails_the_run():
    bad, good = await asyncio.gather(
        asyncio.to_thread(inner_run, "without_msg_id"), asyncio.to_thread(inner_run, "valid")
    )
    assert "1 passed" in bad.stdout, bad.stdout + bad.stderr  # the test itself passed ...
    assert bad.returncode == 1, bad.stdout  # ... and the validator failed the run
    assert "kazoo bus validator: 1 messages checked with Kazoo's validators, 1 invalid" in bad.stdout
    assert (
        "INVALID configuration doc_created.offnet.resource.res1: default header Msg-ID missing or empty" in bad.stdout
    )
    assert good.returncode == 0, good.stdout + good.stderr
    assert "kazoo bus validator: 1 messages checked with Kazoo's validators, 0 invalid" in good.stdout
