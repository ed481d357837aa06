"""Run every benchmark in turn (`make bench`); each prints its own JSON report."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

for script in ("p1_get.py", "p2_job.py", "p3_listing.py", "p4_rss.py"):
    print(f"== {script}", flush=True)
    subprocess.run([sys.executable, str(HERE / script)], check=True, cwd=HERE)
