"""`kazoo-crossbar jobs add|show|list` against the service as a real process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import aiohttp
import pytest
from yarl import URL

from kazoo_crossbar.cli_errors import redact_url

from ..kazoo import numbers_block
from ..services import ServiceProcess


def cli(*args: str, api_key: str, url: str, timeout: float = 120) -> tuple[dict | list, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "kazoo_crossbar", "jobs", "--url", url, *args],
        env={**os.environ, "KAZOO_API_KEY": api_key},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


@pytest.fixture(scope="module")
async def running(couchdb_url, kazoo, tmp_path_factory):
    account = await kazoo.plain_account("CLI", allow_additions=True)
    service = ServiceProcess(couchdb_url, "cli@test", tmp_path_factory.mktemp("cli")).start()
    async with aiohttp.ClientSession() as http:
        async with http.put(f"{service.url}/v2/api_auth", json={"data": {"api_key": account["pvt_api_key"]}}) as r:
            token = (await r.json())["auth_token"]
        async with http.put(
            f"{service.url}/v2/accounts/{account['_id']}/resources",
            headers={"X-Auth-Token": token},
            json={"data": {"name": "CLI", "gateways": []}},
        ) as r:
            rid = (await r.json())["data"]["id"]
    yield service, account, rid
    service.stop()


async def test_jobs_add_from_csv_in_chunks_then_show_and_list(running, tmp_path):
    service, account, rid = running
    nums = numbers_block(25)
    path = tmp_path / "numbers.csv"
    path.write_text("name,Number\n" + "".join(f"n{i},{n}\n" for i, n in enumerate(nums)) + "bad,12\n")
    failures = tmp_path / "failures.csv"
    summary, progress = await asyncio.to_thread(
        cli,
        "add",
        "--resource",
        rid,
        "--chunk",
        "10",
        "--poll",
        "0.2",
        "--failures",
        str(failures),
        str(path),
        api_key=account["pvt_api_key"],
        url=service.url,
    )
    # "12" is no number Kazoo accepts: reported with its line, never sent (docs/number-files.md)
    assert summary["submitted"] == 25 and summary["added"] == 25 and summary["failed"] == 0
    assert summary["skipped"] == 1 and summary["skipped_by_reason"] == {"not_reconcilable": 1}
    assert len(summary["jobs"]) == 3 and summary["failures"] == []
    assert failures.read_text().splitlines() == [
        "number,reason,message,cause,line,job_id",
        "12,not_reconcilable,Kazoo's number manager would refuse it: 12 does not match reconcile_regex,,27,",
    ]
    assert f"{path} line 27: not_reconcilable: " in progress
    assert "progress: 25/25 numbers done, 0 failed" in progress.splitlines()  # plain lines: not a terminal
    shown, _ = await asyncio.to_thread(cli, "show", summary["jobs"][0], api_key=account["pvt_api_key"], url=service.url)
    assert shown["status"] == "complete" and shown["successes"] == 10  # a summary
    full, _ = await asyncio.to_thread(
        cli, "show", summary["jobs"][0], "--full", api_key=account["pvt_api_key"], url=service.url
    )
    assert full["status"] == "complete" and len(full["successes"]) == 10  # the document
    listed, _ = await asyncio.to_thread(cli, "list", api_key=account["pvt_api_key"], url=service.url)
    assert set(summary["jobs"]) <= {row["id"] for row in listed}


async def test_jobs_add_plain_lines_and_errors(running, tmp_path):
    service, account, rid = running
    path = tmp_path / "numbers.txt"
    path.write_text("\n".join(numbers_block(3)) + "\n\n")
    summary, _ = await asyncio.to_thread(
        cli, "add", "--resource", rid, "--poll", "0.2", str(path), api_key=account["pvt_api_key"], url=service.url
    )
    assert summary["added"] == 3 and summary["failed"] == 0
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "kazoo_crossbar",
            "jobs",
            "--url",
            service.url,
            "add",
            "--resource",
            "no-such-resource",
            str(path),
        ],
        env={**os.environ, "KAZOO_API_KEY": account["pvt_api_key"]},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode != 0 and "not_found" in bad.stderr


async def test_jobs_options_after_the_action(running):
    service, account, _ = running
    proc = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "kazoo_crossbar",
            "jobs",
            "list",
            "--url",
            service.url,
            "--api-key",
            account["pvt_api_key"],
        ],
        env={k: v for k, v in os.environ.items() if k != "KAZOO_API_KEY"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert isinstance(json.loads(proc.stdout), list)


async def test_serve_logs_one_startup_line(running, couchdb_url):
    service, _, _ = running
    [started] = service.events("started")
    assert (
        started["node"] == "cli@test" and started["couchdb"] == redact_url(couchdb_url) and started["broker"] == "off"
    )
    assert started["listen"] == f"127.0.0.1:{service.port}" and started["version"][0].isdigit()
    log = service.log_path.read_text()
    assert "Running on" not in log  # aiohttp's own banner is replaced
    password = URL(couchdb_url).password
    assert not password or f":{password}@" not in log  # a CouchDB 3 URL carries admin credentials
