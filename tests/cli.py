"""Running the `kazoo-crossbar` command as a user does: a process of its own, with none of the
test run's KAZOO_* settings unless a test passes them."""

from __future__ import annotations

import os
import subprocess
import sys


def kc(*args: str, env: dict | None = None, stdout: int = subprocess.PIPE) -> subprocess.CompletedProcess:
    """`kazoo-crossbar ARGS…`, to its end; stderr (and stdout, unless redirected) captured as text."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("KAZOO_")}
    return subprocess.run(
        [sys.executable, "-m", "kazoo_crossbar", *args],
        env={**base, **(env or {})},
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
    )


def one_line_failure(proc: subprocess.CompletedProcess, command: str, *fragments: str) -> str:
    """The command failed with one `kazoo-crossbar COMMAND: error: …` line holding each fragment; that line."""
    assert proc.returncode != 0, proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"kazoo-crossbar {command}: error: "), lines[0]
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]
