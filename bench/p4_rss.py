"""P4: peak RSS of the service process during a 100,000-number job. Target <= 250 MB.

Peak = the kernel's high-water mark (VmHWM in /proc/<pid>/status) once the job completed;
the baseline is VmRSS before the job was submitted.

    python bench/p4_rss.py [COUNT]
"""
from __future__ import annotations

import asyncio
import sys
import time

import aiohttp

from harness import report, run, stack


def proc_status(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS", "VmHWM")):
                name, value = line.split(":")
                out[name] = int(value.split()[0]) // 1024  # MB
    return out


async def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    async with stack() as s, aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as http:
        assert s.service is not None
        base = f"{s.api_url}/v2/accounts/{s.account['_id']}/resources"
        async with http.put(base, json={"data": {"name": "Bench", "gateways": []}}, headers=s.headers) as resp:
            rid = (await resp.json())["data"]["id"]
        before = proc_status(s.service.pid)
        numbers = [f"+1{306 + (i // 10_000_000)}{i % 10_000_000:07d}" for i in range(count)]
        t0 = time.perf_counter()
        async with http.put(base + "/jobs", json={"data": {"numbers": numbers, "resource_id": rid}},
                            headers=s.headers) as resp:
            body = await resp.json()
            assert resp.status == 201, str(body)[:500]
            job_id = body["data"]["id"]
        samples = []
        while True:
            samples.append(proc_status(s.service.pid)["VmRSS"])
            async with http.get(f"{base}/jobs", headers=s.headers) as resp:
                rows = (await resp.json())["data"]
            row = next((r for r in rows if r["id"] == job_id), None)
            if row and row["status"] == "complete":
                break
            await asyncio.sleep(0.5)
        job_s = time.perf_counter() - t0
        after = proc_status(s.service.pid)
    report("p4_rss", {"numbers": count, "job_s": round(job_s, 1), "successes": row["successes"],
                      "failures": row["failures"], "rss_before_mb": before["VmRSS"],
                      "peak_rss_mb": after["VmHWM"], "max_sampled_rss_mb": max(samples), "target": "<= 250 MB"})


if __name__ == "__main__":
    run(main)
