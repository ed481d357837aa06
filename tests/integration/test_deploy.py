"""deploy/kazoo-crossbar.service passes `systemd-analyze verify` (where that tool exists), with
ExecStart pointed at this checkout's `kazoo-crossbar` and the example environment file."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed (Debian: apt-get install systemd)")
def test_the_systemd_unit_verifies(tmp_path):
    entry_point = Path(sys.executable).parent / "kazoo-crossbar"
    assert entry_point.is_file(), "the package's kazoo-crossbar command (pip install) is missing"
    unit = (DEPLOY / "kazoo-crossbar.service").read_text(encoding="utf-8")
    assert "ExecStart=/opt/kazoo-crossbar/bin/kazoo-crossbar serve" in unit
    unit = unit.replace("/opt/kazoo-crossbar/bin/kazoo-crossbar", str(entry_point))
    unit = unit.replace("/etc/kazoo-crossbar/kazoo-crossbar.env", str(DEPLOY / "kazoo-crossbar.env"))
    path = tmp_path / "kazoo-crossbar.service"
    path.write_text(unit, encoding="utf-8")
    assert ANALYZE is not None
    proc = subprocess.run([ANALYZE, "verify", str(path)], capture_output=True, text=True, timeout=60)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    # unknown keys and sections are only warnings for systemd: fail on them here
    assert "kazoo-crossbar.service" not in output, output
