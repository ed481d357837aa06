"""Fairness between accounts (issue 21 item 5): account B's one-number job waited 0.27 s beside
one big job of account A, but 17.7 s beside three, whose first two held both worker slots until
one of them ended. A job now passes its turn between batches to an account running fewer jobs
(jobs/fair.py), so B's job is done while every one of A's jobs still runs: its time is judged
against A's jobs' own, never against a clock."""

from __future__ import annotations

import time

from kazoo_crossbar.app import SERVICES

from ..eventually import eventually
from ..kazoo import JOB_HANG_GUARD_S, numbers_block

BIG = 3000  # four batches of 750: B's job gets its turn at the end of one of them


async def carrier_tenant(kazoo, client) -> dict:
    account = await kazoo.account()
    headers = {"X-Auth-Token": await kazoo.token_for(account)}
    base = f"/v2/accounts/{account['_id']}/resources"
    resp = await client.put(base, json={"data": {"name": "Fair", "gateways": []}}, headers=headers)
    return {"headers": headers, "rid": (await resp.json())["data"]["id"], "jobs": base + "/jobs"}


async def submit(client, tenant: dict, numbers: list[str]) -> str:
    resp = await client.put(
        tenant["jobs"], json={"data": {"numbers": numbers, "resource_id": tenant["rid"]}}, headers=tenant["headers"]
    )
    body = await resp.json()
    assert resp.status == 201, body
    return f"{tenant['jobs']}/{body['data']['id']}"


async def statuses(client, tenant: dict, urls: list[str]) -> list[str]:
    out = []
    for url in urls:
        resp = await client.get(url, headers=tenant["headers"])
        assert resp.status == 200
        out.append((await resp.json())["data"]["status"])
    return out


async def until(client, tenant: dict, urls: list[str], wanted: str, count: int, interval_s: float) -> list[str]:
    return await eventually(
        lambda: statuses(client, tenant, urls),
        lambda s: s.count(wanted) >= count,
        what=f"{count} job(s) {wanted}",
        timeout_s=JOB_HANG_GUARD_S,
        interval_s=interval_s,
    )


async def b_beside(client, a: dict, b: dict, jobs: int) -> tuple[float, list[str], float]:
    """(B's seconds from PUT to complete, A's statuses then, A's seconds to its first completion)."""
    assert client.app[SERVICES].jobs.pool.concurrency == 2
    t0 = time.perf_counter()
    a_urls = [await submit(client, a, numbers_block(BIG)) for _ in range(jobs)]
    await until(client, a, a_urls, "running", min(jobs, 2), 0.05)  # A holds the slots it can
    t1 = time.perf_counter()
    b_url = await submit(client, b, numbers_block(1))
    await until(client, b, [b_url], "complete", 1, 0.02)
    b_s = time.perf_counter() - t1
    a_then = await statuses(client, a, a_urls)
    await until(client, a, a_urls, "complete", 1, 0.05)
    a_first = time.perf_counter() - t0
    await until(client, a, a_urls, "complete", jobs, 0.2)
    return b_s, a_then, a_first


async def test_an_account_with_three_big_jobs_does_not_hold_every_worker(client, kazoo):
    a, b = await carrier_tenant(kazoo, client), await carrier_tenant(kazoo, client)
    alone, _, _ = await b_beside(client, a, b, 1)
    busy, a_then, a_first = await b_beside(client, a, b, 3)
    figures = (
        f"B beside one job of A {alone:.2f} s, beside three {busy:.2f} s; A's first job done after {a_first:.2f} s"
    )
    # before: B's job started only when one of A's jobs had ended
    assert "complete" not in a_then, figures
    assert busy < a_first / 2, figures
