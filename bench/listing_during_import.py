"""An account's resource listing while a 10,000-number import runs into that
same account, and right after it.

The job writes 10,000 number copies into the account database, whose `resources` views must
index them before they can answer; a listing that waits for that catch-up is what big imports
used to cause (503 `datastore timeout`). This script measures it:

  idle    `GET /v2/accounts/{A}/resources` (a page of the account's 50 resources), paced every
          50 ms, before the import
  during  the same listing while one 10,000-number job into A runs (PUT to `complete`)
  after   the first listing once the job is complete, then 100 more, paced
  quiet   another account, the same import with no listing meanwhile: the first listing after
          it (it meets the whole catch-up), then 100 more

and prints p50 / p95 / max of each phase, and how many listings were not a 200. Informative
(no target): figures to compare before and after a change.

    python bench/listing_during_import.py [--quick] [--runs 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import aiohttp
from harness import CouchClient, Row, create_resource, finish, ms, percentile, run, started
from jobs import assert_all_added, ensure_number_dbs, fresh_block, submit, wait_complete

PACE_S = 0.05


async def timed_listing(http: aiohttp.ClientSession, url: str, headers: dict, statuses: list[int]) -> float:
    """Latency of one listing; a non-200 is counted, not raised (a 503 is a result here)."""
    t0 = time.perf_counter()
    async with http.get(url, headers=headers) as resp:
        await resp.read()
    statuses.append(resp.status)
    return time.perf_counter() - t0


async def paced(
    http: aiohttp.ClientSession,
    url: str,
    headers: dict,
    statuses: list[int],
    stop: asyncio.Event | None = None,
    limit: int | None = None,
) -> list[float]:
    out: list[float] = []
    while (stop is None or not stop.is_set()) and (limit is None or len(out) < limit):
        out.append(await timed_listing(http, url, headers, statuses))
        await asyncio.sleep(PACE_S)
    return out


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": statistics.median(values), "p95": percentile(values, 95), "max": max(values), "n": len(values)}


async def one_run(count: int, resources: int) -> dict:
    s = await started()
    try:
        account, headers = await s.account()
        couch = CouchClient(s.couch_url, timeout_s=600)
        base = f"{s.api_url}/v2/accounts/{account['_id']}/resources"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3600)) as http:
            rid = await create_resource(http, base, headers)
            for i in range(resources - 1):
                await create_resource(http, base, headers, name=f"Bench {i}")
            listing = base + "?page_size=50"
            statuses: dict[str, list[int]] = {"idle": [], "during": [], "after": []}
            await paced(http, listing, headers, [], limit=20)  # warm-up
            idle = await paced(http, listing, headers, statuses["idle"], limit=100)

            numbers = fresh_block(count)
            await ensure_number_dbs(couch, numbers)
            stop = asyncio.Event()
            during_task = asyncio.create_task(paced(http, listing, headers, statuses["during"], stop))
            t0 = time.perf_counter()
            job_id = await submit(http, base + "/jobs", headers, numbers, rid)
            await wait_complete(http, base + "/jobs", headers, [job_id], poll_s=0.2)
            job_s = time.perf_counter() - t0
            stop.set()
            during = await during_task
            first_after = await timed_listing(http, listing, headers, statuses["after"])
            after = [first_after] + await paced(http, listing, headers, statuses["after"], limit=100)
            await assert_all_added(http, base + "/jobs", headers, job_id, count)
            quiet, first_quiet = await quiet_import(s, http, couch, count, statuses)
        await couch.close()
    finally:
        s.stop()
    return {
        "job_s": job_s,
        "idle": summary(idle),
        "during": summary(during),
        "after": summary(after),
        "first_after": first_after,
        "quiet": summary(quiet),
        "first_quiet": first_quiet,
        "not_200": {k: sum(1 for st in v if st != 200) for k, v in statuses.items()},
    }


async def quiet_import(
    s, http: aiohttp.ClientSession, couch: CouchClient, count: int, statuses: dict[str, list[int]]
) -> tuple[list[float], float]:
    """An import nobody lists during: the first listing afterwards waits for the whole catch-up."""
    account, headers = await s.account()
    base = f"{s.api_url}/v2/accounts/{account['_id']}/resources"
    rid = await create_resource(http, base, headers)
    listing = base + "?page_size=50"
    await paced(http, listing, headers, [], limit=20)  # the view is warm before the import
    numbers = fresh_block(count)
    await ensure_number_dbs(couch, numbers)
    job_id = await submit(http, base + "/jobs", headers, numbers, rid)
    await wait_complete(http, base + "/jobs", headers, [job_id], poll_s=0.2)
    statuses["quiet"] = []
    first = await timed_listing(http, listing, headers, statuses["quiet"])
    rest = await paced(http, listing, headers, statuses["quiet"], limit=100)
    await assert_all_added(http, base + "/jobs", headers, job_id, count)
    return [first] + rest, first


def describe(r: dict) -> str:
    parts = [f"job {r['job_s']:.1f} s"]
    for phase in ("idle", "during", "after", "quiet"):
        p = r[phase]
        parts.append(
            f"{phase} p50 {ms(p['p50'])} / p95 {ms(p['p95'])} / max {ms(p['max'])} "
            f"({p['n']}, {r['not_200'][phase]} not 200)"
        )
    parts.append(f"first after {ms(r['first_after'])}; first after a quiet import {ms(r['first_quiet'])}")
    return "; ".join(parts)


async def main(args: argparse.Namespace) -> None:
    count, resources = (1000, 20) if args.quick else (10_000, 50)
    rows = {
        key: Row("L12", f"resource listing {what}, p95 (ms)", unit=" ms", method=method)
        for key, what, method in (
            ("idle", "before the import", "`GET …/accounts/{A}/resources?page_size=50`, paced every 50 ms, 100 times."),
            (
                "during",
                f"while a {count:,}-number job runs into the same account",
                "The same listing, paced, from the job's PUT until it is `complete`.",
            ),
            ("after", "right after the import", "The first listing after `complete` and 100 more, paced."),
        )
    }
    extra = {
        "during": Row(
            "L12",
            "resource listing during the import, slowest (ms)",
            unit=" ms",
            method="The slowest listing of the phase above.",
        ),
        "first_after": Row(
            "L12",
            "first resource listing after the import (ms)",
            unit=" ms",
            method="The first listing once the job is `complete`.",
        ),
        "first_quiet": Row(
            "L12",
            "first listing after an import nobody listed during (ms)",
            unit=" ms",
            method=(
                "Another account, the same import with no listing meanwhile; the "
                "first listing once it is `complete` meets the views' whole catch-up."
            ),
        ),
    }
    results = []
    for _ in range(args.runs):
        r = await one_run(count, resources)
        results.append(r)
        print(describe(r), flush=True)
        for key, row in rows.items():
            row.values.append(r[key]["p95"] * 1000)
            row.details.append(
                f"p50 {ms(r[key]['p50'])}, max {ms(r[key]['max'])}, {r['not_200'][key]} of {r[key]['n']} not 200"
            )
        extra["during"].values.append(r["during"]["max"] * 1000)
        extra["during"].details.append(f"job {r['job_s']:.1f} s")
        extra["first_after"].values.append(r["first_after"] * 1000)
        extra["first_after"].details.append(f"job {r['job_s']:.1f} s")
        extra["first_quiet"].values.append(r["first_quiet"] * 1000)
        extra["first_quiet"].details.append(
            f"then p95 {ms(r['quiet']['p95'])}, {r['not_200']['quiet']} of {r['quiet']['n']} not 200"
        )
    finish(
        "listing_during_import",
        args,
        list(rows.values()) + list(extra.values()),
        info={"runs": [describe(r) for r in results]},
    )


if __name__ == "__main__":
    run(main, __doc__)
