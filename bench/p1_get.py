"""P1: GET one resource through the API vs the same document straight from CouchDB.

Sequential (p50, p99 over N requests each, interleaved) and at concurrency 32 (requests/s).
Targets: API p50 <= 1.2x direct; API throughput >= 0.8x direct.

    python bench/p1_get.py [N] [AMQP_URL]

With AMQP_URL the service runs with a broker, and so with its document cache (Kazoo's
open_cache_doc, invalidated by doc-change events); without, every GET reads CouchDB.
"""
from __future__ import annotations

import asyncio
import sys
import time

import aiohttp

from harness import names, report, run, stack, summary


async def timed_get(http: aiohttp.ClientSession, url: str, headers: dict) -> float:
    t0 = time.perf_counter()
    async with http.get(url, headers=headers) as resp:
        await resp.read()
        assert resp.status == 200, resp.status
    return time.perf_counter() - t0


async def throughput(http: aiohttp.ClientSession, url: str, headers: dict, total: int, concurrency: int) -> float:
    remaining = total

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await timed_get(http, url, headers)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total / (time.perf_counter() - t0)


async def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    amqp_url = sys.argv[2] if len(sys.argv) > 2 else ""
    async with stack(KAZOO_LOG_FORMAT="json", KAZOO_AMQP_URL=amqp_url) as s:
        connector = aiohttp.TCPConnector(limit=64)
        async with aiohttp.ClientSession(connector=connector) as http:
            base = f"{s.api_url}/v2/accounts/{s.account['_id']}/resources"
            async with http.put(base, headers=s.headers, json={"data": {
                    "name": "Bench", "gateways": [{"server": "sip.example.com", "username": "u", "password": "p"}],
                    "rules": ["^\\\\+1(\\\\d{10})$"]}}) as resp:
                rid = (await resp.json())["data"]["id"]
            api = f"{base}/{rid}"
            while amqp_url:  # the cache works only once the broker is connected
                async with http.get(f"{s.api_url}/health") as resp:
                    if (await resp.json()).get("amqp") == "up":
                        break
                await asyncio.sleep(0.1)
            direct = f"{s.couch_url}/{names.url_path(names.account_db(s.account['_id']))}/{rid}"
            for _ in range(50):  # warm both paths (connections, caches)
                await timed_get(http, api, s.headers)
                await timed_get(http, direct, {})
            api_t, direct_t = [], []
            for _ in range(n):  # interleaved, so machine noise hits both alike
                api_t.append(await timed_get(http, api, s.headers))
                direct_t.append(await timed_get(http, direct, {}))
            total = n * 2
            api_rps = await throughput(http, api, s.headers, total, 32)
            direct_rps = await throughput(http, direct, {}, total, 32)
    a, d = summary(api_t), summary(direct_t)
    report("p1_get", {"broker": bool(amqp_url), "requests_sequential": n, "api": a, "direct": d,
                      "p50_ratio_api_over_direct": round(a["p50_ms"] / d["p50_ms"], 3),
                      "p99_ratio_api_over_direct": round(a["p99_ms"] / d["p99_ms"], 3),
                      "concurrency": 32, "api_rps": round(api_rps), "direct_rps": round(direct_rps),
                      "throughput_ratio_api_over_direct": round(api_rps / direct_rps, 3),
                      "targets": {"p50_ratio": "<= 1.2", "throughput_ratio": ">= 0.8"}})


if __name__ == "__main__":
    run(main)
