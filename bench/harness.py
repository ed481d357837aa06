"""Shared set-up for the benchmarks: a CouchDB and the service as real subprocesses on loopback,
accounts with their tokens, alternating timed phases, and the verdict.

The CouchDB is the `--engine`: `embedded` (the repository's PouchDB-based server, started per
stack), or `couchdb3`: Apache CouchDB 3, either a fresh node started per stack from a directory
holding the CouchDB 3.5 build's `start.sh`/`stop.sh` (`--couchdb3-dir`, env COUCHDB3_DIR), or a
running server named by URL (`--couchdb-url`, env COUCHDB_URL, e.g. an operator's container;
each stack then uses databases of its own on it).

Every benchmark measures the service and raw CouchDB side by side in the same run and compares
ratios (the machine is shared and noisy: absolute times mean little). Each benchmark runs
`--runs` times (3), reports min / median / max of every ratio, compares the median with its
target and exits 1 on a miss. `--quick` uses small sizes, to check the scripts themselves.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from yarl import URL

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kazoo_crossbar.bus.base import NullBus  # noqa: E402
from kazoo_crossbar.couchdb_launcher import couchdb_node_flags  # noqa: E402
from kazoo_crossbar.storage import names, provision  # noqa: E402
from kazoo_crossbar.storage.bootstrap import setup  # noqa: E402
from kazoo_crossbar.storage.couch import CouchClient  # noqa: E402
from kazoo_crossbar.storage.writes import Writes  # noqa: E402

__all__ = ["CouchClient", "names"]


# ---- command line and verdict ----------------------------------------------------------------
ENGINES = ("embedded", "couchdb3")


def engine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", choices=ENGINES, default="embedded", help="which CouchDB (default embedded)")
    p.add_argument(
        "--couchdb-url",
        default=os.environ.get("COUCHDB_URL") or None,
        help="--engine couchdb3: a running CouchDB 3 (http://admin:pass@host:port); env COUCHDB_URL",
    )
    p.add_argument(
        "--couchdb3-dir",
        type=Path,
        default=Path(os.environ["COUCHDB3_DIR"]) if os.environ.get("COUCHDB3_DIR") else None,
        help="--engine couchdb3: the CouchDB 3.5 build's folder (start.sh, stop.sh); a fresh node per "
        "stack; env COUCHDB3_DIR",
    )


def parse_args(doc: str | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes: checks the script, not the figures")
    p.add_argument("--runs", type=int, default=3, help="repetitions; the median is judged (default 3)")
    p.add_argument("--json", type=Path, help="also write the report here (run_all.py reads it)")
    p.add_argument(
        "--scale", type=float, default=1.0, help="multiply every target limit (e.g. 0.5 to prove a miss exits non-zero)"
    )
    engine_args(p)
    args = p.parse_args()
    configure_engine(args)
    return args


@dataclass
class Engine:
    """Where each stack's CouchDB comes from (set once per script from its arguments)."""

    name: str = "embedded"
    url: str | None = None  # a running CouchDB 3
    build_dir: Path | None = None  # start.sh / stop.sh of a CouchDB 3 build
    version: str = ""  # what the server says it is (GET /), for the report


ENGINE = Engine()


def configure_engine(args: argparse.Namespace) -> None:
    ENGINE.name = args.engine
    if args.engine == "couchdb3":
        if args.couchdb_url:
            ENGINE.url = args.couchdb_url.rstrip("/")
        elif args.couchdb3_dir:
            if not (args.couchdb3_dir / "start.sh").exists():
                raise SystemExit(f"--couchdb3-dir {args.couchdb3_dir}: no start.sh there")
            ENGINE.build_dir = args.couchdb3_dir.resolve()
        else:
            raise SystemExit("--engine couchdb3 needs --couchdb-url URL or --couchdb3-dir DIR")


@dataclass
class Row:
    """One line of the results table: a ratio measured once per run, judged by its median."""

    id: str
    what: str
    method: str  # two short lines for docs/benchmarks.md
    op: str | None = None  # "<=" or ">=" (None: informative, never a miss)
    limit: float | None = None
    unit: str = "×"
    values: list[float] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # per run, e.g. "API 5.1 ms vs direct 3.9 ms"

    def stats(self) -> dict[str, float]:
        return {"min": min(self.values), "median": statistics.median(self.values), "max": max(self.values)}

    def met(self) -> bool | None:
        if self.op is None or not self.values:
            return None
        median = statistics.median(self.values)
        return median <= self.limit if self.op == "<=" else median >= self.limit

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "what": self.what,
            "method": self.method,
            "unit": self.unit,
            "target": f"{self.op} {self.limit:g}{self.unit}" if self.op else None,
            "values": [round(v, 3) for v in self.values],
            **({k: round(v, 3) for k, v in self.stats().items()} if self.values else {}),
            "met": self.met(),
            "details": self.details,
        }


