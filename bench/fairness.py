"""Fairness between accounts in the worker pool (issue 21 item 5): how long account B's
one-number job takes while account A imports, A running one big job or three.

  one    A submits one N-number job (10,000; --quick 2,000); once it runs, B submits one number
         and the time from B's PUT to its `complete` is taken; then A's job is awaited
  three  the same with three N-number jobs of A: the pool runs 2 jobs at once, so A's jobs hold
         every slot when B's job arrives (it waited for one of them to end: 17.7 s vs 0.27 s)

The phases alternate (one, three / three, one ...) on one stack. In each phase B sends up to
SAMPLES one-number jobs one after another while A's jobs hold their slots, and B's time is their
median: one job of B a phase swung the ratio from 0.48 to 3.72 within one run of three (B's
time depends on where A's batch was when B arrived). A sample counts only if A's jobs still
held their slots when B's job completed. Row F1 is B's time with three over B's time with one,
per run, and its median is judged: at most 2× (B waits at most for one of A's running jobs to
finish the batch in hand, then runs beside A's other job as it does beside A's one job; 2×
leaves that batch's remainder room next to a one-number job).

    python bench/fairness.py [--quick] [--runs 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time

import aiohttp
from harness import CouchClient, Row, create_resource, finish, ms, names, run, started
from jobs import ensure_number_dbs, fresh_block, submit

SLOTS = 2  # the service's worker pool (WorkerPool's default concurrency)
POLL_S = 0.02  # B's one-number job
A_POLL_S = 0.25  # A's big jobs: read less often, not to load the CouchDB the jobs share
SAMPLES = 5  # B's one-number jobs per phase


async def job_status(couch: CouchClient, job: tuple[str, str]) -> str:
    """Read from CouchDB itself: a busy embedded server can keep the service's GET of a running
    10,000-number job (which merges its batch documents) past its datastore timeout."""
    return (await couch.get_doc(*job))["pvt_status"]


async def until(couch: CouchClient, jobs: list[tuple[str, str]], wanted: set[str], count: int, poll_s: float) -> None:
    """Until `count` of the jobs have a status in `wanted`; a job that failed ends the benchmark."""
    deadline = time.monotonic() + 1800
    while True:
        statuses = [await job_status(couch, job) for job in jobs]
        if "failed" in statuses:
            raise RuntimeError(f"a job failed: {jobs}")
        if sum(s in wanted for s in statuses) >= count:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"jobs still {statuses} after 1800 s")
        await asyncio.sleep(poll_s)


async def put_job(http: aiohttp.ClientSession, tenant: dict, numbers: list[str]) -> tuple[str, str]:
    """(month database, job id) of a new job."""
    job_id = await submit(http, tenant["jobs"], tenant["headers"], numbers, tenant["rid"])
    return names.modb(tenant["id"], int(job_id[:4]), int(job_id[4:6])), job_id


async def phase(
    http: aiohttp.ClientSession, couch: CouchClient, a: dict, b: dict, jobs: int, count: int
) -> list[float]:
    """Seconds from PUT to `complete` of B's one-number jobs, sent one after another while A runs
    `jobs` jobs of `count` and holds its slots (a job of B that completed after A let go of one
    is not counted)."""
    batches = [fresh_block(count) for _ in range(jobs)]
    singles = [fresh_block(1) for _ in range(SAMPLES)]
    for numbers in [*batches, *singles]:
        await ensure_number_dbs(couch, numbers)
    a_jobs = [await put_job(http, a, n) for n in batches]
    holding = min(jobs, SLOTS)
    # A holds its slots (a job already `complete` has run: the warm-up's 500 numbers can finish
    # between two polls, and waiting for `running` then waited for ever)
    await until(couch, a_jobs, {"running", "complete"}, holding, A_POLL_S)
    waited: list[float] = []
    for single in singles:
        t0 = time.perf_counter()
        b_job = await put_job(http, b, single)
        await until(couch, [b_job], {"complete"}, 1, POLL_S)
        elapsed = time.perf_counter() - t0
        running = sum([await job_status(couch, job) == "running" for job in a_jobs])
        if running < holding:
            break  # A let go of a slot meanwhile: this one and any later would not wait beside it
        waited.append(elapsed)
    await until(couch, a_jobs, {"complete"}, jobs, A_POLL_S)
    if not waited:
        raise RuntimeError(f"A's {jobs} job(s) of {count:,} ended before one job of B did: nothing measured")
    return waited


async def tenant(s, http: aiohttp.ClientSession) -> dict:
    account, headers = await s.account()
    base = f"{s.api_url}/v2/accounts/{account['_id']}/resources"
    rid = await create_resource(http, base, headers)
    return {"id": account["_id"], "headers": headers, "rid": rid, "jobs": base + "/jobs"}


async def main(args: argparse.Namespace) -> None:
    count = 2_000 if args.quick else 10_000
    row = Row(
        "F1",
        f"B's 1-number job while A runs 3 vs 1 {count:,}-number jobs (ratio)",
        op="<=",
        limit=2.0,
        method=(
            f"Account A submits one job of {count:,} numbers, or three ({SLOTS} worker slots: A's jobs hold "
            f"them all); once they run, account B submits one number at a time, up to {SAMPLES} while A's jobs "
            "hold their slots: the median of B's PUT to `complete`, three over one."
        ),
    )
    s = await started()
    try:
        couch = CouchClient(s.couch_url, timeout_s=600)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as http:
            a, b = await tenant(s, http), await tenant(s, http)
            with contextlib.suppress(RuntimeError):  # the warm-up's 500 numbers may end before B's job
                await phase(http, couch, a, b, 1, min(count, 500))  # warm-up: databases, views, connections
            for i in range(args.runs):
                waits: dict[int, list[float]] = {}
                for jobs in (1, 3) if i % 2 == 0 else (3, 1):
                    waits[jobs] = await phase(http, couch, a, b, jobs, count)
                one, three = statistics.median(waits[1]), statistics.median(waits[3])
                row.values.append(three / one)
                row.details.append(
                    f"B {ms(one)} beside one job of A (median of {len(waits[1])}), "
                    f"{ms(three)} beside three (median of {len(waits[3])})"
                )
                print(row.details[-1], flush=True)
        await couch.close()
    finally:
        s.stop()
    finish("fairness", args, [row])


if __name__ == "__main__":
    run(main, __doc__)
