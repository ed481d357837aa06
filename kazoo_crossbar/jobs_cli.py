"""`kazoo-crossbar jobs add|show|list`: bulk number jobs through the HTTP API.

Authenticates with an account API key (`PUT /v2/api_auth`), so it works against any
Crossbar that speaks the API: this service or Kazoo itself. Large files are sent as
several jobs of `--chunk` numbers each (the server's `crossbar.resources`
`job_max_numbers`, 10000 by default). Options may come before or after the action.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from .cli_errors import CliError
from .storage import retry

DEFAULT_CHUNK = 10_000
DEFAULT_URL = "http://127.0.0.1:8000"
NUMBER_COLUMNS = ("number", "numbers", "e164", "did", "phone_number")
TRANSIENT_STATUS = {429, 502, 503, 504}
RETRIES = 5  # per request, with 0.5, 1, 2, 4 s pauses


def read_numbers(path: Path) -> list[str]:
    """One number per line, or CSV with a header naming a number column."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{path}: cannot read it ({exc})") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    if "," in lines[0] or ";" in lines[0]:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;")
        rows = list(csv.reader(io.StringIO("\n".join(lines)), dialect))
        header = [h.strip().lower() for h in rows[0]]
        column = next((header.index(c) for c in NUMBER_COLUMNS if c in header), None)
        if column is None:
            raise CliError(f"{path}: no number column (one of {', '.join(NUMBER_COLUMNS)}) in the header")
        return [row[column].strip() for row in rows[1:] if len(row) > column and row[column].strip()]
    return [line.strip() for line in lines]


def failure_reason(error: Any) -> str:
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        return str(error.get("error") or error.get("reason") or "error")
    return "error"


def failure_message(error: Any) -> str:
    return str(error.get("message") or "") if isinstance(error, dict) else ""


def write_failures(out: TextIO, failures: list[dict]) -> None:
    """CSV `number,reason,message`: fix the numbers and send the file again."""
    writer = csv.writer(out)
    writer.writerow(["number", "reason", "message"])
    writer.writerows([f["number"], f["reason"], f["message"]] for f in failures)


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

        async def attempt() -> tuple[int, bytes]:
            async with self.http.request(method, url, json=payload, headers=self.headers) as resp:
                return resp.status, await resp.read()

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


class Progress:
    """A tqdm bar on a terminal; otherwise a plain line whenever the count changes."""

    def __init__(self, total: int, stream: TextIO = sys.stderr):
        self.total, self.stream, self.last = total, stream, -1
        self.bar = None
        if stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="number", file=stream, dynamic_ncols=True)

    def update(self, done: int, failed: int) -> None:
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
            self.bar.set_postfix(failed=failed, refresh=False)
        elif done != self.last:
            self.stream.write(f"progress: {done}/{self.total} numbers done, {failed} failed\n")
            self.stream.flush()
        self.last = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


async def add(api: Api, resource_id: str, numbers: list[str], chunk: int, name: str | None, poll_s: float) -> dict:
    job_ids = []
    for start in range(0, len(numbers), chunk):
        data: dict[str, Any] = {"numbers": numbers[start : start + chunk], "resource_id": resource_id}
        if name:
            data["name"] = name if len(numbers) <= chunk else f"{name} ({start // chunk + 1})"
        job_ids.append((await api.call("PUT", api.jobs_url, {"data": data}))["data"]["id"])
    jobs: dict[str, dict] = {}
    progress = Progress(len(numbers))
    try:
        pending = list(job_ids)
        while pending:
            for job_id in list(pending):  # each job by id: the account's listing may be long
                job = jobs[job_id] = (await api.call("GET", f"{api.jobs_url}/{job_id}"))["data"]
                if job.get("status") == "complete":
                    pending.remove(job_id)
            failed = sum(len(j.get("errors") or {}) for j in jobs.values())
            progress.update(sum(len(j.get("successes") or {}) for j in jobs.values()) + failed, failed)
            if pending:
                await asyncio.sleep(poll_s)
    finally:
        progress.close()
    failures = [
        {"number": number, "reason": failure_reason(e), "message": failure_message(e)}
        for job_id in job_ids
        for number, e in (jobs[job_id].get("errors") or {}).items()
    ]
    return {
        "jobs": job_ids,
        "submitted": len(numbers),
        "added": sum(len(jobs[j].get("successes") or {}) for j in job_ids),
        "failed": len(failures),
        "failed_by_reason": dict(Counter(f["reason"] for f in failures)),
        "failures": failures,
    }