def finish(
    name: str, args: argparse.Namespace, rows: list[Row], tables: list[dict] | None = None, info: dict | None = None
) -> None:
    """Print the report, write it as JSON for run_all.py, exit 1 if a median misses its target."""
    for row in rows:
        if row.limit is not None:
            row.limit *= args.scale
    report = {
        "benchmark": name,
        "quick": args.quick,
        "runs": args.runs,
        "rows": [r.as_dict() for r in rows],
        "tables": tables or [],
        "engine": ENGINE.name,
        "info": {"couchdb": ENGINE.version, **(info or {})},
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    for r in rows:
        if not r.values:
            continue
        s = r.stats()
        verdict = {True: "met", False: "MISSED", None: ""}[r.met()]
        target = f"{r.op} {r.limit:g}{r.unit}" if r.op else ""
        print(f"{r.id:8} {r.what[:58]:58} {s['min']:8.3g} {s['median']:8.3g} {s['max']:8.3g}  {target:9} {verdict}")
    missed = [r.id for r in rows if r.met() is False]
    if missed:
        print(f"{name}: target missed: {', '.join(missed)}", file=sys.stderr)
        sys.exit(1)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


# ---- timed phases -----------------------------------------------------------------------------
async def timed_get(http: aiohttp.ClientSession, url: str, headers: dict | None = None) -> float:
    t0 = time.perf_counter()
    async with http.get(url, headers=headers or {}) as resp:
        body = await resp.read()
    elapsed = time.perf_counter() - t0
    if resp.status != 200:
        raise RuntimeError(f"GET {url}: {resp.status} {body[:300]!r}")
    return elapsed


async def sequential(fn: Callable[[], Awaitable[float]], n: int) -> list[float]:
    return [await fn() for _ in range(n)]


async def concurrent(fn: Callable[[], Awaitable[float]], total: int, concurrency: int) -> tuple[float, list[float]]:
    """`total` calls of fn by `concurrency` workers; returns (requests/s, latencies)."""
    remaining, latencies = total, []

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            latencies.append(await fn())

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total / (time.perf_counter() - t0), latencies


async def alternate(sides: dict[str, Callable[[], Awaitable[list[float]]]], rounds: int) -> dict[str, list[float]]:
    """Phases A, B, A, B … (`rounds` of each), so the machine's noise falls on every side alike.
    The side that goes first alternates too."""
    out: dict[str, list[float]] = {k: [] for k in sides}
    order = list(sides)
    for i in range(rounds):
        for key in order if i % 2 == 0 else order[::-1]:
            out[key].extend(await sides[key]())
    return out


async def interleaved(sides: dict[str, Callable[[], Awaitable[float]]], n: int) -> dict[str, list[float]]:
    """`n` timed calls of each side, one of each in turn (A B, B A, A B …): both sides meet the
    machine's moments alike. Phases of 20 or 50 let a burst of the neighbours' load fall on one
    side only; on a shared machine that moved a p50 ratio by 15-30% between runs."""
    out: dict[str, list[float]] = {k: [] for k in sides}
    order = list(sides)
    for i in range(n):
        for key in order if i % 2 == 0 else order[::-1]:
            out[key].append(await sides[key]())
    return out


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def settle(pid: int, *, busy: float = 0.08, window_s: float = 0.5, max_s: float = 60.0) -> float:
    """Wait until the CouchDB process is quiet (under `busy` of a core for two windows in a row):
    after seeding or a job, LevelDB compactions (embedded) and background view indexing (CouchDB
    3's ken) go on for seconds and would land in whichever phase comes next. Returns the wait."""
    if not pid:
        return 0.0  # a CouchDB given by URL: nothing to watch
    t0 = time.monotonic()
    quiet = 0
    while quiet < 2 and time.monotonic() - t0 < max_s:
        before = cpu_seconds(pid)
        await asyncio.sleep(window_s)
        quiet = quiet + 1 if cpu_seconds(pid) - before < busy * window_s else 0
    return time.monotonic() - t0


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


# ---- processes --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def proc_mb(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) of a process, in MB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS", "VmHWM")):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) // 1024
    return out


def amqp_url() -> str | None:
    """A broker for the cached rows: KAZOO_BENCH_AMQP_URL, else a vhost of our own on 127.0.0.1:5672."""
    if os.environ.get("KAZOO_BENCH_AMQP_URL"):
        return os.environ["KAZOO_BENCH_AMQP_URL"]
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=1).close()
    except OSError:
        return None
    from tests import broker

    broker.create_vhost()
    return broker.amqp_url()


