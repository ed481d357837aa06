"""Where the embedded CouchDB spends its CPU during a job: runs one job of N numbers against a
CouchDB started with `node --cpu-prof`, then prints self time by package and by function, and the
CouchDB's peak RSS. Extra node flags (e.g. to try a setting) go in BENCH_NODE_FLAGS.

    python bench/profile_couch.py [NUMBERS] [CHUNK] [REPEAT] [--no-profile]

Without the profiler it prints, per job, the CouchDB's CPU seconds (utime + stime, LevelDB's
background threads included): the figure to compare settings by on a shared machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp
from harness import create_resource, proc_mb, started
from jobs import assert_all_added, ensure_number_dbs, fresh_block, submit, wait_complete


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summarize(profile: dict, top: int = 25) -> None:
    nodes = {n["id"]: n for n in profile["nodes"]}
    # samples + timeDeltas: microseconds spent with each node on top of the stack
    self_us: Counter[int] = Counter()
    for node_id, delta in zip(profile["samples"], profile["timeDeltas"]):
        self_us[node_id] += delta
    total = sum(self_us.values()) or 1
    by_pkg: Counter[str] = Counter()
    by_fn: Counter[str] = Counter()
    for node_id, us in self_us.items():
        frame = nodes[node_id]["callFrame"]
        url = frame.get("url", "")
        m = re.search(r"node_modules/((?:@[^/]+/)?[^/]+)", url)
        pkg = (
            m[1]
            if m
            else (
                "server.js"
                if url.endswith("server.js")
                else (url.split("/")[-1] or frame["functionName"] or "(native)")
            )
        )
        by_pkg[pkg] += us
        by_fn[f"{frame['functionName'] or '(anonymous)'} {pkg}:{frame.get('lineNumber', 0) + 1}"] += us
    print(f"CPU profile: {total / 1e6:.1f} s sampled")
    for title, counter in (("by package", by_pkg), ("by function (self time)", by_fn)):
        print(f"-- {title}")
        for key, us in counter.most_common(top):
            print(f"{us / total * 100:6.1f}%  {us / 1e6:7.2f} s  {key}")


async def main() -> None:
    argv = [a for a in sys.argv[1:] if not a.startswith("--")]
    count = int(argv[0]) if argv else 10_000
    chunk = int(argv[1]) if len(argv) > 1 else 10_000
    repeat = int(argv[2]) if len(argv) > 2 else 1
    prof_dir = Path(tempfile.mkdtemp(prefix="couch-prof-"))
    if "--no-profile" not in sys.argv:
        extra = os.environ.get("BENCH_NODE_FLAGS", "")
        os.environ["BENCH_NODE_FLAGS"] = f"{extra} --cpu-prof --cpu-prof-dir={prof_dir}".strip()
    s = await started()
    try:
        acc, headers = await s.account()
        jobs_url = f"{s.api_url}/v2/accounts/{acc['_id']}/resources/jobs"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3600)) as http:
            rid = await create_resource(http, f"{s.api_url}/v2/accounts/{acc['_id']}/resources", headers)
            from harness import CouchClient

            assert s.couch is not None
            for _ in range(repeat):
                couch = CouchClient(s.couch_url, timeout_s=600)
                numbers = fresh_block(count)
                await ensure_number_dbs(couch, numbers)
                await couch.close()
                t0, cpu0 = time.perf_counter(), cpu_s(s.couch.pid)
                ids = [
                    await submit(http, jobs_url, headers, numbers[i : i + chunk], rid) for i in range(0, count, chunk)
                ]
                await wait_complete(http, jobs_url, headers, ids, poll_s=0.2)
                took, cpu = time.perf_counter() - t0, cpu_s(s.couch.pid) - cpu0
                for i, job_id in enumerate(ids):
                    await assert_all_added(http, jobs_url, headers, job_id, len(numbers[i * chunk : (i + 1) * chunk]))
                disk = sum(f.stat().st_size for f in Path(s.tmp.name, "couch").rglob("*") if f.is_file()) >> 20
                print(
                    f"{count:,} numbers in {len(ids)} jobs: {took:.1f} s; CouchDB CPU {cpu:.1f} s, "
                    f"peak RSS {proc_mb(s.couch.pid)['VmHWM']} MB, data dir {disk} MB",
                    flush=True,
                )
    finally:
        s.stop()
    profiles = sorted(prof_dir.glob("*.cpuprofile"))
    if not profiles:
        print("no profile written", file=sys.stderr)
        return
    summarize(json.loads(profiles[-1].read_text()))


if __name__ == "__main__":
    asyncio.run(main())
