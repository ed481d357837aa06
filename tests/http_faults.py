"""A loopback HTTP proxy in front of CouchDB that answers chosen requests with a cluster's error
answers (`500 nodedown`, a 404 for a document that exists), after passing them on or not: what a
3-node CouchDB answers while one node dies, on any engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from yarl import URL

from .conftest import free_port

NODEDOWN = (500, b'{"error":"nodedown","reason":"progress not possible"}')
NOT_FOUND = (404, b'{"error":"not_found","reason":"missing"}')
Match = Callable[[str, str, bytes], bool]  # method, path, body


@dataclass
class Fault:
    match: Match
    answer: tuple[int, bytes]
    stored: bool  # passed on to CouchDB before the error answer (a write that was kept)
    times: int
    hits: int = 0


class FaultyCouch:
    def __init__(self, target_url: str):
        target = URL(target_url)
        self.target = str(target.with_user(None)).rstrip("/")
        self.port = free_port()
        self.url = str(target.with_host("127.0.0.1").with_port(self.port)).rstrip("/")
        self.faults: list[Fault] = []
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None

    def fail(self, match: Match, answer: tuple[int, bytes], *, stored: bool = False, times: int = 1) -> Fault:
        fault = Fault(match, answer, stored, times)
        self.faults.append(fault)
        return fault

    async def start(self) -> FaultyCouch:
        self._http = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        fault = next((f for f in self.faults if f.hits < f.times and f.match(request.method, request.path, body)), None)
        if fault is not None:
            fault.hits += 1
            if fault.stored:
                await self._pass_on(request, body)
            status, payload = fault.answer
            return web.Response(status=status, body=payload, content_type="application/json")
        return await self._pass_on(request, body)

    async def _pass_on(self, request: web.Request, body: bytes) -> web.Response:
        assert self._http is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self._http.request(
            request.method, URL(self.target + request.raw_path, encoded=True), data=body or None, headers=headers
        ) as resp:
            payload = await resp.read()
            out = {k: v for k, v in resp.headers.items() if k.lower() in ("content-type", "etag", "location")}
            return web.Response(status=resp.status, body=payload, headers=out)
