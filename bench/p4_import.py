"""P4 / P5 / P2-100k: a 100,000-number import sent as `kazoo-crossbar jobs add` sends it (jobs of
10,000, `job_max_numbers`), run as that very command.

  P2-100k  raw `_bulk_docs` of the same documents / import time >= 0.75
  P4       peak RSS (VmHWM) of the service <= 150 MB and of the embedded CouchDB <= 600 MB
  P5       p95 of another account's `GET …/resources/{id}` during the import <= 3x its idle p95,
           judged on Apache CouchDB 3; on the embedded server (one Node thread) the figure is
           reported with the direct GET that says why (issue 23, item 4)

Each run starts a fresh CouchDB and service (peak RSS is per process). The other account's
GETs are paced (one every 20 ms), before the import (idle) and while it runs; a direct CouchDB GET
of the same document runs alongside, to tell whose queue a slow GET waited in.

    python bench/p4_import.py [--quick] [--runs 3] [--json OUT]
    P4_NUMBERS=20000 P4_CHUNK=10000 python bench/p4_import.py --runs 1   # a reduced size, to try a change
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from harness import (
    ENGINE,
    ROOT,
    CouchClient,
    Row,
    create_resource,
    finish,
    ms,
    names,
    percentile,
    proc_mb,
    run,
    started,
    timed_get,
)
from jobs import ensure_number_dbs, fresh_block, raw_write

PACE_S = 0.02


async def paced_gets(
    http: aiohttp.ClientSession, url: str, headers: dict, stop: asyncio.Event, limit: int | None = None
) -> list[float]:
    out: list[float] = []
    while not stop.is_set() and (limit is None or len(out) < limit):
        out.append(await timed_get(http, url, headers))
        await asyncio.sleep(PACE_S)
    return out


async def one_run(args: argparse.Namespace, count: int, chunk: int) -> dict:
    s = await started()
    try:
        importer, _ = await s.account()
        other, other_headers = await s.account()
        couch = CouchClient(s.couch_url, timeout_s=600)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3600)) as http:
            rid = await create_resource(
                http, f"{s.api_url}/v2/accounts/{importer['_id']}/resources", await s.login(importer["pvt_api_key"])
            )
            other_rid = await create_resource(http, f"{s.api_url}/v2/accounts/{other['_id']}/resources", other_headers)
            probe = f"{s.api_url}/v2/accounts/{other['_id']}/resources/{other_rid}"
            # the same document straight from CouchDB: tells whether a slow GET waits on it or on us
            direct = f"{s.couch_base}/{names.url_path(names.account_db(other['_id']))}/{other_rid}"
            idle = await paced_gets(http, probe, other_headers, asyncio.Event(), 50)  # warm-up
            idle = await paced_gets(http, probe, other_headers, asyncio.Event(), 150 if args.quick else 400)

            numbers, raw_numbers = fresh_block(count), fresh_block(count)
            await ensure_number_dbs(couch, numbers + raw_numbers)
            path = Path(s.tmp.name) / "numbers.txt"
            path.write_text("\n".join(numbers) + "\n")
            assert s.service
            # a CouchDB given by URL runs elsewhere: its memory is not measured (0)
            couch_mb = (lambda key: proc_mb(s.couch_pid)[key]) if s.couch_pid else (lambda key: 0)
            before = {"service": proc_mb(s.service.pid)["VmRSS"], "couchdb": couch_mb("VmRSS")}
            stop = asyncio.Event()
            busy_task = asyncio.create_task(paced_gets(http, probe, other_headers, stop))
            direct_task = asyncio.create_task(paced_gets(http, direct, s.couch_headers, stop))
            t0 = time.perf_counter()
            cli = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "kazoo_crossbar",
                "jobs",
                "--url",
                s.api_url,
                "--api-key",
                importer["pvt_api_key"],
                "add",
                "--resource",
                rid,
                "--chunk",
                str(chunk),
                "--poll",
                "0.5",
                str(path),
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            samples = []
            while cli.returncode is None:
                samples.append((proc_mb(s.service.pid)["VmRSS"], couch_mb("VmRSS")))
                try:
                    await asyncio.wait_for(cli.wait(), 0.25)
                except TimeoutError:
                    pass
            import_s = time.perf_counter() - t0
            stop.set()
            busy, busy_direct = await busy_task, await direct_task
            out = (await cli.stdout.read()).decode() if cli.stdout else ""
            if cli.returncode != 0:
                raise RuntimeError(f"jobs add exited {cli.returncode}: {out[-500:]}")
            summary = json.loads(out)
            if summary["added"] != count or summary["failed"]:
                raise RuntimeError(f"import: {summary['added']} of {count} added, {summary['failed_by_reason']}")
            peak = {"service": proc_mb(s.service.pid)["VmHWM"], "couchdb": couch_mb("VmHWM")}
            raw_s = await raw_write(couch, importer["_id"], rid, raw_numbers)
        await couch.close()
    finally:
        s.stop()
    return {
        "import_s": import_s,
        "raw_s": raw_s,
        "jobs": len(summary["jobs"]),
        "before": before,
        "peak": peak,
        "sampled_max": {"service": max(a for a, _ in samples), "couchdb": max(b for _, b in samples)},
        "idle_p95": percentile(idle, 95),
        "busy_p95": percentile(busy, 95),
        "busy_n": len(busy),
        "busy_direct_p95": percentile(busy_direct, 95),
    }


async def main(args: argparse.Namespace) -> None:
    count, chunk = (5000, 1000) if args.quick else (100_000, 10_000)
    count, chunk = int(os.environ.get("P4_NUMBERS", count)), int(os.environ.get("P4_CHUNK", chunk))
    rows = {
        "p2": Row(
            "P2-100k",
            f"{count:,}-number import (jobs of {chunk:,}) vs raw _bulk_docs",
            op=">=",
            limit=0.75,
            method=(
                f"`kazoo-crossbar jobs add --chunk {chunk}` run as a command until every job is complete "
                "(all numbers added); ratio raw `_bulk_docs` time / import time."
            ),
        ),
        "svc": Row(
            "P4",
            "service peak RSS during the import",
            op="<=",
            limit=150,
            unit=" MB",
            method=(
                "VmHWM of the service process after the import (fresh processes each run), sampled VmRSS every 0.25 s "
                "as a cross-check."
            ),
        ),
        "couch": Row(
            "P4",
            "CouchDB peak RSS during the import",
            op="<=",
            limit=600,
            unit=" MB",
            method=(
                "VmHWM of the CouchDB process after the import: the embedded server's node process; "
                "CouchDB 3's beam.smp (its QuickJS view servers not counted; not measured for a CouchDB given by URL)."
            ),
        ),
        "p5": Row(
            "P5",
            "another account's GET during the import: p95 vs idle p95",
            # judged on CouchDB 3 only: the embedded server answers every database on one Node thread
            op="<=" if ENGINE.name == "couchdb3" else None,
            limit=3,
            method=(
                "`GET /v2/accounts/{B}/resources/{id}` every 20 ms by another account, before the import (idle) and "
                "while it runs; ratio of the p95s. Judged on CouchDB 3; on the embedded server (one Node thread) "
                "the figure is reported with a direct GET of the same server meanwhile, which says why."
            ),
        ),
    }
    results = []
    for _ in range(args.runs):
        r = await one_run(args, count, chunk)
        results.append(r)
        rows["p2"].values.append(r["raw_s"] / r["import_s"])
        rows["p2"].details.append(f"raw {r['raw_s']:.1f} s, import {r['import_s']:.1f} s ({r['jobs']} jobs)")
        for key in ("service", "couchdb"):
            if not r["peak"][key]:
                continue  # a CouchDB given by URL: not measured here
            row = rows["svc" if key == "service" else "couch"]
            row.values.append(r["peak"][key])
            row.details.append(f"{r['before'][key]} MB before, sampled max {r['sampled_max'][key]} MB")
        rows["p5"].values.append(r["busy_p95"] / r["idle_p95"])
        rows["p5"].details.append(
            f"p95 {ms(r['busy_p95'])} ({r['busy_n']} GETs) vs idle {ms(r['idle_p95'])}; "
            f"direct CouchDB GET meanwhile p95 {ms(r['busy_direct_p95'])}"
        )
    raw_m = statistics.median(r["raw_s"] for r in results)
    imp_m = statistics.median(r["import_s"] for r in results)
    table = {
        "title": "Job time by size (seconds; median of the runs)",
        "columns": ["numbers", "raw _bulk_docs", "job", "raw / job"],
        "rows": [[f"{count:,} (import, {chunk:,} per job)", f"{raw_m:.2f}", f"{imp_m:.2f}", f"{raw_m / imp_m:.2f}×"]],
    }
    finish("p4_import", args, list(rows.values()), [table])


if __name__ == "__main__":
    run(main, __doc__)
