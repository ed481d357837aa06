"""`kazoo-crossbar jobs add|show|list`: bulk number jobs through the HTTP API.

Authenticates with an account API key (`PUT /v2/api_auth`), so it works against any
Crossbar that speaks the API: this service or Kazoo itself. Large files are sent as
several jobs of `--chunk` numbers each.
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
from pathlib import Path
from typing import Any

import aiohttp

DEFAULT_CHUNK = 10_000
NUMBER_COLUMNS = ("number", "numbers", "e164", "did", "phone_number")


def read_numbers(path: Path) -> list[str]:
    """One number per line, or CSV with a header naming a number column."""
    text = path.read_text(encoding="utf-8-sig")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    if "," in lines[0] or ";" in lines[0]:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;")
        rows = list(csv.reader(io.StringIO("\n".join(lines)), dialect))
        header = [h.strip().lower() for h in rows[0]]
        column = next((header.index(c) for c in NUMBER_COLUMNS if c in header), None)
        if column is None:
            raise SystemExit(f"{path}: no number column (one of {', '.join(NUMBER_COLUMNS)}) in the header")
        return [row[column].strip() for row in rows[1:] if len(row) > column and row[column].strip()]
    return [line.strip() for line in lines]


def failure_reason(error: Any) -> str:
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        return str(error.get("error") or error.get("reason") or "error")
    return "error"


class Api:
    def __init__(self, http: aiohttp.ClientSession, url: str, account: str | None):
        self.http, self.url, self.account = http, url.rstrip("/"), account
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
        async with self.http.request(method, url, json=payload, headers=self.headers) as resp:
            body = await resp.json(content_type=None)
        if body.get("status") != "success":
            raise SystemExit(f"{method} {url}: {resp.status} {body.get('message')}: {json.dumps(body.get('data'))}")
        return body


def progress(done: int, total: int, width: int = 40) -> None:
    filled = int(width * done / total) if total else width
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()


async def add(api: Api, resource_id: str, numbers: list[str], chunk: int, name: str | None, poll_s: float) -> dict:
    job_ids = []
    for start in range(0, len(numbers), chunk):
        data: dict[str, Any] = {"numbers": numbers[start:start + chunk], "resource_id": resource_id}
        if name:
            data["name"] = name if len(numbers) <= chunk else f"{name} ({start // chunk + 1})"
        job_ids.append((await api.call("PUT", api.jobs_url, {"data": data}))["data"]["id"])
    total, pending = len(numbers), set(job_ids)
    counts: dict[str, tuple[int, int]] = {}
    while pending:
        rows = (await api.call("GET", f"{api.jobs_url}?paginate=false"))["data"]
        for row in rows:
            if row["id"] in job_ids:
                counts[row["id"]] = (row.get("successes", 0), row.get("failures", 0))
                if row.get("status") == "complete":
                    pending.discard(row["id"])
        progress(sum(s + f for s, f in counts.values()), total)
        if pending:
            await asyncio.sleep(poll_s)
    sys.stderr.write("\n")
    reasons: Counter[str] = Counter()
    added = 0
    for job_id in job_ids:
        job = (await api.call("GET", f"{api.jobs_url}/{job_id}"))["data"]
        added += len(job["successes"])
        reasons.update(failure_reason(e) for e in job["errors"].values())
    return {"jobs": job_ids, "submitted": total, "added": added, "failed": sum(reasons.values()),
            "failed_by_reason": dict(reasons)}


async def main_async(args: argparse.Namespace) -> Any:
    api_key = args.api_key or os.environ.get("KAZOO_API_KEY")
    if not api_key:
        raise SystemExit("an API key is needed: --api-key or KAZOO_API_KEY")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as http:
        api = Api(http, args.url, args.account)
        await api.login(api_key)
        if args.jobs_command == "add":
            numbers = read_numbers(Path(args.file))
            if not numbers:
                raise SystemExit(f"{args.file}: no numbers")
            return await add(api, args.resource, numbers, args.chunk, args.name, args.poll)
        if args.jobs_command == "show":
            return (await api.call("GET", f"{api.jobs_url}/{args.job_id}"))["data"]
        query = "?paginate=false"
        if args.created_from:
            query += f"&created_from={args.created_from}"
        if args.created_to:
            query += f"&created_to={args.created_to}"
        return (await api.call("GET", api.jobs_url + query))["data"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("jobs", help="bulk number jobs through the API")
    p.add_argument("--url", default=os.environ.get("KAZOO_CROSSBAR_URL", "http://127.0.0.1:8000"),
                   help="API base URL (env KAZOO_CROSSBAR_URL)")
    p.add_argument("--api-key", help="account API key (env KAZOO_API_KEY)")
    p.add_argument("--account", help="account id (default: the API key's account)")
    jobs = p.add_subparsers(dest="jobs_command", required=True)
    a = jobs.add_parser("add", help="submit numbers from FILE, wait, summarise")
    a.add_argument("--resource", required=True, help="resource id (the account's or a global one)")
    a.add_argument("--name", help="job name")
    a.add_argument("--chunk", type=int, default=DEFAULT_CHUNK, help=f"numbers per job (default {DEFAULT_CHUNK})")
    a.add_argument("--poll", type=float, default=1.0, help="seconds between progress checks")
    a.add_argument("file", help="one number per line, or CSV with a number column")
    s = jobs.add_parser("show", help="one job")
    s.add_argument("job_id")
    lst = jobs.add_parser("list", help="the account's jobs")
    lst.add_argument("--created-from", type=int)
    lst.add_argument("--created-to", type=int)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print(json.dumps(asyncio.run(main_async(args)), indent=2))
    return 0
