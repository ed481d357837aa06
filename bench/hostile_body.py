"""The worst latency of a small GET while two unauthenticated 7.8 MB bodies are
being sent (`{"data":[[],[],…]}`), to `PUT /v2/api_auth` and to `PUT /v2/resources`.

    python bench/hostile_body.py [SECONDS]

Prints p50 and max of the GET (one resource by id, authenticated) alone and under attack,
and how many hostile requests were answered, with which status and largest response size.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp
from harness import report, run, stack, summary

BODY = b'{"data":[' + b",".join([b"[]"] * 2_600_000) + b"]}"


async def gets(
    http: aiohttp.ClientSession, url: str, headers: dict, until: float, statuses: dict | None = None
) -> list[float]:
    times = []
    while time.monotonic() < until:
        t0 = time.perf_counter()
        async with http.get(url, headers=headers) as resp:
            await resp.read()
        times.append(time.perf_counter() - t0)
        if statuses is not None:
            statuses[resp.status] = statuses.get(resp.status, 0) + 1
        await asyncio.sleep(0.01)
    return times


async def attacker(url: str, until: float, seen: dict) -> None:
    # its own connection per request: an early 400 may close it before the body is sent
    while time.monotonic() < until:
        async with aiohttp.ClientSession() as http:
            try:
                async with http.put(url, data=BODY, headers={"Content-Type": "application/json"}) as resp:
                    size = len(await resp.read())
                    seen.setdefault(resp.status, 0)
                    seen[resp.status] += 1
                    seen["max_response_bytes"] = max(seen.get("max_response_bytes", 0), size)
            except aiohttp.ClientError as exc:
                seen[type(exc).__name__] = seen.get(type(exc).__name__, 0) + 1


async def attack_process(url: str, seconds: float, seen: dict) -> None:
    """An attacker in its own process, so sending 7.8 MB does not slow the measuring loop."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--attack", url, str(seconds), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    for key, value in json.loads(out).items():
        seen[key] = max(seen.get(key, 0), value) if key == "max_response_bytes" else seen.get(key, 0) + value


async def attack_main(url: str, seconds: float) -> None:
    seen: dict = {}
    await attacker(url, time.monotonic() + seconds, seen)
    print(json.dumps(seen))


async def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 15.0  # per target
    results: dict = {"body_bytes": len(BODY), "seconds": seconds}
    async with stack(KAZOO_LOG_FORMAT="json") as s:
        async with aiohttp.ClientSession() as http:
            base = f"{s.api_url}/v2/accounts/{s.account['_id']}/resources"
            async with http.put(
                base, headers=s.headers, json={"data": {"name": "Bench", "gateways": [{"server": "sip.example.com"}]}}
            ) as resp:
                url = f"{base}/{(await resp.json())['data']['id']}"
            quiet = await gets(http, url, s.headers, time.monotonic() + 3)
            results["alone"] = {**summary(quiet), "max_ms": max(quiet) * 1000}
            for target in ("/v2/api_auth", "/v2/resources"):
                seen: dict = {}
                get_statuses: dict = {}
                until = time.monotonic() + seconds
                _, _, busy = await asyncio.gather(
                    attack_process(s.api_url + target, seconds, seen),
                    attack_process(s.api_url + target, seconds, seen),
                    gets(http, url, s.headers, until, get_statuses),
                )
                results[target] = {
                    **summary(busy),
                    "max_ms": max(busy) * 1000,
                    "gets": len(busy),
                    "get_statuses": get_statuses,
                    "hostile_answers": seen,
                }
    report("hostile_body", results)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--attack"]:
        asyncio.run(attack_main(sys.argv[2], float(sys.argv[3])))
    else:
        run(main)
