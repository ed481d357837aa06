"""Jobs for the benchmarks: submit through the API and wait, or write the same documents raw."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from harness import ROOT, CouchClient, names
from yarl import URL

from kazoo_crossbar.jobs import numbers as knm
from kazoo_crossbar.jobs import store
from kazoo_crossbar.storage import views

_used: set[tuple[int, int]] = set()


def fresh_block(size: int) -> list[str]:
    """`size` E.164 numbers no other block uses: an area code and leading digits drawn at random
    (a CouchDB given by URL keeps the numbers of earlier runs), never the same twice here."""
    width = max(1, len(str(size - 1)))
    if width > 7:
        raise ValueError("at most 10,000,000 numbers a block")
    while (key := (secrets.randbelow(800) + 200, secrets.randbelow(10 ** (7 - width)))) in _used:
        pass
    _used.add(key)
    npa, lead = key
    return [f"+1{npa}{lead:0{7 - width}d}{i:0{width}d}" if width < 7 else f"+1{npa}{i:07d}" for i in range(size)]


async def ensure_number_dbs(couch: CouchClient, numbers: list[str]) -> None:
    """Both sides start with their number databases created (the job would create them)."""
    for db in sorted({names.numbers_db(n) for n in numbers}):
        await views.ensure_db(couch, db)


async def raw_write(
    couch: CouchClient, account_id: str, resource_id: str, numbers: list[str], batch: int = 1000
) -> float:
    """The job's documents (number DB and account-DB copy) by `_bulk_docs`, no reads, no bookkeeping."""
    now = names.gregorian_now()
    docs = [knm.number_doc(n, account_id, resource_id, knm.LOCAL, now) for n in numbers]
    t0 = time.perf_counter()
    for i in range(0, len(docs), batch):
        chunk = docs[i : i + batch]
        by_db: dict[str, list[dict]] = {}
        for d in chunk:
            by_db.setdefault(names.numbers_db(d["_id"]), []).append(d)
        for db, part in by_db.items():
            await _all_ok(await couch.bulk_docs(db, part))
        await _all_ok(await couch.bulk_docs(names.account_db(account_id), [dict(d) for d in chunk]))
    return time.perf_counter() - t0


async def _all_ok(results: list[dict]) -> None:
    bad = [r for r in results if "error" in r]
    if bad:
        raise RuntimeError(f"raw _bulk_docs: {len(bad)} failed, e.g. {bad[0]}")


async def submit(
    http: aiohttp.ClientSession, jobs_url: str, headers: dict, numbers: list[str], resource_id: str
) -> str:
    async with http.put(
        jobs_url, headers=headers, json={"data": {"numbers": numbers, "resource_id": resource_id}}
    ) as resp:
        body = await resp.json()
        if resp.status != 201:
            raise RuntimeError(f"PUT {jobs_url}: {resp.status} {str(body)[:300]}")
    return body["data"]["id"]


async def wait_complete(
    http: aiohttp.ClientSession,
    jobs_url: str,
    headers: dict,
    job_ids: list[str],
    poll_s: float = 0.05,
    timeout_s: float = 1800,
) -> None:
    """Polls the listing rows (small view rows, as `kazoo-crossbar jobs add` does)."""
    deadline = time.monotonic() + timeout_s
    pending = set(job_ids)
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"jobs {sorted(pending)} not complete after {timeout_s} s")
        async with http.get(jobs_url + "?paginate=false", headers=headers) as resp:
            rows = (await resp.json())["data"]
        pending -= {r["id"] for r in rows if r["status"] == "complete"}
        if pending:
            await asyncio.sleep(poll_s)


async def assert_all_added(
    http: aiohttp.ClientSession, jobs_url: str, headers: dict, job_id: str, expected: int
) -> None:
    """A benchmark of a job that failed numbers measures nothing: every number must be a success."""
    async with http.get(f"{jobs_url}/{job_id}", headers=headers) as resp:
        data = (await resp.json())["data"]
    if len(data["successes"]) != expected or data["errors"]:
        raise RuntimeError(
            f"job {job_id}: {len(data['successes'])} of {expected} added, "
            f"{len(data['errors'])} errors, e.g. {list(data['errors'].items())[:2]}"
        )


