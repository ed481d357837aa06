"""The jobs CLI's HTTP client against a local server: transient answers are retried, then reported."""

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from kazoo_crossbar.cli_errors import CliError
from kazoo_crossbar.client.api import Api


async def test_transient_errors_are_retried_then_reported():
    calls = {"flaky": 0, "down": 0}

    async def flaky(request: web.Request) -> web.Response:
        calls["flaky"] += 1
        if calls["flaky"] < 3:
            return web.Response(status=503, text="busy")
        return web.json_response({"status": "success", "data": {"id": "j"}})

    async def down(request: web.Request) -> web.Response:
        calls["down"] += 1
        return web.json_response({"status": "error", "message": "unavailable", "data": {}}, status=503)

    app = web.Application()
    app.router.add_get("/flaky", flaky)
    app.router.add_get("/down", down)
    async with TestServer(app) as server, ClientSession() as http:
        api = Api(http, str(server.make_url("")), "acct", pause_s=0.01)
        assert (await api.call("GET", str(server.make_url("/flaky"))))["data"] == {"id": "j"}
        assert calls["flaky"] == 3
        with pytest.raises(CliError, match="503 unavailable"):
            await api.call("GET", str(server.make_url("/down")))
        assert calls["down"] == 5
