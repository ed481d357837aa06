"""A loopback HTTP server in front of the real CouchDB under test that answers chosen requests
with CouchDB's error bodies (a cluster outage's `nodedown`, `query_parse_error`,
`document_too_large`, ...) and forwards every other request unchanged. It lets the error
mapping be tested on the embedded server as on CouchDB 3 (tests/tcp_proxy.py cuts connections;
this one answers)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from yarl import URL

from .conftest import free_port

# The bodies CouchDB 3 answers with (chttpd:error_info/1), by name.
NODEDOWN_500 = (500, {"error": "nodedown", "reason": "progress not possible"})
NODEDOWN_412 = (412, {"error": "nodedown", "reason": "progress not possible"})
QUORUM_500 = (500, {"error": "write_quorum_not_met", "reason": "no quorum"})
TIMEOUT_500 = (
    500,
    {"error": "timeout", "reason": "The request could not be processed in a reasonable amount of time."},
)
SERVICE_UNAVAILABLE_503 = (503, {"error": "service unavailable", "reason": "all_workers_died"})
# a 200 whose body is an error (what `KeyError: 'rows'` came from)
ERROR_BODY_200 = (200, {"error": "nodedown", "reason": "progress not possible"})
# a 404 that is not CouchDB's not_found (a proxy or load balancer in front of it)
FOREIGN_404 = (404, "<html><body>404 Not Found</body></html>")
LIMIT_400 = (400, {"error": "query_parse_error", "reason": "Limit is too large, must not exceed 576460752303423487"})
TOO_LARGE_413 = (413, {"error": "document_too_large", "reason": "doc"})


@dataclass
class Rule:
    method: str
    path: re.Pattern[str]
    answer: tuple[int, object]
    hits: int = 0


class FaultyCouch:
    """`fail(method, path_regex, answer)` until `clear()`; `url` has the real server's credentials."""

    def __init__(self, couchdb_url: str):
        self.target = URL(couchdb_url)
        self.port = free_port()
        self.url = str(self.target.with_host("127.0.0.1").with_port(self.port)).rstrip("/")
        self.rules: list[Rule] = []
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None

    def fail(self, method: str, path: str, answer: tuple[int, object]) -> Rule:
        """Answer requests of `method` ("*": any) whose decoded path matches `path` (re.search)."""
        rule = Rule(method, re.compile(path), answer)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    async def start(self) -> FaultyCouch:
        self._http = aiohttp.ClientSession(str(self.target.with_user(None).with_path("/")), auto_decompress=False)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
        if self._http:
            await self._http.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        for rule in self.rules:
            if rule.method in ("*", request.method) and rule.path.search(request.path):
                rule.hits += 1
                await request.read()
                status, body = rule.answer
                if isinstance(body, str):
                    return web.Response(status=status, text=body, content_type="text/html")
                return web.json_response(body, status=status)
        assert self._http is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self._http.request(
            request.method, request.rel_url.raw_path_qs, data=await request.read(), headers=headers
        ) as upstream:
            body = await upstream.read()
            keep = ("content-type", "etag", "location", "cache-control")
            out = {k: v for k, v in upstream.headers.items() if k.lower() in keep}
            return web.Response(status=upstream.status, body=body, headers=out)
