"""P3: first and tenth page (50 rows) of a listing over 10,000 resources, API vs the direct view query.

Direct: `resources/crossbar_listing` with limit 51 (what the API asks for a page of 50),
from the start and from the tenth page's start key. Target: API <= 1.5x direct (p50).

    python bench/p3_listing.py [RESOURCES] [REPEATS]
"""
from __future__ import annotations

import json
import sys
import time

import aiohttp

from harness import CouchClient, names, report, run, stack, summary

from kazoo_crossbar.http import startkey
from kazoo_crossbar.storage import docs


async def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    async with stack() as s, aiohttp.ClientSession() as http:
        db = names.account_db(s.account["_id"])
        couch = CouchClient(s.couch_url)
        try:
            now = names.gregorian_now()
            for start in range(0, count, 1000):
                batch = [{"_id": f"res{i:06d}", "name": f"Carrier {i}", "enabled": True, "weight_cost": 50,
                          "gateways": [{"server": f"gw{i}.example.com"}], "pvt_type": "resource",
                          "pvt_account_id": s.account["_id"], "pvt_created": now, "pvt_modified": now,
                          "pvt_alphanum_name": docs.alphanum_name(f"Carrier {i}")}
                         for i in range(start, min(count, start + 1000))]
                await couch.bulk_docs(db, batch)
        finally:
            await couch.close()
        api = f"{s.api_url}/v2/accounts/{s.account['_id']}/resources"
        view = f"{s.couch_url}/{names.url_path(db)}/_design/resources/_view/crossbar_listing"
        t0 = time.perf_counter()
        async with http.get(view + "?limit=1") as resp:  # build the index once, outside the timings
            await resp.read()
        index_s = time.perf_counter() - t0
        key = None
        for _ in range(9):  # walk to the tenth page through the API, as a client would
            async with http.get(api + (f"?start_key={key}" if key else ""), headers=s.headers) as resp:
                key = (await resp.json())["next_start_key"]
        tenth_key = startkey.decode(key)

        async def timed(url: str, headers: dict | None = None) -> float:
            t = time.perf_counter()
            async with http.get(url, headers=headers or {}) as resp:
                body = await resp.read()
                assert resp.status == 200, body[:200]
            return time.perf_counter() - t

        results = {}
        for label, api_url, direct_url in (
                ("first_page", api, f"{view}?limit=51"),
                ("tenth_page", f"{api}?start_key={key}",
                 f"{view}?limit=51&startkey={json.dumps(tenth_key)}")):
            a, d = [], []
            for _ in range(repeats):
                a.append(await timed(api_url, s.headers))
                d.append(await timed(direct_url))
            sa, sd = summary(a), summary(d)
            results[label] = {"api": sa, "direct": sd, "p50_ratio_api_over_direct": round(sa["p50_ms"] / sd["p50_ms"], 3)}
    report("p3_listing", {"resources": count, "repeats": repeats, "index_build_s": round(index_s, 2), **results,
                          "target": "p50 ratio <= 1.5"})


if __name__ == "__main__":
    run(main)
