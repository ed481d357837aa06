"""Shared set-up for the benchmarks: an embedded CouchDB and the service as real
subprocesses on loopback (or KAZOO_COUCHDB_URL), a tenant account and a token.

Every benchmark measures the service and raw CouchDB side by side in the same run and
prints ratios: the machine is shared and noisy, absolute times mean little."""
from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kazoo_crossbar.storage import names, provision  # noqa: E402
from kazoo_crossbar.storage.bootstrap import setup  # noqa: E402
from kazoo_crossbar.storage.couch import CouchClient  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": percentile(values, 50) * 1000, "p99_ms": percentile(values, 99) * 1000,
            "mean_ms": statistics.fmean(values) * 1000}


class Stack:
    """CouchDB + service subprocesses, a tenant account with its API token."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []
        self.tmp = tempfile.TemporaryDirectory(prefix="kazoo-bench-")
        self.couch_url = os.environ.get("KAZOO_COUCHDB_URL", "").rstrip("/")
        self.api_url = ""
        self.account: dict = {}
        self.headers: dict[str, str] = {}
        self.service: subprocess.Popen | None = None

    def start_couch(self) -> None:
        if self.couch_url:
            return
        port = free_port()
        self.couch_url = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen([sys.executable, "-m", "kazoo_crossbar", "couchdb", "--port", str(port),
                                 "--data-dir", str(Path(self.tmp.name) / "couch")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        wait_http(self.couch_url + "/_up", proc)

    def start_service(self, **env: str) -> None:
        port = free_port()
        self.api_url = f"http://127.0.0.1:{port}"
        log = open(Path(self.tmp.name) / "service.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "kazoo_crossbar", "serve"], stdout=log, stderr=log,
                                env={**os.environ, "KAZOO_COUCHDB_URL": self.couch_url,
                                     "KAZOO_CROSSBAR_HOST": "127.0.0.1", "KAZOO_CROSSBAR_PORT": str(port),
                                     "KAZOO_NODE_NAME": f"bench@{socket.gethostname()}", **env})
        self.procs.append(proc)
        self.service = proc
        wait_http(self.api_url + "/", proc)

    async def prepare(self) -> None:
        await setup(self.couch_url, "bench@setup")
        couch = CouchClient(self.couch_url)
        try:
            master_id = (await couch.get_doc("system_config", "accounts"))["default"]["master_account_id"]
            master = await couch.get_doc(names.account_db(master_id), master_id)
            self.account = await provision.create_account(couch, f"Bench {secrets.token_hex(3)}", parent=master)
            self.account["pvt_wnm_allow_additions"] = True
            await couch.save_doc(names.account_db(self.account["_id"]), self.account)
        finally:
            await couch.close()
        async with aiohttp.ClientSession() as http:
            async with http.put(self.api_url + "/v2/api_auth",
                                json={"data": {"api_key": self.account["pvt_api_key"]}}) as resp:
                body = await resp.json()
        self.headers = {"X-Auth-Token": body["auth_token"]}

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self.tmp.cleanup()


@asynccontextmanager
async def stack(**service_env: str) -> AsyncIterator[Stack]:
    s = Stack()
    try:
        s.start_couch()
        s.start_service(**service_env)
        await s.prepare()
        yield s
    finally:
        s.stop()


def report(name: str, result: dict) -> None:
    print(json.dumps({"benchmark": name, **result}, indent=2))


def run(main) -> None:
    asyncio.run(main())
