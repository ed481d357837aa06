"""P2: a 10,000-number job through the API vs raw `_bulk_docs` of the same number documents.

Raw side: the same number docs (number DB and account DB copy, as the job writes them)
with `_bulk_docs` in batches of 1000, no reads, no job bookkeeping. Ratio = raw time /
job time (1.0: the job is as fast as writing its documents; target >= 0.5).

    python bench/p2_job.py [COUNT]
"""
from __future__ import annotations

import asyncio
import sys
import time

import aiohttp

from harness import CouchClient, names, report, run, stack

from kazoo_crossbar.jobs import numbers as knm
from kazoo_crossbar.storage import views


def block(count: int, npa: int) -> list[str]:
    return [f"+1{npa}{555 + i // 10000:03d}{i % 10000:04d}" for i in range(count)]


async def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    async with stack() as s, aiohttp.ClientSession() as http:
        base = f"{s.api_url}/v2/accounts/{s.account['_id']}/resources"
        async with http.put(base, json={"data": {"name": "Bench", "gateways": []}}, headers=s.headers) as resp:
            rid = (await resp.json())["data"]["id"]
        couch = CouchClient(s.couch_url)
        try:
            # raw: the documents the job writes, straight into fresh number DBs and the account DB
            raw_numbers = block(count, 302)
            for db in {names.numbers_db(n) for n in raw_numbers}:
                await views.ensure_db(couch, db)
            now = names.gregorian_now()
            docs = [knm.number_doc(n, s.account["_id"], rid, knm.LOCAL, now) for n in raw_numbers]
            t0 = time.perf_counter()
            for i in range(0, count, 1000):
                chunk = docs[i:i + 1000]
                by_db: dict[str, list[dict]] = {}
                for d in chunk:
                    by_db.setdefault(names.numbers_db(d["_id"]), []).append(d)
                for db, batch in by_db.items():
                    await couch.bulk_docs(db, batch)
                await couch.bulk_docs(names.account_db(s.account["_id"]), [dict(d) for d in chunk])
            raw_s = time.perf_counter() - t0

            job_numbers = block(count, 303)
            for db in {names.numbers_db(n) for n in job_numbers}:
                await views.ensure_db(couch, db)  # same footing: databases exist on both sides
            t0 = time.perf_counter()
            async with http.put(base + "/jobs", json={"data": {"numbers": job_numbers, "resource_id": rid}},
                                headers=s.headers) as resp:
                job_id = (await resp.json())["data"]["id"]
            while True:  # poll the listing row (a small view row), not the whole job document
                async with http.get(f"{base}/jobs", headers=s.headers) as resp:
                    rows = (await resp.json())["data"]
                if any(r["id"] == job_id and r["status"] == "complete" for r in rows):
                    break
                await asyncio.sleep(0.05)
            job_s = time.perf_counter() - t0
            async with http.get(f"{base}/jobs/{job_id}", headers=s.headers) as resp:
                data = (await resp.json())["data"]
        finally:
            await couch.close()
    report("p2_job", {"numbers": count, "raw_bulk_docs_s": round(raw_s, 3), "job_s": round(job_s, 3),
                      "successes": len(data["successes"]), "errors": len(data["errors"]),
                      "ratio_raw_over_job": round(raw_s / job_s, 3), "target": ">= 0.5"})


if __name__ == "__main__":
    run(main)