async def main_async(args: argparse.Namespace) -> Any:
    api_key = args.api_key or os.environ.get("KAZOO_API_KEY")
    if not api_key:
        raise CliError("an API key is needed: --api-key or KAZOO_API_KEY")
    numbers: list[str] = []
    if args.jobs_command == "add":  # read the file before any network call
        numbers = read_numbers(Path(args.file))
        if not numbers:
            raise CliError(f"{args.file}: no numbers in it")
        if args.chunk < 1:
            raise CliError(f"--chunk {args.chunk}: must be at least 1")
    timeout = aiohttp.ClientTimeout(total=300, sock_connect=10)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        api = Api(http, args.url, args.account)
        await api.login(api_key)
        if args.jobs_command == "add":
            return await add(api, args.resource, numbers, args.chunk, args.name, args.poll)
        if args.jobs_command == "show":
            return (await api.call("GET", f"{api.jobs_url}/{args.job_id}"))["data"]
        query = "?paginate=false"
        if args.created_from:
            query += f"&created_from={args.created_from}"
        if args.created_to:
            query += f"&created_to={args.created_to}"
        return (await api.call("GET", api.jobs_url + query))["data"]


def add_parser(command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command("jobs", help="bulk number jobs through the API")

    def connection_options(parser: argparse.ArgumentParser, default: Any) -> None:
        # On `jobs` and again on each action (default SUPPRESS there, so the earlier value stays).
        parser.add_argument(
            "--url",
            default=default if default is argparse.SUPPRESS else os.environ.get("KAZOO_CROSSBAR_URL", DEFAULT_URL),
            help="API base URL (env KAZOO_CROSSBAR_URL)",
        )
        parser.add_argument("--api-key", default=default, help="account API key (env KAZOO_API_KEY)")
        parser.add_argument("--account", default=default, help="account id (default: the API key's account)")

    connection_options(p, None)
    jobs = p.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")

    def action(name: str, **kw: Any) -> argparse.ArgumentParser:
        a = jobs.add_parser(name, **kw)
        connection_options(a, argparse.SUPPRESS)
        return a

    a = action("add", help="submit numbers from FILE, wait, summarise")
    a.add_argument("--resource", required=True, help="resource id (the account's or a global one)")
    a.add_argument("--name", help="job name")
    a.add_argument(
        "--chunk",
        type=int,
        default=DEFAULT_CHUNK,
        help=f"numbers per job (default {DEFAULT_CHUNK}, the server's job_max_numbers)",
    )
    a.add_argument("--poll", type=float, default=1.0, help="seconds between progress checks (default 1)")
    a.add_argument("--failures", metavar="FILE", help="write the failed numbers as CSV (number,reason,message)")
    a.add_argument("file", help="one number per line, or CSV with a number column")
    s = action("show", help="one job (a descendant account's with --account ID)")
    s.add_argument("job_id")
    lst = action("list", help="the account's jobs")
    lst.add_argument(
        "--created-from",
        type=int,
        metavar="GREGORIAN_S",
        help="Kazoo timestamp (gregorian seconds, as `timestamp` in the output); "
        "default: created-to minus crossbar maximum_range (31 days)",
    )
    lst.add_argument("--created-to", type=int, metavar="GREGORIAN_S", help="default: now")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    result = asyncio.run(main_async(args))
    if args.jobs_command == "add" and args.failures:
        with open(args.failures, "w", newline="", encoding="utf-8") as out:
            write_failures(out, result["failures"])
    print(json.dumps(result, indent=2), flush=True)
    return 0  # failed numbers are a result (in the summary), not a failure of the command