def drop_amqp_vhost() -> None:
    if not os.environ.get("KAZOO_BENCH_AMQP_URL"):
        from tests import broker

        broker.delete_vhost()


def couchdb3_ports(nodes: int) -> int:
    """A first HTTP port whose node ports (PORT..PORT+nodes-1) and Erlang distribution ports
    (PORT+10000..) are free; within BENCH_COUCHDB3_PORTS (e.g. 16700-16899) when set."""
    span = os.environ.get("BENCH_COUCHDB3_PORTS")
    lo, hi = (int(x) for x in span.split("-")) if span else (20000, 55000)
    for _ in range(200):
        port = secrets.choice(range(lo, hi - nodes + 1))
        wanted = [port + i for i in range(nodes)] + [port + 10000 + i for i in range(nodes)]
        if all(port_free(p) for p in wanted):
            return port
    raise RuntimeError(f"no free CouchDB 3 ports in {lo}-{hi}")


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Stack:
    """A CouchDB (the engine's) and one or more service processes; a tenant account and the
    master account, each with an API token."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []
        self.tmp = tempfile.TemporaryDirectory(prefix="kazoo-bench-")
        self.couch_url = ""  # with credentials, for the service and CouchClient
        self.couch_base = ""  # without: the direct side's URLs
        self.couch_headers: dict[str, str] = {}  # the direct side's auth, encoded once
        self.couch: subprocess.Popen | None = None
        self.couch_pid = 0  # the CouchDB process (beam.smp of the first node for CouchDB 3)
        self.couch3: tuple[Path, int] | None = None  # (state dir, port) of nodes we started
        self.cluster_urls: list[str] = []  # every node's URL (with credentials), and without
        self.cluster_bases: list[str] = []
        self.couch_pids: list[int] = []
        self.service: subprocess.Popen | None = None
        self.api_url = ""
        self.master: dict = {}
        self.master_headers: dict[str, str] = {}

    def _set_couch_url(self, url: str) -> None:
        parsed = URL(url)
        self.couch_url = url.rstrip("/")
        self.couch_base = str(parsed.with_user(None)).rstrip("/")
        if parsed.user:
            token = base64.b64encode(f"{parsed.user}:{parsed.password or ''}".encode()).decode()
            self.couch_headers = {"Authorization": f"Basic {token}"}

    def start_couch(self, nodes: int = 1) -> None:
        if ENGINE.name == "couchdb3":
            self.start_couchdb3(nodes)
        else:
            self.start_embedded()

    def start_couchdb3(self, nodes: int = 1) -> None:
        """A fresh node (or 3-node cluster) from the build's start.sh, or the given URL."""
        if ENGINE.url:
            if nodes != 1:
                raise RuntimeError("a cluster needs --couchdb3-dir (start.sh starts it)")
            self._set_couch_url(ENGINE.url)
            return
        assert ENGINE.build_dir
        state = ROOT / "var" / "bench-couchdb3"  # the release is extracted here once; nodes are fresh
        port = couchdb3_ports(nodes)
        self.couch3 = (state, port)
        shutil.rmtree(state / (f"node-{port}" if nodes == 1 else f"cluster-{port}"), ignore_errors=True)
        out = subprocess.run(
            ["bash", str(ENGINE.build_dir / "start.sh"), str(state), str(port), str(nodes)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if out.returncode != 0:
            raise RuntimeError(f"CouchDB 3 did not start: {out.stderr[-1500:]}")
        self.couch_pids = [int(pid) for pid in out.stdout.split()]
        self.couch_pid = self.couch_pids[0]
        self._set_couch_url(f"http://admin:admin@127.0.0.1:{port}")
        self.cluster_urls = [f"http://admin:admin@127.0.0.1:{port + i}" for i in range(nodes)]
        self.cluster_bases = [f"http://127.0.0.1:{port + i}" for i in range(nodes)]

    def stop_couchdb3(self) -> None:
        if self.couch3 and ENGINE.build_dir:
            state, port = self.couch3
            subprocess.run(
                ["bash", str(ENGINE.build_dir / "stop.sh"), str(state), str(port)], capture_output=True, timeout=180
            )
            shutil.rmtree(state / f"node-{port}", ignore_errors=True)
            shutil.rmtree(state / f"cluster-{port}", ignore_errors=True)
            self.couch3 = None

    def start_embedded(self) -> None:
        port = free_port()
        self._set_couch_url(f"http://127.0.0.1:{port}")
        log = open(Path(self.tmp.name) / "couch.log", "ab")
        # node itself, as `kazoo-crossbar couchdb` execs it, so that BENCH_NODE_FLAGS can add flags
        # NODE_OPTIONS refuses (--cpu-prof; a later flag overrides an earlier); this pid is the CouchDB's
        self.couch = subprocess.Popen(
            [
                "node",
                *couchdb_node_flags(),
                *os.environ.get("BENCH_NODE_FLAGS", "").split(),
                str(ROOT / "couchdb_server" / "server.js"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--data-dir",
                str(Path(self.tmp.name) / "couch"),
            ],
            stdout=log,
            stderr=log,
            cwd=ROOT,
        )
        self.procs.append(self.couch)
        self.couch_pid = self.couch.pid
        wait_http(self.couch_url + "/_up", self.couch)

    def start_service(self, **env: str) -> str:
        """Starts a service process; returns its base URL (the first one is also self.api_url)."""
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(Path(self.tmp.name) / f"service-{port}.log", "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "kazoo_crossbar", "serve"],
            stdout=log,
            stderr=log,
            cwd=ROOT,
            env={
                **os.environ,
                "KAZOO_COUCHDB_URL": self.couch_url,
                "KAZOO_AMQP_URL": "",
                "KAZOO_CROSSBAR_HOST": "127.0.0.1",
                "KAZOO_CROSSBAR_PORT": str(port),
                "KAZOO_NODE_NAME": f"bench{port}@{socket.gethostname()}",
                **env,
            },
        )
        self.procs.append(proc)
        wait_http(url + "/", proc)
        if not self.service:
            self.service, self.api_url = proc, url
        return url

    async def setup(self) -> None:
        await setup(self.couch_url, "bench@setup", events=NullBus())
        couch = CouchClient(self.couch_url)
        try:
            welcome = await couch.request("GET", "/")
            vendor = welcome.get("vendor", {}).get("name", "")
            ENGINE.version = (
                f"Apache CouchDB {welcome.get('version', '?')}" if ENGINE.name == "couchdb3" else vendor or "embedded"
            )
            master_id = (await couch.get_doc("system_config", "accounts"))["default"]["master_account_id"]
            self.master = await couch.get_doc(names.account_db(master_id), master_id)
        finally:
            await couch.close()
        self.master_headers = await self.login(self.master["pvt_api_key"])

    async def login(self, api_key: str, url: str | None = None) -> dict[str, str]:
        async with aiohttp.ClientSession() as http:
            async with http.put((url or self.api_url) + "/v2/api_auth", json={"data": {"api_key": api_key}}) as resp:
                body = await resp.json()
        return {"X-Auth-Token": body["auth_token"]}

    async def account(self) -> tuple[dict, dict[str, str]]:
        """A new sub-account of the master that may add numbers, and its token headers."""
        couch = CouchClient(self.couch_url)
        try:
            writes = Writes(couch, NullBus(), node="bench@setup")
            acc = await provision.create_account(writes, f"Bench {secrets.token_hex(3)}", parent=self.master)
            acc["pvt_wnm_allow_additions"] = True
            await couch.save_doc(names.account_db(acc["_id"]), acc)
        finally:
            await couch.close()
        return acc, await self.login(acc["pvt_api_key"])

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self.stop_couchdb3()
        self.tmp.cleanup()


async def started(**service_env: str) -> Stack:
    s = Stack()
    try:
        s.start_couch()
        s.start_service(**service_env)
        await s.setup()
    except BaseException:
        s.stop()
        raise
    return s


async def create_resource(http: aiohttp.ClientSession, url: str, headers: dict, name: str = "Bench") -> str:
    async with http.put(
        url,
        headers=headers,
        json={
            "data": {
                "name": name,
                "gateways": [{"server": "sip.example.com", "username": "u", "password": "p"}],
                "rules": ["^\\+1(\\d{10})$"],
            }
        },
    ) as resp:
        body = await resp.json()
        if resp.status != 201:
            raise RuntimeError(f"PUT {url}: {resp.status} {body}")
    return body["data"]["id"]


def versions() -> dict[str, str]:
    """What the figures were measured on, for docs/benchmarks.md."""
    from importlib.metadata import version

    def node_version() -> str:
        try:
            return subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return "?"

    lock = json.loads((ROOT / "couchdb_server" / "package.json").read_text())["dependencies"]
    try:
        import uvloop

        loop = f"uvloop {uvloop.__version__}"
    except ImportError:
        loop = "asyncio"
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "python": platform.python_version(),
        "aiohttp": version("aiohttp"),
        "event_loop": loop,
        "node": node_version(),
        "express-pouchdb": lock["express-pouchdb"],
        "pouchdb": lock["pouchdb-core"],
        "cpu": f"{os.cpu_count()} × {cpu}",
        "kernel": platform.release(),
        "memory_gb": str(round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)),
    }


def run(main: Callable[[argparse.Namespace], Awaitable[None]], doc: str | None) -> None:
    args = parse_args(doc)
    asyncio.run(main(args))
