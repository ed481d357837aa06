"""Scale rows on a 3-node Apache CouchDB 3 cluster (n=3, q=2; `start.sh DIR PORT 3` of the
build in --couchdb3-dir), the deployment docs/production.md describes:

  C-import  a 100,000-number import (`kazoo-crossbar jobs add`, jobs of 10,000) through one
            service node vs raw `_bulk_docs` of the same documents (raw time / import time)
  C-scale   `GET /v2/resources/{id}` by 32 concurrent clients: requests/s with two service nodes
            vs one (service 1 on CouchDB node 1, service 2 on node 2; the clients spread evenly)
  C-direct  the same GETs straight from the cluster (nodes 1 and 2) vs through two service nodes

Informative (no target). During the two-node phases the CPU each process spends per request is
measured (utime + stime from /proc): on a small machine, where the benchmark client, three
CouchDB nodes and the service nodes share the cores, the sum of those figures, not the number of
service nodes, bounds requests/s; the report says how much of the machine the phase used.

    python bench/cluster_scale.py --engine couchdb3 --couchdb3-dir DIR [--quick] [--runs 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path

import aiohttp
from harness import (
    ENGINE,
    CouchClient,
    Row,
    Stack,
    concurrent,
    cpu_seconds,
    create_resource,
    finish,
    load_average,
    names,
    run,
    settle,
    timed_get,
)
from jobs import cli_import, ensure_number_dbs, fresh_block, raw_write

CONCURRENCY = 32


async def get_phase(http: aiohttp.ClientSession, urls: list[tuple[str, dict]], total: int) -> float:
    """requests/s of `total` GETs by 32 workers, worker k on urls[k % len(urls)]."""
    workers = iter(range(CONCURRENCY))
    assigned: dict[int, tuple[str, dict]] = {}

    async def one() -> float:
        task = id(asyncio.current_task())
        if task not in assigned:
            assigned[task] = urls[next(workers) % len(urls)]
        url, headers = assigned[task]
        return await timed_get(http, url, headers)

    rps, _ = await concurrent(one, total, CONCURRENCY)
    return rps


async def main(args: argparse.Namespace) -> None:
    if ENGINE.name != "couchdb3" or not ENGINE.build_dir:
        raise SystemExit("cluster_scale.py needs --engine couchdb3 --couchdb3-dir DIR (it starts a 3-node cluster)")
    count, chunk = (5000, 2500) if args.quick else (100_000, 10_000)
    total, rounds = (320, 2) if args.quick else (1600, 4)
    rows = {
        "import": Row(
            "C-import",
            f"3-node cluster: {count:,}-number import (jobs of {chunk:,}) vs raw _bulk_docs",
            method=(
                f"Once per benchmark: `kazoo-crossbar jobs add --chunk {chunk}` through one service node until every "
                "job is complete; "
                "raw `_bulk_docs` of the same documents (number DB and account copy, batches of 1,000) on the "
                "same cluster; ratio raw time / import time."
            ),
        ),
        "scale": Row(
            "C-scale",
            f"3-node cluster: requests/s at concurrency {CONCURRENCY}, two service nodes vs one",
            method=(
                f"`GET /v2/resources/{{id}}` by {CONCURRENCY} concurrent clients, phases of {total} alternating "
                "between one service node (on CouchDB node 1) and two (on nodes 1 and 2, clients split evenly); "
                "ratio of requests/s (2 would be linear)."
            ),
        ),
        "direct": Row(
            "C-direct",
            "3-node cluster: two service nodes vs direct cluster GETs, requests/s",
            method=(
                "The same phases sent straight to CouchDB nodes 1 and 2 (`GET /offnet/{id}`); ratio of requests/s "
                "(API / direct)."
            ),
        ),
    }
    s = Stack()
    try:
        s.start_couch(nodes=3)
        s.start_service()
        second = s.start_service(KAZOO_COUCHDB_URL=s.cluster_urls[1])
        await s.setup()
        assert s.service
        service_pids = [p.pid for p in s.procs]  # the CouchDB 3 nodes are start.sh's, not in procs
        importer, importer_headers = await s.account()
        couch = CouchClient(s.couch_url, timeout_s=600)
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=64), timeout=aiohttp.ClientTimeout(total=3600)
        ) as http:
            rid = await create_resource(http, s.api_url + "/v2/resources", s.master_headers)
            job_rid = await create_resource(
                http, f"{s.api_url}/v2/accounts/{importer['_id']}/resources", importer_headers
            )
            one = [(f"{s.api_url}/v2/resources/{rid}", s.master_headers)]
            two = one + [(f"{second}/v2/resources/{rid}", s.master_headers)]
            direct = [(f"{base}/{names.OFFNET}/{rid}", s.couch_headers) for base in s.cluster_bases[:2]]
            for urls in (one, two, direct):  # warm every path: connections, caches
                await get_phase(http, urls, 200)
            for run_no in range(args.runs):
                await settle(s.couch_pid)
                rps: dict[str, list[float]] = {"one": [], "two": [], "direct": []}
                cpu: dict[str, float] = {}
                for i in range(rounds):
                    for key, urls in (("one", one), ("two", two), ("direct", direct))[:: 1 if i % 2 == 0 else -1]:
                        pids = {
                            "service": service_pids,
                            "couchdb": s.couch_pids,
                            "client": [os.getpid()],
                        }
                        before = {k: sum(cpu_seconds(p) for p in v) for k, v in pids.items()}
                        t0 = time.perf_counter()
                        rps[key].append(await get_phase(http, urls, total))
                        wall = time.perf_counter() - t0
                        if key == "two":
                            for k, v in pids.items():
                                cpu[k] = cpu.get(k, 0.0) + (sum(cpu_seconds(p) for p in v) - before[k]) / total
                            cpu["wall"] = cpu.get("wall", 0.0) + wall / total
                r1, r2, rd = (statistics.mean(rps[k]) for k in ("one", "two", "direct"))
                per = {k: v / rounds * 1000 for k, v in cpu.items()}
                busy = sum(per[k] for k in ("service", "couchdb", "client")) / per["wall"]
                rows["scale"].values.append(r2 / r1)
                rows["scale"].details.append(
                    f"one node {r1:.0f}, two nodes {r2:.0f} requests/s; CPU ms per request with two nodes: services "
                    f"{per['service']:.2f}, CouchDB nodes {per['couchdb']:.2f}, benchmark client {per['client']:.2f} "
                    f"= {busy:.2f} cores busy of {os.cpu_count()} (load {load_average():.1f})"
                )
                rows["direct"].values.append(r2 / rd)
                rows["direct"].details.append(f"two service nodes {r2:.0f} vs direct {rd:.0f} requests/s")

                if run_no:  # one import per benchmark: a 100,000-number import on 3 nodes takes minutes
                    continue
                numbers, raw_numbers = fresh_block(count), fresh_block(count)
                await ensure_number_dbs(couch, numbers + raw_numbers)
                await settle(s.couch_pid)
                t0 = time.perf_counter()
                summary = await cli_import(
                    s.api_url, importer["pvt_api_key"], job_rid, numbers, chunk, Path(s.tmp.name)
                )
                import_s = time.perf_counter() - t0
                await settle(s.couch_pid)
                other, _ = await s.account()  # the raw side in an account of its own (see p2_job.py)
                raw_s = await raw_write(couch, other["_id"], job_rid, raw_numbers)
                rows["import"].values.append(raw_s / import_s)
                rows["import"].details.append(
                    f"raw {raw_s:.1f} s, import {import_s:.1f} s ({len(summary['jobs'])} jobs; load {load_average():.1f})"
                )
        await couch.close()
    finally:
        s.stop()
    finish("cluster_scale", args, list(rows.values()))


if __name__ == "__main__":
    run(main, __doc__)
