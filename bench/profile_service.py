"""Where the service spends its CPU on one kind of request: the service runs in this process
(uvloop, as `serve` runs it) under cProfile while a separate client process sends the requests,
then the profile is printed per request: self time by module and by function, in microseconds.

    python bench/profile_service.py [--case get|listing] [--requests 3000] [--couchdb-url URL]

The profiler's own overhead inflates every figure (about 2x); the shares are what to read.
`bench/cpu_per_request.py` gives the unprofiled CPU per request.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import socket
import sys
import textwrap
from collections import Counter
from pathlib import Path

import aiohttp
from aiohttp import web
from harness import ROOT, Stack, create_resource, free_port
from p3_listing import seed

from kazoo_crossbar import log
from kazoo_crossbar.app import create_app
from kazoo_crossbar.config import Settings
from kazoo_crossbar.storage import names
from kazoo_crossbar.storage.couch import CouchClient

CLIENT = textwrap.dedent(
    """
    import asyncio, sys, aiohttp
    url, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    async def main():
        left = n
        async with aiohttp.ClientSession() as http:
            async def worker():
                nonlocal left
                while left > 0:
                    left -= 1
                    async with http.get(url, headers={"X-Auth-Token": token}) as resp:
                        await resp.read()
                        assert resp.status == 200, resp.status
            await asyncio.gather(*(worker() for _ in range(8)))
    asyncio.run(main())
    """
)


def group(filename: str) -> str:
    path = filename.replace(str(ROOT) + "/", "")
    if "site-packages/" in path:
        return path.split("site-packages/")[1].split("/")[0]
    if path.startswith("kazoo_crossbar/"):
        return path.removesuffix(".py")
    return "stdlib/" + Path(path).stem if path.startswith("/") else path


def report(prof: cProfile.Profile, n: int, top: int) -> None:
    stats = pstats.Stats(prof)
    by_module: Counter[str] = Counter()
    by_fn: Counter[str] = Counter()
    for (filename, line, fn), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_module[group(filename)] += tottime
        by_fn[f"{group(filename)}:{line} {fn}"] += tottime
    total = sum(by_module.values())
    print(f"profiled CPU: {total / n * 1e6:.0f} us per request ({n} requests)")
    for title, counter in (("self time by module", by_module), ("self time by function", by_fn)):
        print(f"-- {title} (us per request, share)")
        for key, t in counter.most_common(top):
            print(f"{t / n * 1e6:8.1f} {t / total:6.1%}  {key}")


async def main(args: argparse.Namespace) -> None:
    import uvloop  # noqa: F401  (the loop is uvloop's: see __main__)

    log.configure("json")  # as `serve` does; its lines go to a file, as the benchmarks' do
    s = Stack()
    logfile = (Path(s.tmp.name) / "service.log").open("ab")  # set-up, before serving
    stderr = os.dup(2)
    os.dup2(logfile.fileno(), 2)
    try:
        if args.couchdb_url:
            s.couch_url = args.couchdb_url
        else:
            s.start_couch()
        port = free_port()
        s.api_url = f"http://127.0.0.1:{port}"
        app = create_app(Settings(couchdb_url=s.couch_url, node_name=f"profile@{socket.gethostname()}"))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await s.setup()
        async with aiohttp.ClientSession() as http:
            if args.case == "get":
                rid = await create_resource(http, s.api_url + "/v2/resources", s.master_headers)
                url, headers = f"{s.api_url}/v2/resources/{rid}", s.master_headers
            else:
                acc, headers = await s.account()
                couch = CouchClient(s.couch_url, timeout_s=600)
                await seed(couch, names.account_db(acc["_id"]), acc["_id"], 0, 1000)
                await couch.close()
                url = f"{s.api_url}/v2/accounts/{acc['_id']}/resources"
            for _ in range(200):  # warm: connections, token and account caches, view index
                async with http.get(url, headers=headers) as resp:
                    await resp.read()
        client = await asyncio.create_subprocess_exec(
            sys.executable, "-c", CLIENT, url, headers["X-Auth-Token"], str(args.requests)
        )
        prof = cProfile.Profile()
        prof.enable()
        await client.wait()
        prof.disable()
        if client.returncode:
            raise RuntimeError(f"client exited {client.returncode}")
        await runner.cleanup()
    finally:
        os.dup2(stderr, 2)
        s.stop()
    report(prof, args.requests, args.top)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--case", choices=("get", "listing"), default="get")
    p.add_argument("--requests", type=int, default=3000)
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--couchdb-url", help="profile against this CouchDB 3 (default: an embedded one)")
    a = p.parse_args()
    os.chdir(Path(__file__).resolve().parent)
    import uvloop

    uvloop.run(main(a))
