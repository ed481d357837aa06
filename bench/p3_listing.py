"""P3: the first page and a deep page (50 rows) of `GET /v2/accounts/{A}/resources` over 100, 1,000
and 10,000 resources, vs the direct view query the page needs (`resources/crossbar_listing`,
limit 51, from the page's start key). Target at 10,000 resources: both p50 ratios <= 1.3.
The deep page is the last full page (rows N-50 … N); its start key comes from the view.

    python bench/p3_listing.py [--quick] [--runs 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics

import aiohttp
from harness import (
    CouchClient,
    Row,
    finish,
    interleaved,
    load_average,
    ms,
    names,
    percentile,
    run,
    settle,
    started,
    timed_get,
)

from kazoo_crossbar.http import startkey
from kazoo_crossbar.storage import docs

PAGE = 50


async def seed(couch: CouchClient, db: str, account_id: str, start: int, stop: int) -> None:
    now = names.gregorian_now()
    for first in range(start, stop, 1000):
        await couch.bulk_docs(
            db,
            [
                {
                    "_id": f"res{i:06d}",
                    "name": f"Carrier {i}",
                    "enabled": True,
                    "weight_cost": 50,
                    "gateways": [{"server": f"gw{i}.example.com"}],
                    "rules": ["^\\+1(\\d{10})$"],
                    "pvt_type": "resource",
                    "pvt_account_id": account_id,
                    "pvt_created": now,
                    "pvt_modified": now,
                    "pvt_alphanum_name": docs.alphanum_name(f"Carrier {i}"),
                }
                for i in range(first, min(stop, first + 1000))
            ],
        )


async def main(args: argparse.Namespace) -> None:
    sizes = (100, 1000) if args.quick else (100, 1000, 10_000)
    n, rounds = (10, 2) if args.quick else (20, 6)
    big = sizes[-1]
    rows = {
        "first": Row(
            "P3",
            f"listing, first page of {big:,} resources: p50 vs view query",
            op="<=",
            limit=1.3,
            method=(
                "`GET …/resources` (page of 50), each in turn with the view query it needs "
                "(`crossbar_listing?limit=51`), 120 of each; ratio of the p50s."
            ),
        ),
        "deep": Row(
            "P3",
            f"listing, last full page of {big:,} resources: p50 vs view query",
            op="<=",
            limit=1.3,
            method=(
                "As above for the page starting 50 rows before the end (`start_key` from the view, "
                "Kazoo-encoded), vs the view query from that key."
            ),
        ),
    }
    per_size: dict[int, dict[str, list[tuple[float, float]]]] = {k: {"first": [], "deep": []} for k in sizes}
    s = await started()
    try:
        acc, headers = await s.account()
        db = names.account_db(acc["_id"])
        api = f"{s.api_url}/v2/accounts/{acc['_id']}/resources"
        view = f"{s.couch_base}/{names.url_path(db)}/_design/resources/_view/crossbar_listing"
        couch = CouchClient(s.couch_url, timeout_s=600)
        seeded = 0
        async with aiohttp.ClientSession() as http:
            for size in sizes:
                await seed(couch, db, acc["_id"], seeded, size)
                seeded = size
                await timed_get(http, view + "?limit=1", s.couch_headers)  # build the index outside the timings
                await settle(s.couch_pid)  # and let compactions / background indexing finish
                async with http.get(
                    view, params={"skip": str(size - PAGE), "limit": "1"}, headers=s.couch_headers
                ) as resp:
                    deep_key = (await resp.json())["rows"][0]["key"]
                cases = {
                    "first": (api, f"{view}?limit={PAGE + 1}"),
                    "deep": (
                        f"{api}?start_key={startkey.encode(deep_key)}",
                        f"{view}?limit={PAGE + 1}&startkey={json.dumps(deep_key)}",
                    ),
                }
                for case, (api_url, _direct_url) in cases.items():
                    async with http.get(api_url, headers=headers) as resp:
                        got = len((await resp.json())["data"])
                    if got != PAGE:
                        raise RuntimeError(f"{case} page of {size}: {got} rows, expected {PAGE}")
                for _i in range(args.runs):
                    for case, (api_url, direct_url) in cases.items():
                        res = await interleaved(
                            {
                                "api": lambda u=api_url: timed_get(http, u, headers),
                                "direct": lambda u=direct_url: timed_get(http, u, s.couch_headers),
                            },
                            n * rounds,
                        )
                        a50, d50 = percentile(res["api"], 50), percentile(res["direct"], 50)
                        per_size[size][case].append((a50, d50))
                        if size == big:
                            rows[case].values.append(a50 / d50)
                            rows[case].details.append(f"API {ms(a50)} vs view {ms(d50)} (load {load_average():.1f})")
        await couch.close()
    finally:
        s.stop()
    table = {
        "title": "Listing p50 by number of resources (median of the runs)",
        "columns": ["resources", "first page: API / view", "ratio", "last page: API / view", "ratio"],
        "rows": [],
    }
    for size in sizes:
        cells = [f"{size:,}"]
        for case in ("first", "deep"):
            a = statistics.median(p[0] for p in per_size[size][case])
            d = statistics.median(p[1] for p in per_size[size][case])
            cells += [f"{ms(a)} / {ms(d)}", f"{statistics.median(p[0] / p[1] for p in per_size[size][case]):.2f}×"]
        table["rows"].append(cells)
    finish("p3_listing", args, list(rows.values()), [table])


if __name__ == "__main__":
    run(main, __doc__)
