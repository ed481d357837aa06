"""Issue 21 item 9: `kazoo-crossbar jobs` against a hostile server (a small aiohttp server in the
test, on loopback) prints no terminal escapes or forged lines, writes no live spreadsheet formula,
sends the API key to the configured origin only, reads a bounded reply, and gives up waiting
after the time it states. Each case failed on the code before."""

from __future__ import annotations

import csv
import io
import json

import pytest
from aiohttp import web

from ..fake_api import ACCOUNT, API_KEY, JOB, base, hostile, jobs_add, login, run_cli

ESCAPES = "\x1b[2J\x1b[31m\x9b1;1H"
FORGED = "\nkazoo-crossbar jobs: everything imported, 0 failed"


@pytest.fixture
def numbers_file(tmp_path):
    path = tmp_path / "n.txt"
    path.write_text("+16465550100\n+16465550101\n")
    return path


async def test_server_text_cannot_drive_the_terminal_or_forge_lines():
    async def refuse(request: web.Request) -> web.Response:
        body = {"status": "error", "error": "401", "message": ESCAPES + "denied" + FORGED, "data": {"x": ESCAPES}}
        return web.json_response(body, status=401)

    async with hostile({("PUT", "/v2/api_auth"): refuse}) as server:
        code, _out, err = await run_cli("--url", base(server), "list")
    assert code == 1
    assert err.count("\n") == 1 and "everything imported" in err  # one line: the forged one is inside it
    assert not any(c in err for c in "\x1b\x9b\r"), repr(err)
    assert "\\x1b[2J" in err and "denied\\x0akazoo-crossbar" in err  # shown, harmless


async def test_failures_csv_cells_cannot_be_formulas(numbers_file, tmp_path):
    evil = {
        "+16465550100": {"error": '=HYPERLINK("http://evil","x")', "message": "@SUM(1+1)*cmd|' /C calc'!A0"},
        "+16465550101": {"error": "-2+3", "message": "+cmd", "cause": "=1"},
    }

    async def create(request: web.Request) -> web.Response:
        return web.json_response({"status": "success", "data": {"id": JOB}}, status=201)

    async def job(request: web.Request) -> web.Response:
        return web.json_response({"status": "success", "data": {"id": JOB, "status": "complete", "errors": evil}})

    routes = {
        ("PUT", "/v2/api_auth"): login,
        ("PUT", f"/v2/accounts/{ACCOUNT}/resources/jobs"): create,
        ("GET", f"/v2/accounts/{ACCOUNT}/resources/jobs/{JOB}"): job,
    }
    out_csv = tmp_path / "failures.csv"
    async with hostile(routes) as server:
        code, _, err = await run_cli(
            "--url", base(server), "add", "--resource", "r", "--failures", str(out_csv), str(numbers_file)
        )
    assert code == 1 and "every number failed" in err  # and the summary and file are written
    cells = [c for row in csv.reader(io.StringIO(out_csv.read_text())) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@") and not c[1:].isdigit()], cells
    assert '\'=HYPERLINK("http://evil","x")' in cells and "'@SUM(1+1)*cmd|' /C calc'!A0" in cells


async def test_the_api_key_never_follows_a_redirect_to_another_origin(numbers_file):
    seen: list[str] = []

    async def collect(request: web.Request) -> web.Response:
        seen.append(await request.text())
        return await login(request)

    # 127.0.0.2 is loopback too, but another origin than 127.0.0.1
    async with hostile({("PUT", "/v2/api_auth"): collect}, host="127.0.0.2") as elsewhere:

        async def bounce(request: web.Request) -> web.Response:
            raise web.HTTPTemporaryRedirect(f"{base(elsewhere)}/v2/api_auth")

        async with hostile({("PUT", "/v2/api_auth"): bounce}) as server:
            code, _, err = await run_cli("--url", base(server), "list")
    assert seen == []  # the key never left for the other origin
    assert code == 1 and "another origin: not followed" in err and API_KEY not in err


async def test_a_huge_reply_is_not_read_into_memory():
    sent = {"bytes": 0}

    async def flood(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})  # no length: chunked
        await resp.prepare(request)
        chunk = b"[" + b"0," * (1 << 19)
        try:
            for _ in range(800):  # 800 MB if it were all read
                await resp.write(chunk)
                sent["bytes"] += len(chunk)
        except (ConnectionResetError, RuntimeError):
            pass  # the client went away
        return resp

    async with hostile({("PUT", "/v2/api_auth"): flood}) as server:
        code, _, err = await run_cli("--url", base(server), "list")
    assert code == 1 and "larger than 32 MiB" in err, err
    assert sent["bytes"] < 200 * (1 << 20)  # it stopped reading long before 800 MB


async def test_a_job_that_never_completes_is_given_up_after_the_stated_time(numbers_file):
    async def create(request: web.Request) -> web.Response:
        return web.json_response({"status": "success", "data": {"id": JOB}}, status=201)

    async def running(request: web.Request) -> web.Response:
        return web.json_response({"status": "success", "data": {"id": JOB, "status": "running"}})

    routes = {
        ("PUT", "/v2/api_auth"): login,
        ("PUT", f"/v2/accounts/{ACCOUNT}/resources/jobs"): create,
        ("GET", f"/v2/accounts/{ACCOUNT}/resources/jobs/{JOB}"): running,
    }
    async with hostile(routes) as server:
        code, _, err = await run_cli(
            "--url", base(server), "add", "--resource", "r", "--poll", "0.1", "--timeout", "1", str(numbers_file)
        )
    assert code == 1
    assert err.splitlines()[-1].startswith(
        f"kazoo-crossbar jobs: error: gave up after 1 s (--timeout) waiting for job(s) {JOB}"
    )


async def test_jobs_add_stops_waiting_for_a_failed_job_and_exits_1(tmp_path):
    """`jobs add` waited for `complete` only: a job that can never finish kept it polling."""
    failure = {"error": "document_too_large", "message": "the job's document is too large", "reserved": []}

    async def create(request: web.Request) -> web.Response:
        return web.json_response({"status": "success", "data": {"id": JOB}}, status=201)

    async def failed(request: web.Request) -> web.Response:
        data = {"id": JOB, "status": "failed", "failure": failure, "successes": {}, "errors": {}}
        return web.json_response({"status": "success", "data": data})

    routes = {
        ("PUT", f"/v2/accounts/{ACCOUNT}/resources/jobs"): create,
        ("GET", f"/v2/accounts/{ACCOUNT}/resources/jobs/{JOB}"): failed,
    }
    code, out, err = await jobs_add(routes, tmp_path, "--poll", "0.1")
    assert code == 1 and json.loads(out)["failed_jobs"] == {JOB: failure}
    assert err.splitlines()[-1] == (
        f"kazoo-crossbar jobs: error: 1 job(s) failed and will not run again ({JOB}: the job's document is too large)"
    )
