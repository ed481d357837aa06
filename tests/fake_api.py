"""A fake Kazoo API for `kazoo-crossbar jobs` tests: a small aiohttp server on loopback with the
routes a test gives, and the CLI run as a process against it (bounded in time)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

API_KEY = "k" * 64
ACCOUNT = "a" * 32
JOB = "202612-" + "b" * 16


async def run_cli(*args: str, timeout_s: float = 120) -> tuple[int, str, str]:
    """The CLI as a process (the test's event loop keeps serving meanwhile); bounded in time."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAZOO_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kazoo_crossbar",
        "jobs",
        *args,
        env={**env, "KAZOO_API_KEY": API_KEY},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"the CLI did not end within {timeout_s} s (hang guard)") from None
    return proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")


async def login(request: web.Request) -> web.Response:
    return web.json_response({"status": "success", "auth_token": "t.o.k", "data": {"account_id": ACCOUNT}})


@asynccontextmanager
async def hostile(routes: dict[tuple[str, str], Callable], host: str = "127.0.0.1") -> AsyncIterator[TestServer]:
    app = web.Application()
    for (method, path), handler in routes.items():
        app.router.add_route(method, path, handler)
    server = TestServer(app, host=host)
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


def base(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


async def jobs_add(routes: dict[tuple[str, str], Callable], tmp_path: Any, *options: str) -> tuple[int, str, str]:
    """`jobs add` of two numbers against a server with `routes` (and the login route)."""
    numbers_file = tmp_path / "n.txt"
    numbers_file.write_text("+16465550100\n+16465550101\n")
    async with hostile({("PUT", "/v2/api_auth"): login, **routes}) as server:
        return await run_cli("--url", base(server), "add", "--resource", "r", *options, str(numbers_file))
