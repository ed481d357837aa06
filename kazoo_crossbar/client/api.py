"""The HTTP API as the operator commands (`jobs`, `resources`) call it, with an account API key
(`PUT /v2/api_auth`), so they work against any Crossbar that speaks the API: this service or Kazoo.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from ..cli_errors import CliError

DEFAULT_URL = "http://127.0.0.1:8000"
TRANSIENT_STATUS = {429, 502, 503, 504}
RETRIES = 5  # per request, with 0.5, 1, 2, 4 s pauses


class Api:
    def __init__(self, http: aiohttp.ClientSession, url: str, account: str | None, pause_s: float = 0.5):
        self.http, self.url, self.account, self.pause_s = http, url.rstrip("/"), account, pause_s
        self.headers: dict[str, str] = {}

    @property
    def jobs_url(self) -> str:
        scope = f"/v2/accounts/{self.account}" if self.account else "/v2"
        return f"{self.url}{scope}/resources/jobs"

    async def login(self, api_key: str) -> None:
        body = await self.call("PUT", f"{self.url}/v2/api_auth", {"data": {"api_key": api_key}})
        self.headers = {"X-Auth-Token": body["auth_token"]}
        self.account = self.account or body["data"]["account_id"]

    async def call(self, method: str, url: str, payload: Any = None) -> dict:
        """One API call; connection failures and 429/502/503/504 are retried a few times.
        A PUT is retried only when it never reached the server (no duplicate jobs)."""
        for attempt in range(1, RETRIES + 1):
            try:
                async with self.http.request(method, url, json=payload, headers=self.headers) as resp:
                    status, raw = resp.status, await resp.read()
            except (TimeoutError, aiohttp.ClientConnectionError) as exc:
                sent = not isinstance(exc, aiohttp.ClientConnectorError)
                if attempt == RETRIES or (method == "PUT" and sent):
                    raise
            else:
                if status not in TRANSIENT_STATUS or attempt == RETRIES:
                    return self._body(method, url, status, raw)
            await asyncio.sleep(self.pause_s * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    @staticmethod
    def _body(method: str, url: str, status: int, raw: bytes) -> dict:
        try:
            body = json.loads(raw)
        except ValueError:
            raise CliError(f"{method} {url}: {status}, not a Crossbar JSON answer; is --url the API?") from None
        if not isinstance(body, dict) or body.get("status") != "success":
            body = body if isinstance(body, dict) else {}
            data = json.dumps(body.get("data"), separators=(",", ":"))
            raise CliError(f"{method} {url}: {status} {body.get('message') or body.get('error')}: {data}")
        return body
