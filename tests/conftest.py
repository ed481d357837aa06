"""Shared fixtures: a real CouchDB-protocol server for the session (the
embedded one on a free port, in memory, unless KAZOO_COUCHDB_URL names
another), `setup` run once against it, and the service on a test server."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO

import pytest
from aiohttp.test_utils import TestClient, TestServer

from kazoo_crossbar.app import create_app
from kazoo_crossbar.config import Settings
from kazoo_crossbar.storage.couch import CouchClient, NotFound

from . import broker
from .eventually import eventually_blocking
from .kazoo import KazooData

NODE = "kazoo_crossbar_test@localhost"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_up(url: str, proc: subprocess.Popen | None, timeout_s: float = 30.0) -> None:
    def up() -> bool:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"embedded CouchDB exited with {proc.returncode}")
        with urllib.request.urlopen(url + "/_up", timeout=1) as resp:
            return json.loads(resp.read()).get("status") == "ok"

    eventually_blocking(up, what=f"CouchDB at {url} is up", timeout_s=timeout_s, retry_on=(OSError,))


class EmbeddedCouch:
    """The embedded CouchDB as a subprocess we own (stopped by its pid)."""

    def __init__(self, port: int | None = None, data_dir: Path | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.proc: subprocess.Popen | None = None

    def start(self) -> EmbeddedCouch:
        argv = [sys.executable, "-m", "kazoo_crossbar", "couchdb", "--port", str(self.port)]
        argv += ["--data-dir", str(self.data_dir)] if self.data_dir else ["--in-memory"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self._log())
        wait_for_up(self.url, self.proc)
        return self

    def _log(self) -> IO[bytes]:
        """Its stderr in a file of the temp folder, named after its port: a server that dies
        mid-run leaves its reason there."""
        return open(Path(tempfile.gettempdir()) / f"kazoo-crossbar-embedded-couchdb-{self.port}.log", "ab")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture(scope="session")
def couchdb_url() -> Iterator[str]:
    url = os.environ.get("KAZOO_COUCHDB_URL")
    if url:
        yield url.rstrip("/")
        return
    server = EmbeddedCouch().start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def couch(couchdb_url: str) -> AsyncIterator[CouchClient]:
    client = CouchClient(couchdb_url)
    yield client
    await client.close()


@pytest.fixture(scope="session")
async def master(couchdb_url: str, couch: CouchClient) -> dict:
    """`setup` once: system databases, views, config, the master account and its admin. Its writes
    publish in the test run's virtual host, as `setup --amqp-url` does (the session validator
    checks those messages too)."""
    from kazoo_crossbar.bus.amqp import publisher
    from kazoo_crossbar.storage.bootstrap import setup

    async with publisher(broker.amqp_url(), NODE) as bus:
        created = await setup(couchdb_url, NODE, events=bus, admin_username="admin", admin_password="s3cret-pass")
    # The shared test server logs in far more often than Kazoo's 100-token buckets allow; only
    # its node gets roomy buckets (tests/hostile/test_rate_limit.py runs another node name).
    buckets = {
        "_id": "token_buckets",
        NODE: {"crossbar": {"max_bucket_tokens": 1_000_000, "tokens_fill_rate": 1_000_000}},
    }
    try:  # a CouchDB kept from an earlier run (a cluster is slow to make afresh) has it already
        buckets["_rev"] = (await couch.get_doc("system_config", "token_buckets"))["_rev"]
    except NotFound:
        pass
    await couch.save_doc("system_config", buckets)
    return created


@pytest.fixture(scope="session")
def settings(couchdb_url: str) -> Settings:
    return Settings(couchdb_url=couchdb_url, node_name=NODE)


@pytest.fixture(scope="session")
async def client(settings: Settings, master: dict) -> AsyncIterator[TestClient]:
    app = create_app(settings, background=False)  # recovery passes are driven by the tests
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
async def kazoo(couch: CouchClient, master: dict, client: TestClient) -> KazooData:
    """Writes data straight into CouchDB the way a Kazoo cluster does, and logs in."""
    return KazooData(couch, client, master)


@pytest.fixture(scope="session")
async def master_token(kazoo: KazooData, master: dict) -> str:
    return await kazoo.api_token(master["api_key"])


def pytest_collection_modifyitems(items: list) -> None:
    # Every test shares the session event loop (the CouchDB client and test server live there).
    for item in items:
        if asyncio.iscoroutinefunction(getattr(item, "function", None)):
            item.add_marker(pytest.mark.asyncio(loop_scope="session"))


# Every message published in this run's virtual host, checked with Kazoo's validators at the end
VALIDATOR = pytest.StashKey[broker.SessionValidator]()
VERDICT = pytest.StashKey[tuple[int, list]]()


def pytest_configure(config) -> None:
    broker.create_vhost()
    config.stash[VALIDATOR] = broker.SessionValidator().start()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus) -> None:
    """The run fails when any message published during it would be dropped by a Kazoo node."""
    validator = session.config.stash.get(VALIDATOR, None)
    if validator is None:
        return
    validator.stop()
    invalid = validator.invalid()
    if validator.error is not None:
        invalid = [("-", "-", "-", [f"the session validator could not listen: {validator.error}"]), *invalid]
    session.config.stash[VERDICT] = (len(validator.messages), invalid)
    if invalid and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    verdict = config.stash.get(VERDICT, None)
    if verdict is None:
        return
    checked, invalid = verdict
    terminalreporter.write_line(
        f"kazoo bus validator: {checked} messages checked with Kazoo's validators, {len(invalid)} invalid"
    )
    for exchange, key, body, problems in invalid[:20]:
        terminalreporter.write_line(f"  INVALID {exchange} {key}: {'; '.join(problems)}", red=True)
        terminalreporter.write_line(f"    {body[:400]}")


def pytest_unconfigure(config) -> None:
    broker.delete_vhost()
