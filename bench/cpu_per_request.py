"""The service's CPU time per request (utime + stime of its process, from /proc/<pid>/stat), for
the P1 GET (`/v2/resources/{id}`, no broker) and the P3 listing (first page of 50 of 1,000
resources). Wall-clock latencies on a shared 2-core machine swing by 2×; the CPU the service
process spends on a request barely moves with the neighbours' load, so this is the figure to
judge a change to the request path by. The embedded CouchDB's CPU per request is shown beside
it (what the service waits for).

Each case runs `--rounds` batches of `--requests` requests (8 concurrent clients) after a
warm-up; the report gives min / median / max over the batches, in ms of CPU per request.

    python bench/cpu_per_request.py [--requests 2000] [--rounds 5] [--resources 1000] [--json OUT]
        [--engine couchdb3 --couchdb3-dir DIR | --couchdb-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import configure_engine, create_resource, engine_args, names, started, timed_get
from p3_listing import seed

from kazoo_crossbar.storage.couch import CouchClient

CONCURRENCY = 8


def cpu_s(pid: int) -> float:
    """utime + stime of the process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def batch(http: aiohttp.ClientSession, url: str, headers: dict, n: int) -> None:
    remaining = n

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await timed_get(http, url, headers)

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


async def measure(
    http: aiohttp.ClientSession, url: str, headers: dict, pids: dict[str, int], n: int, rounds: int
) -> dict[str, list[float]]:
    await batch(http, url, headers, min(n, 300))  # warm-up: connections, caches, view index
    out: dict[str, list[float]] = {k: [] for k in pids}
    for _ in range(rounds):
        before = {k: cpu_s(p) for k, p in pids.items()}
        await batch(http, url, headers, n)
        for k, p in pids.items():
            out[k].append((cpu_s(p) - before[k]) / n * 1000)
    return out


async def main(args: argparse.Namespace) -> dict:
    s = await started()
    try:
        assert s.service
        pids = {"service": s.service.pid, **({"couchdb": s.couch_pid} if s.couch_pid else {})}
        acc, acc_headers = await s.account()
        couch = CouchClient(s.couch_url, timeout_s=600)
        await seed(couch, names.account_db(acc["_id"]), acc["_id"], 0, args.resources)
        await couch.close()
        cases = {}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as http:
            rid = await create_resource(http, s.api_url + "/v2/resources", s.master_headers)
            cases["P1 GET /v2/resources/{id}"] = (f"{s.api_url}/v2/resources/{rid}", s.master_headers, args.requests)
            cases[f"P3 listing, first page of {args.resources:,}"] = (
                f"{s.api_url}/v2/accounts/{acc['_id']}/resources",
                acc_headers,
                max(50, args.requests // 4),
            )
            report = {}
            for name, (url, headers, n) in cases.items():
                res = await measure(http, url, headers, pids, n, args.rounds)
                report[name] = {
                    k: {"min": min(v), "median": statistics.median(v), "max": max(v), "values": v}
                    for k, v in res.items()
                }
    finally:
        s.stop()
    print(f"{'case':40} {'process':8} {'min':>7} {'median':>7} {'max':>7}  (ms CPU per request)")
    for name, per in report.items():
        for proc, st in per.items():
            print(f"{name:40} {proc:8} {st['min']:7.3f} {st['median']:7.3f} {st['max']:7.3f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=2000, help="GETs per batch (the listing runs a quarter)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--resources", type=int, default=1000, help="resources in the listed account")
    p.add_argument("--json", type=Path)
    engine_args(p)
    a = p.parse_args()
    configure_engine(a)
    asyncio.run(main(a))
