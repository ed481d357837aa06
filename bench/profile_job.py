"""Where a 10,000-number job's time goes against P2's raw side, on either engine: raw
`_bulk_docs` and a job through the API, alternating, each with the CPU seconds it cost the
service, the CouchDB process and (CouchDB 3) its JavaScript view servers. On CouchDB 3 the job's
requests are also summed from the node's request log by kind (the embedded server's, from
KAZOO_COUCHDB_REQUEST_LOG) (database and path with the ids
taken out), which names what the job waits for.

    python bench/profile_job.py --engine couchdb3 --couchdb3-dir DIR [--runs 3] [--numbers 10000]

Not a benchmark with a target: it explains P2's figures (docs/benchmarks.md, the closing notes).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import aiohttp
from harness import ENGINE, CouchClient, cpu_seconds, create_resource, parse_args, settle, started
from jobs import ensure_number_dbs, fresh_block, raw_write, run_job

# CouchDB 3's request log line: "... METHOD PATH STATUS ok MILLISECONDS"
_REQUEST = re.compile(r" (GET|PUT|POST|DELETE|HEAD|COPY) (\S+) \d+ \w+ (\d+)$")
_KINDS = (
    (re.compile(r"\?.*"), ""),
    (re.compile(r"account%2F[0-9a-f]{2}%2F[0-9a-f]{2}%2F[0-9a-f]{28}-\d{6}"), "MODB"),
    (re.compile(r"account%2F[0-9a-f]{2}%2F[0-9a-f]{2}%2F[0-9a-f]{28}"), "ACCOUNT_DB"),
    (re.compile(r"numbers%2F%2B\d+"), "NUMBER_DB"),
    (re.compile(r"/(\d{6}-)?[0-9a-f]{16,32}$"), "/ID"),
)


def request_kind(path: str) -> str:
    for pattern, name in _KINDS:
        path = pattern.sub(name, path)
    return path


def couchjs_pids() -> list[int]:
    out = subprocess.run(["pgrep", "-f", "couchjs"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def cpu_by_process(service_pid: int, couch_pid: int) -> dict[str, float]:
    js = 0.0
    for pid in couchjs_pids():
        try:
            js += cpu_seconds(pid)
        except OSError:  # a view server that just exited
            pass
    return {"service": cpu_seconds(service_pid), "couchdb": cpu_seconds(couch_pid), "couchjs": js}


async def main(args: argparse.Namespace, size: int) -> None:
    os.environ["KAZOO_COUCHDB_REQUEST_LOG"] = "1"  # the embedded server's request times, on its stdout
    s = await started()
    try:
        acc, headers = await s.account()
        other, _ = await s.account()  # the raw side's account, as in p2_job.py
        jobs_url = f"{s.api_url}/v2/accounts/{acc['_id']}/resources/jobs"
        couch = CouchClient(s.couch_url, timeout_s=600)
        log = s.couch3[0] / f"node-{s.couch3[1]}" / "log" / "couch.log" if s.couch3 else Path(s.tmp.name) / "couch.log"
        assert s.service is not None
        spent: dict[str, list[dict[str, float]]] = {"raw": [], "job": []}
        waits: dict[str, list[float]] = defaultdict(list)
        async with aiohttp.ClientSession() as http:
            rid = await create_resource(http, f"{s.api_url}/v2/accounts/{acc['_id']}/resources", headers)
            await run_job(http, s.couch_url, jobs_url, headers, fresh_block(50), rid)  # warm, as p2_job.py
            for i in range(args.runs):
                raw_numbers, job_numbers = fresh_block(size), fresh_block(size)
                await ensure_number_dbs(couch, raw_numbers + job_numbers)
                sides = [
                    ("raw", lambda nums=raw_numbers: raw_write(couch, other["_id"], rid, nums)),
                    ("job", lambda nums=job_numbers: run_job(http, s.couch_url, jobs_url, headers, nums, rid)),
                ]
                for side, fn in sides if i % 2 == 0 else sides[::-1]:
                    await settle(s.couch_pid)
                    offset = log.stat().st_size if log else 0
                    before = cpu_by_process(s.service.pid, s.couch_pid)
                    wall = await fn()
                    after = cpu_by_process(s.service.pid, s.couch_pid)
                    spent[side].append({"wall": wall, **{k: after[k] - before[k] for k in after}})
                    if log and side == "job":
                        for line in log.read_bytes()[offset:].decode(errors="replace").splitlines():
                            if m := _REQUEST.search(line):
                                waits[f"{m.group(1)} {request_kind(m.group(2))}"].append(int(m.group(3)) / 1000)
        await couch.close()
    finally:
        s.stop()
    print(f"{size:,} numbers, {ENGINE.name}, {args.runs} runs: seconds (median)")
    print(f"{'':6}{'wall':>8}{'service':>9}{'couchdb':>9}{'couchjs':>9}")
    for side, runs in spent.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"{side:6}{med['wall']:8.2f}{med['service']:9.2f}{med['couchdb']:9.2f}{med['couchjs']:9.2f}")
    if waits:
        print(f"\nCouchDB request time during the jobs (seconds, all {args.runs} jobs; requests overlap)")
        for kind, times in sorted(waits.items(), key=lambda kv: -sum(kv[1]))[:15]:
            print(f"{sum(times):8.2f} s {len(times):6d}x  {kind}")


if __name__ == "__main__":
    numbers = 10_000
    if "--numbers" in sys.argv:  # ours, taken out before the harness's parser sees the rest
        at = sys.argv.index("--numbers")
        numbers = int(sys.argv[at + 1])
        del sys.argv[at : at + 2]
    asyncio.run(main(parse_args(__doc__), numbers))
