"""The HTTP API as the operator commands (`jobs`, `resources`) call it, with an account API key
(`PUT /v2/api_auth`), so they work against any Crossbar that speaks the API: this service or Kazoo.

It trusts no server: the API key and the token go to the origin of `--url` only (a redirect to
another origin is refused, never followed), a reply is read up to `MAX_REPLY_BYTES` and no
further, an answer that is not a Crossbar envelope is named as such (CouchDB's own answers are
recognised), and text from the server reaches the terminal only through `text.safe`.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from ..cli_errors import CliError
from ..storage import retry
from .text import redact, safe

DEFAULT_URL = "http://127.0.0.1:8000"
TRANSIENT_STATUS = {429, 502, 503, 504}
RETRIES = 5  # per request, with 0.5, 1, 2, 4 s pauses
MAX_REPLY_BYTES = 32 * 1024 * 1024  # a job of 10,000 numbers with all its results is a few MB
MAX_REDIRECTS = 5
REDIRECTS = {301, 302, 303, 307, 308}
TOKEN = re.compile(r"[\x21-\x7e]{1,8192}")  # what may go into the X-Auth-Token header
ACCOUNT_ID = re.compile(r"[0-9a-zA-Z]{32}")


def check_url(url: str, option: str = "--url") -> str:
    """An absolute http(s) URL with a host, else a CliError that says how to write it."""
    shown = safe(url, 200)
    if "://" not in url:
        raise CliError(f"{option} {shown} has no scheme; write it as http://{shown.lstrip('/')}")
    try:
        parsed = URL(url)
        ok = parsed.scheme in ("http", "https") and bool(parsed.host) and parsed.port is not None
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise CliError(f"{option} {shown} is not an http(s) URL such as {DEFAULT_URL}")
    if parsed.user or parsed.password:
        raise CliError(f"{option}: the API takes an API key (--api-key), not credentials in the URL")
    return str(parsed.with_query(None).with_fragment(None)).rstrip("/")


def segment(value: str) -> str:
    """One URL path segment, whatever a server put in the id."""
    return quote(str(value), safe="")


async def read_capped(resp: aiohttp.ClientResponse, limit: int, what: str) -> bytes:
    """The body, but never more than `limit` bytes (a hostile or broken server may send gigabytes)."""
    too_big = f"{what}: the reply is larger than {limit // (1024 * 1024)} MiB; not read (is --url the Crossbar API?)"
    if resp.content_length is not None and resp.content_length > limit:
        raise CliError(too_big)
    chunks, size = [], 0
    async for chunk in resp.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > limit:
            raise CliError(too_big)
        chunks.append(chunk)
    return b"".join(chunks)


class Api:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        url: str,
        account: str | None,
        pause_s: float = 0.5,
        max_reply: int = MAX_REPLY_BYTES,
    ):
        self.http, self.url, self.account, self.pause_s = http, check_url(url), account, pause_s
        self.origin = URL(self.url).origin()
        self.max_reply = max_reply
        self.headers: dict[str, str] = {}
        self.secrets: list[str] = []  # never shown in a message
        self.key_account: str | None = None  # the API key's own account

    def scope(self) -> str:
        return f"{self.url}/v2/accounts/{segment(self.account)}" if self.account else f"{self.url}/v2"

    @property
    def jobs_url(self) -> str:
        return f"{self.scope()}/resources/jobs"

    def resources_url(self, global_: bool = False) -> str:
        return f"{self.url}/v2/resources" if global_ else f"{self.scope()}/resources"

    async def login(self, api_key: str) -> None:
        self.secrets.append(api_key)
        body = await self.call("PUT", f"{self.url}/v2/api_auth", {"data": {"api_key": api_key}})
        token, data = body.get("auth_token"), body.get("data")
        account = data.get("account_id") if isinstance(data, dict) else None
        if not isinstance(token, str) or not TOKEN.fullmatch(token):
            raise CliError(f"PUT {self.url}/v2/api_auth: the answer holds no usable auth_token; is --url the API?")
        if not isinstance(account, str) or not ACCOUNT_ID.fullmatch(account):
            raise CliError(f"PUT {self.url}/v2/api_auth: the answer names no account; is --url the API?")
        self.secrets.append(token)
        self.headers = {"X-Auth-Token": token}
        self.key_account = account
        self.account = self.account or account

    async def call(self, method: str, url: str, payload: Any = None) -> dict:
        """One API call; connection failures and 429/502/503/504 are retried a few times.
        A PUT is retried only when it never reached the server (no duplicate jobs)."""

        async def attempt() -> tuple[int, bytes]:
            return await self._send(method, url, payload)

        def worth_another_try(exc: Exception) -> bool:
            if not isinstance(exc, (TimeoutError, aiohttp.ClientConnectionError)):
                return False
            sent = not isinstance(exc, aiohttp.ClientConnectorError)
            return not (method == "PUT" and sent)

        status, raw = await retry.retrying(
            attempt,
            tries=RETRIES,
            retry_on=worth_another_try,
            retry_result=lambda answer: answer[0] in TRANSIENT_STATUS,
            backoff=retry.Backoff(self.pause_s, 2),
        )
        return self._body(method, url, status, raw)

    async def _send(self, method: str, url: str, payload: Any) -> tuple[int, bytes]:
        """One request, following redirects only within the configured origin (the token and the
        API key never go anywhere else), and reading at most `max_reply` bytes of the answer."""
        for _ in range(MAX_REDIRECTS + 1):
            async with self.http.request(
                method, url, json=payload, headers=self.headers, allow_redirects=False
            ) as resp:
                if resp.status not in REDIRECTS or "Location" not in resp.headers:
                    return resp.status, await read_capped(resp, self.max_reply, f"{method} {url}")
                try:
                    target = resp.url.join(URL(resp.headers["Location"]))
                except (ValueError, TypeError):
                    raise CliError(f"{method} {url}: {resp.status} redirect to an unreadable address") from None
            if target.origin() != self.origin:
                raise CliError(
                    f"{method} {url}: {resp.status} redirect to {safe(target.origin(), 200)}, another origin: not "
                    f"followed (the API key and token go to {self.origin} only); give --url the API's own address"
                )
            url = str(target)
            if resp.status == 303:
                method, payload = "GET", None
        raise CliError(f"{method} {url}: more than {MAX_REDIRECTS} redirects; give --url the API's own address")

    def _body(self, method: str, url: str, status: int, raw: bytes) -> dict:
        where = f"{method} {safe(url, 300)}"
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            raise CliError(f"{where}: {status}, not a Crossbar JSON answer; is --url the API?") from None
        if isinstance(body, dict) and body.get("status") == "success":
            return body
        if not isinstance(body, dict) or "status" not in body:
            raise CliError(f"{where}: {status}, {not_crossbar(body)}")
        data = json.dumps(body.get("data"), separators=(",", ":"))
        message = f"{status} {body.get('message') or body.get('error')}: {data}"
        raise CliError(f"{where}: {safe(redact(message, self.secrets))}", status=status, envelope=body)


def not_crossbar(body: Any) -> str:
    """Why a JSON answer is not Crossbar's, naming CouchDB when it is CouchDB's."""
    if isinstance(body, dict) and ("couchdb" in body or ("error" in body and "reason" in body)):
        return "an answer of CouchDB, not of the Crossbar API: give --url the API's address (default port 8000)"
    return "not a Crossbar envelope; is --url the Crossbar API?"
