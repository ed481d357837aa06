"""P2: number jobs through the API vs raw `_bulk_docs` of the same documents, how job time grows with
size, and Kazoo 4.3's own one-number-at-a-time method as the peer.

  P2         a 10,000-number job >= 0.8x raw `_bulk_docs` (raw time / job time)
  P2-linear  job(10,000) <= 11x job(1,000)
  P2-peer    Kazoo's method on the same 10,000 numbers >= 20x slower than our job

Kazoo's method (cb_jobs_listener, per number: read the number, save it, save the account copy,
re-save the whole job document with its grown `success` map) is emulated with raw CouchDB calls.
Its cost per number grows with the job document, so it is timed in three windows of 50 numbers
(job document pre-filled to the size it has at numbers 0, 5,000 and 9,950) and the per-number
cost, a straight line through the windows, is summed over the 10,000 numbers. The 100,000-number
import is in p4_import.py.

    python bench/p2_job.py [--quick] [--runs 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import aiohttp
from harness import CouchClient, Row, create_resource, finish, load_average, names, run, settle, started
from jobs import ensure_number_dbs, fresh_block, raw_write, run_job

from kazoo_crossbar.jobs import numbers as knm
from kazoo_crossbar.storage.couch import NotFound

WINDOW = 50


async def kazoo_window(
    couch: CouchClient, account_id: str, resource_id: str, job_db: str, start: int, numbers: list[str]
) -> float:
    """Seconds per number for Kazoo's loop over `numbers`, the job document already holding
    `start` successes."""
    now = names.gregorian_now()
    entry = lambda n: json.dumps(knm.success_entry(knm.number_doc(n, account_id, resource_id, knm.LOCAL, now)))  # noqa: E731
    # success map as encoded pieces: the cheapest possible client side, so the peer is not slowed by us
    done = [f'"+1999{i:07d}":{entry(f"+1999{i:07d}")}' for i in range(start)]
    job_id = f"kazoo-job-{start}-{time.monotonic_ns()}"
    head = {
        "_id": job_id,
        "pvt_type": "resource_job",
        "pvt_status": "running",
        "pvt_account_id": account_id,
        "resource_id": resource_id,
        "numbers": [],
        "errors": {},
    }

    async def save_job(rev: str | None) -> str:
        doc = dict(head, pvt_modified=names.gregorian_now(), **({"_rev": rev} if rev else {}))
        body = json.dumps(doc)[:-1] + ',"success":{' + ",".join(done) + "}}"
        result = await couch.request(
            "PUT",
            f"/{names.url_path(job_db)}/{job_id}",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
            db=job_db,
        )
        return result["rev"]

    rev = await save_job(None)
    account_db = names.account_db(account_id)
    t0 = time.perf_counter()
    for n in numbers:
        number_db = names.numbers_db(n)
        try:  # knm_number:get: a new number is a 404
            await couch.get_doc(number_db, n)
            raise RuntimeError(f"{n} exists")
        except NotFound:
            pass
        doc = knm.number_doc(n, account_id, resource_id, knm.LOCAL, names.gregorian_now())
        await couch.save_doc(number_db, dict(doc))
        await couch.save_doc(account_db, dict(doc))
        done.append(f'"{n}":{json.dumps(knm.success_entry(doc))}')
        rev = await save_job(rev)
    return (time.perf_counter() - t0) / len(numbers)


async def kazoo_estimate(couch: CouchClient, account_id: str, resource_id: str, size: int, window: int) -> float:
    """Kazoo's time for `size` numbers: per-number cost measured at three points, summed along a line."""
    job_db = names.account_db(account_id)
    points = []
    for start in (0, size // 2, size - window):
        numbers = fresh_block(window)
        await ensure_number_dbs(couch, numbers)
        points.append((start + window / 2, await kazoo_window(couch, account_id, resource_id, job_db, start, numbers)))
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    slope, intercept = statistics.linear_regression(xs, ys)
    return sum(max(intercept + slope * i, min(ys)) for i in range(size))


async def main(args: argparse.Namespace) -> None:
    small, big = (100, 1000) if args.quick else (1000, 10_000)
    window = 20 if args.quick else WINDOW
    rows = {
        "ratio": Row(
            "P2",
            f"{big:,}-number job vs raw _bulk_docs of its documents",
            op=">=",
            limit=0.8,
            method=(
                "Raw side: the job's number documents, number DB and account-DB copy (in another account, so the "
                "job's listing-view refresh never indexes them), by `_bulk_docs` in batches of 1,000. Ratio raw "
                "time / job time (PUT to `complete`); the job must add every number."
            ),
        ),
        "linear": Row(
            "P2-linear",
            f"job time, {big:,} vs {small:,} numbers",
            op="<=",
            limit=11,
            method=(
                f"The same job at {small:,} (3 times, median) and {big:,} numbers in one run; ratio of the job "
                "times (10 would be exactly linear; a job's fixed costs make it less)."
            ),
        ),
        "peer": Row(
            "P2-peer",
            f"Kazoo 4.3's method vs our job, {big:,} numbers",
            op=">=",
            limit=20,
            method=(
                "Kazoo's cb_jobs_listener loop emulated with raw CouchDB calls (per number: GET, PUT number, PUT "
                "account copy, PUT whole job doc), timed in 3 windows, summed; ratio Kazoo time / our job time."
            ),
        ),
    }
    table = {
        "title": "Job time by size (seconds; median of the runs)",
        "columns": ["numbers", "raw _bulk_docs", "job", "raw / job"],
        "rows": [],
    }
    times: dict[int, dict[str, list[float]]] = {n: {"raw": [], "job": []} for n in (small, big)}
    s = await started()
    try:
        acc, headers = await s.account()
        # The raw side and Kazoo's method write into another account: the job refreshes its own
        # account's listing view after each batch, and documents written there by the raw side
        # would be indexed on the job's clock (a 1,000-number job timed at 0.5 s or 2.9 s).
        other, _ = await s.account()
        jobs_url = f"{s.api_url}/v2/accounts/{acc['_id']}/resources/jobs"
        couch = CouchClient(s.couch_url, timeout_s=600)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1800)) as http:
            rid = await create_resource(http, f"{s.api_url}/v2/accounts/{acc['_id']}/resources", headers)
            await run_job(http, s.couch_url, jobs_url, headers, fresh_block(50), rid)  # warm: MODB, views, connections
            for i in range(args.runs):
                for size in (small, big):
                    # the small job is short: its time is the median of 3, so one hiccup of the
                    # machine does not move P2-linear (its denominator)
                    for _ in range(3 if size == small else 1):
                        raw_numbers, job_numbers = fresh_block(size), fresh_block(size)
                        await ensure_number_dbs(couch, raw_numbers + job_numbers)
                        sides = [
                            ("raw", lambda nums=raw_numbers: raw_write(couch, other["_id"], rid, nums)),
                            ("job", lambda nums=job_numbers: run_job(http, s.couch_url, jobs_url, headers, nums, rid)),
                        ]
                        for side, fn in sides if i % 2 == 0 else sides[::-1]:  # alternate who goes first
                            await settle(s.couch_pid)  # the other side's after-work is not on this clock
                            times[size][side].append(await fn())
                raw_s, job_s = times[big]["raw"][-1], times[big]["job"][-1]
                small_s = statistics.median(times[small]["job"][-3:])
                rows["ratio"].values.append(raw_s / job_s)
                rows["ratio"].details.append(f"raw {raw_s:.2f} s, job {job_s:.2f} s (load {load_average():.1f})")
                rows["linear"].values.append(job_s / small_s)
                rows["linear"].details.append(
                    f"{small:,}: {small_s:.2f} s (median of {', '.join(f'{t:.2f}' for t in times[small]['job'][-3:])}), "
                    f"{big:,}: {job_s:.2f} s"
                )
                kazoo_s = await kazoo_estimate(couch, other["_id"], rid, big, window)
                rows["peer"].values.append(kazoo_s / job_s)
                rows["peer"].details.append(f"Kazoo's method ~{kazoo_s:.0f} s vs job {job_s:.2f} s")
        await couch.close()
    finally:
        s.stop()
    for size in (small, big):
        raw_m, job_m = statistics.median(times[size]["raw"]), statistics.median(times[size]["job"])
        table["rows"].append([f"{size:,}", f"{raw_m:.2f}", f"{job_m:.2f}", f"{raw_m / job_m:.2f}×"])
    finish("p2_job", args, list(rows.values()), [table])


if __name__ == "__main__":
    run(main, __doc__)