async def watch_complete(
    http: aiohttp.ClientSession, couch_url: str, jobs_url: str, job_id: str, timeout_s: float = 1800
) -> None:
    """Waits for the job's document to change (a CouchDB `_changes` longpoll on its MODB, filtered
    to its id) and reads its `pvt_status` (a Mango `_find` for that one field) after each change:
    the moment the API shows the job complete, since the API answers from that document.
    The observer must not load what it measures, and each way through the API did: every
    jobs-listing read made CouchDB 3 map the job's grown document into `jobs_listing` again
    (6.6 s of request time over three 10,000-number jobs), every read of the job made the service
    decode and encode its 10,000 results (service CPU 0.54 -> 1.05 s a job), and polling every
    50 ms cost CouchDB 5.5 s over three jobs (bench/profile_job.py)."""
    account_id = URL(jobs_url).parts[3]  # /v2/accounts/{account}/resources/jobs
    db = store.job_db(account_id, job_id)
    if db is None:
        raise RuntimeError(f"job id {job_id} names no month")
    base = f"{couch_url}/{names.encode(db)}"
    changes = URL(f"{base}/_changes", encoded=True)
    find = URL(f"{base}/_find", encoded=True)
    deadline = time.monotonic() + timeout_s
    async with http.get(changes.with_query(since="now")) as resp:
        seq = (await resp.json())["last_seq"]  # taken before the job is read: no change is missed
    while True:
        async with http.post(find, json={"selector": {"_id": job_id}, "fields": ["pvt_status"]}) as resp:
            docs = (await resp.json())["docs"]
        status = docs[0].get("pvt_status") if docs else None
        if status == "complete":
            return
        if status not in ("pending", "running"):
            raise RuntimeError(f"job {job_id} ended {status}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} not complete after {timeout_s} s")
        query = {"feed": "longpoll", "filter": "_doc_ids", "doc_ids": json.dumps([job_id]), "timeout": "10000"}
        async with http.get(changes.with_query(**query, since=str(seq))) as resp:
            seq = (await resp.json())["last_seq"]


async def run_job(
    http: aiohttp.ClientSession, couch_url: str, jobs_url: str, headers: dict, numbers: list[str], resource_id: str
) -> float:
    """Seconds from the PUT to the job's completion as the API shows it; asserts every number
    succeeded."""
    t0 = time.perf_counter()
    job_id = await submit(http, jobs_url, headers, numbers, resource_id)
    await watch_complete(http, couch_url, jobs_url, job_id)
    elapsed = time.perf_counter() - t0
    await assert_all_added(http, jobs_url, headers, job_id, len(numbers))
    return elapsed


async def cli_import(
    api_url: str, api_key: str, resource_id: str, numbers: list[str], chunk: int, folder: Path
) -> dict:
    """`kazoo-crossbar jobs add` as an operator runs it, until every job is complete; its summary."""
    path = folder / f"numbers-{numbers[0]}.txt"
    path.write_text("\n".join(numbers) + "\n")
    cli = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kazoo_crossbar",
        "jobs",
        "--url",
        api_url,
        "--api-key",
        api_key,
        "add",
        "--resource",
        resource_id,
        "--chunk",
        str(chunk),
        "--poll",
        "0.5",
        str(path),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    out, _ = await cli.communicate()
    if cli.returncode != 0:
        raise RuntimeError(f"jobs add exited {cli.returncode}: {out.decode()[-500:]}")
    summary = json.loads(out)
    if summary["added"] != len(numbers) or summary["failed"]:
        raise RuntimeError(f"import: {summary['added']} of {len(numbers)} added, {summary['failed_by_reason']}")
    return summary
