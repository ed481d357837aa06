"""`kazoo-crossbar jobs add|show|list`: bulk number jobs through the HTTP API.

Authenticates with an account API key (`PUT /v2/api_auth`), so it works against any
Crossbar that speaks the API: this service or Kazoo itself. Numbers are read from a file as
docs/number-files.md says (the console reads them the same way); every row that gives no
number is reported with its line. Large files are sent as several jobs of `--chunk` numbers
each: the server's `crossbar.resources` `job_max_numbers`, from the shipped system_config
defaults or, when a job is refused for its size, from the limit the server answers. Options
may come before or after the action. Nothing a server sends is trusted (client/api.py, client/text.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from .cli_errors import CliError
from .client import number_file
from .client.api import DEFAULT_URL, Api, segment
from .client.failures import failures_csv, job_failure, skipped_row
from .client.text import safe
from .jobs import numbers as knm
from .storage.system_config import shipped_defaults

DEFAULT_TIMEOUT_S = 3600.0
GREGORIAN_OFFSET = 62167219200  # seconds from year 0 to 1970 (Kazoo's timestamps)
SHOWN_SKIPPED = 20  # skipped rows listed on stderr; the failures file has them all
SHOWN_FAILURES = 10  # failed numbers in `jobs show`'s summary


# --- dates: Kazoo's gregorian seconds, ISO 8601 for people ------------------------------------------
def to_iso(gregorian: Any) -> str | None:
    if not isinstance(gregorian, int) or isinstance(gregorian, bool):
        return None
    try:
        return datetime.fromtimestamp(gregorian - GREGORIAN_OFFSET, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return None


def parse_when(value: str, *, end_of_day: bool = False) -> int:
    """Gregorian seconds from `2026-12-01`, `2026-12-01T10:00:00Z` (ISO 8601; UTC unless an
    offset is given) or a number of gregorian seconds as Kazoo writes them."""
    text = value.strip()
    if re.fullmatch(r"\d{11,12}", text):
        return int(text)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            if end_of_day:
                moment += timedelta(days=1, seconds=-1)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date: use ISO 8601 (2026-12-01 or 2026-12-01T10:00:00Z) or gregorian seconds"
        ) from None
    return int(moment.timestamp()) + GREGORIAN_OFFSET


# --- the number file ---------------------------------------------------------------------------------
def read_file(path: Path, rules: knm.Rules) -> number_file.NumberFile:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CliError(f"{path}: no such file") from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    return number_file.read(raw.decode("utf-8", "replace"), rules)


def shipped_rules() -> knm.Rules:
    config = shipped_defaults().get("number_manager", {}).get("default", {})
    return knm.Rules.from_config(config.get("e164_converters"), config.get("reconcile_regex"))


async def server_rules(api: Api) -> knm.Rules | None:
    """The server's number_manager rules, when the API key may read them (a super-duper admin)."""
    try:
        config = (await api.call("GET", f"{api.url}/v2/system_configs/number_manager"))["data"].get("default") or {}
        return knm.Rules.from_config(config.get("e164_converters"), config.get("reconcile_regex"))
    except (CliError, re.error, AttributeError, TypeError):
        return None


def report_skipped(read: number_file.NumberFile, path: str, stream: TextIO = sys.stderr) -> None:
    for s in read.skipped[:SHOWN_SKIPPED]:
        stream.write(f"{safe(path, 200)} line {s.line}: {s.reason}: {safe(json.dumps(s.value), 100)}: {s.message}\n")
    if len(read.skipped) > SHOWN_SKIPPED:
        stream.write(f"... and {len(read.skipped) - SHOWN_SKIPPED} more skipped row(s) (--failures FILE lists them)\n")
    stream.flush()


# --- jobs ----------------------------------------------------------------------------------------------
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


def job_id_of(body: dict) -> str:
    job_id = (body.get("data") or {}).get("id") if isinstance(body.get("data"), dict) else None
    if not isinstance(job_id, str) or not job_id:
        raise CliError("the API created a job but did not say its id; is --url the Crossbar API?")
    return job_id


def shipped_job_max_numbers() -> int | None:
    value = shipped_defaults().get("crossbar.resources", {}).get("default", {}).get("job_max_numbers")
    return positive(value)


def positive(value: Any) -> int | None:
    """A JSON integer above 0 (a server's reply or a shipped default), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def max_items(exc: CliError) -> int | None:
    """The limit of a 400 `numbers.maxItems` (a job over the server's job_max_numbers)."""
    data = (exc.envelope or {}).get("data") if exc.status == 400 else None
    target = ((data or {}).get("numbers") or {}).get("maxItems", {}).get("target") if isinstance(data, dict) else None
    return positive(target)


async def send(api: Api, resource_id: str, numbers: list[str], chunk: int | None, name: str | None) -> list[str]:
    """One job per chunk; a job refused for its size is split by the limit the server answers."""
    parts = [numbers[i : i + chunk] for i in range(0, len(numbers), chunk)] if chunk else [numbers]
    job_ids: list[str] = []
    while parts:
        part = parts.pop(0)
        data: dict[str, Any] = {"numbers": part, "resource_id": resource_id}
        if name:
            data["name"] = name if len(part) == len(numbers) else f"{name} ({len(job_ids) + 1})"
        try:
            job_ids.append(job_id_of(await api.call("PUT", api.jobs_url, {"data": data})))
        except CliError as exc:
            limit = max_items(exc)
            if limit is None or len(part) <= limit:
                raise
            rest = part + [n for p in parts for n in p]
            parts = [rest[i : i + limit] for i in range(0, len(rest), limit)]
            sys.stderr.write(
                f"the server takes at most {limit} numbers per job (job_max_numbers): sending jobs of {limit}\n"
            )
    return job_ids


async def add(
    api: Api,
    resource_id: str,
    read: number_file.NumberFile,
    chunk: int | None,
    name: str | None,
    poll_s: float,
    timeout_s: float,
) -> dict:
    numbers = [n for _, n in read.numbers]
    lines = {n: line for line, n in read.numbers}
    job_ids = await send(api, resource_id, numbers, chunk, name)
    jobs = await follow(api, job_ids, len(numbers), poll_s, timeout_s)
    failures = [
        job_failure(number, e, job_id, lines.get(number))
        for job_id in job_ids
        for number, e in (jobs[job_id].get("errors") or {}).items()
    ]
    return {
        "jobs": job_ids,
        "submitted": len(numbers),
        "added": sum(len(jobs[j].get("successes") or {}) for j in job_ids),
        **({"failed_jobs": failed} if (failed := failed_jobs(jobs)) else {}),
        "failed": len(failures),
        "failed_by_reason": dict(Counter(f["reason"] for f in failures)),
        "skipped": len(read.skipped),
        "skipped_by_reason": dict(Counter(s.reason for s in read.skipped)),
        "failures": [{k: f[k] for k in ("number", "reason", "message", "line", "job_id")} for f in failures],
        "_csv": [skipped_row(s) for s in read.skipped] + failures,
    }


async def follow(api: Api, job_ids: list[str], total: int, poll_s: float, timeout_s: float) -> dict[str, dict]:
    """Each job until complete or failed, at most `timeout_s`. Progress comes from the jobs
    listing (small rows with counts); a job is read whole once, when its row says it is done or
    when the listing does not show it. Reading every running job whole at every poll made the
    server parse and send its growing document (megabytes at 10,000 numbers) every time."""
    jobs: dict[str, dict] = {}
    handled: dict[str, tuple[int, int]] = {}  # job id -> (numbers done, of them failed), as last seen
    progress = Progress(total)
    deadline = time.monotonic() + timeout_s
    try:
        pending = list(job_ids)
        while pending:
            rows = await listing_rows(api)
            for job_id in list(pending):
                row = rows.get(job_id)
                if row is not None and row.get("status") not in FINISHED:
                    failures = positive(row.get("failures")) or 0
                    handled[job_id] = ((positive(row.get("successes")) or 0) + failures, failures)
                    continue
                data = (await api.call("GET", f"{api.jobs_url}/{segment(job_id)}"))["data"]
                job = jobs[job_id] = data if isinstance(data, dict) else {}
                errors = len(job.get("errors") or {})
                handled[job_id] = (len(job.get("successes") or {}) + errors, errors)
                if job.get("status") in FINISHED:
                    pending.remove(job_id)
            done, failed = sum(d for d, _ in handled.values()), sum(f for _, f in handled.values())
            progress.update(done, failed)
            if pending and time.monotonic() >= deadline:
                raise CliError(
                    f"gave up after {timeout_s:g} s (--timeout) waiting for job(s) {', '.join(map(safe, pending))}: "
                    f"{done} of {total} numbers done; the job(s) go on on the server: "
                    f"kazoo-crossbar jobs show JOB_ID"
                )
            if pending:
                await asyncio.sleep(poll_s)
    finally:
        progress.close()
    return jobs


FINISHED = ("complete", "failed")  # failed: it never will complete


async def listing_rows(api: Api) -> dict[str, dict]:
    """The account's jobs listing by id; empty when it cannot be read (each job is then read whole)."""
    try:
        body = await api.call("GET", f"{api.jobs_url}?paginate=false")
    except CliError:
        return {}
    rows = body.get("data") if isinstance(body, dict) else None
    rows = rows if isinstance(rows, list) else []
    return {str(r["id"]): r for r in rows if isinstance(r, dict) and isinstance(r.get("id"), str)}


def likely_cause(summary: dict) -> str:
    """One line on why every number failed, from the reasons the jobs gave."""
    reasons = Counter(f["reason"] for f in summary["_csv"] if f.get("job_id"))
    messages = " ".join(str(f.get("message") or "") + " " + str(f.get("cause") or "") for f in summary["_csv"])
    top = reasons.most_common(1)[0][0] if reasons else "error"
    if top == "unspecified_fault" and "missing_provider_url" in messages:
        return (
            "the resource is a global carrier: its new numbers are ordered from system_config "
            "number_manager.other, which needs its phonebook_url (README: Jobs on global resources)"
        )
    if top == "forbidden" and "state_for_create" in messages:
        return (
            "the account may not add numbers that do not exist yet: "
            "kazoo-crossbar accounts update ACCOUNT_ID --allow-number-additions"
        )
    if top == "number_exists":
        return "every number already exists (the failures say which account holds each, when you may see it)"
    if top == "not_reconcilable":
        return "Kazoo's number manager accepts none of them as a number (number_manager reconcile_regex)"
    return f"{top}: {safe(next((f['message'] for f in summary['_csv'] if f['reason'] == top), ''), 200)}"


def failed_jobs(jobs: dict[str, dict]) -> dict[str, Any]:
    """Why each job that ended `failed` (it can never complete) did: the server's `failure`."""
    return {j: job.get("failure") for j, job in jobs.items() if job.get("status") == "failed"}


# --- show and list -----------------------------------------------------------------------------------
def job_summary(job: dict) -> dict:
    errors = job.get("errors") or {}
    failures = [job_failure(n, e, str(job.get("id"))) for n, e in errors.items()] if isinstance(errors, dict) else []
    numbers = job.get("numbers")
    return {
        "id": job.get("id"),
        "name": job.get("name"),
        "status": job.get("status"),
        "resource_id": job.get("resource_id"),
        "timestamp": to_iso(job.get("timestamp")),
        "numbers": len(numbers) if isinstance(numbers, list) else None,
        "successes": len(job.get("successes") or {}),
        "failures": len(failures),
        "failed_by_reason": dict(Counter(f["reason"] for f in failures)),
        "first_failures": [{k: f[k] for k in ("number", "reason", "message")} for f in failures[:SHOWN_FAILURES]],
        "full": "the whole document: kazoo-crossbar jobs show JOB_ID --full",
    }


def listed(row: Any) -> Any:
    """A listing row with its Kazoo timestamp as ISO 8601 (and the gregorian seconds kept)."""
    if isinstance(row, dict) and isinstance(row.get("timestamp"), int):
        return {**row, "timestamp": to_iso(row["timestamp"]), "timestamp_gregorian": row["timestamp"]}
    return row


async def show(api: Api, job_id: str, explicit_account: bool) -> dict:
    try:
        return (await api.call("GET", f"{api.jobs_url}/{segment(job_id)}"))["data"]
    except CliError as exc:
        if exc.status == 404 and not explicit_account:
            raise CliError(
                f"{exc}: job {safe(job_id, 100)} is not in the API key's account {api.key_account}; "
                "a descendant account's job needs --account ACCOUNT_ID"
            ) from None
        raise


async def main_async(args: argparse.Namespace) -> Any:
    api_key = args.api_key or os.environ.get("KAZOO_API_KEY")
    if not api_key:
        raise CliError("an API key is needed: --api-key or KAZOO_API_KEY")
    read = None
    if args.jobs_command == "add":  # read the file before any network call
        if args.chunk is not None and args.chunk < 1:
            raise CliError(f"--chunk {args.chunk}: must be at least 1")
        read = read_file(Path(args.file), shipped_rules())
    timeout = aiohttp.ClientTimeout(total=300, sock_connect=10)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        api = Api(http, args.url, args.account)
        await api.login(api_key)
        if args.jobs_command == "add":
            assert read is not None
            rules = await server_rules(api)
            if rules is not None:  # the server's own rules, when this key may read them
                read = read_file(Path(args.file), rules)
            report_skipped(read, args.file)
            if not read.numbers:
                raise CliError(f"{args.file}: no numbers in it ({len(read.skipped)} row(s) skipped)")
            chunk = args.chunk or shipped_job_max_numbers()
            return await add(api, args.resource, read, chunk, args.name, args.poll, args.timeout)
        if args.jobs_command == "show":
            job = await show(api, args.job_id, args.account is not None)
            return job if args.full else job_summary(job)
        query = "?paginate=false"
        if args.created_from:
            query += f"&created_from={args.created_from}"
        if args.created_to:
            query += f"&created_to={args.created_to}"
        rows = (await api.call("GET", api.jobs_url + query))["data"]
        return [listed(r) for r in rows] if isinstance(rows, list) else rows


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
        help="numbers per job (default: job_max_numbers of the shipped system_config crossbar.resources; "
        "a job the server refuses for its size is split by the limit it answers)",
    )
    a.add_argument("--poll", type=float, default=1.0, help="seconds between progress checks (default 1)")
    a.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"give up waiting after this many seconds (default {DEFAULT_TIMEOUT_S:g}); the jobs go on on the server",
    )
    a.add_argument(
        "--failures",
        metavar="FILE",
        help="write the skipped rows and the failed numbers as CSV (number,reason,message,cause,line,job_id)",
    )
    a.add_argument("file", help="one number per line, or CSV (docs/number-files.md)")
    s = action("show", help="one job's summary (a descendant account's with --account ID)")
    s.add_argument("job_id")
    s.add_argument("--full", action="store_true", help="the whole job document instead of a summary")
    lst = action("list", help="the account's jobs (timestamps in ISO 8601, UTC)")
    lst.add_argument(
        "--created-from",
        type=parse_when,
        metavar="WHEN",
        help="ISO 8601 date or time (2026-12-01, 2026-12-01T10:00:00Z) or Kazoo gregorian seconds; "
        "default: created-to minus crossbar maximum_range (31 days)",
    )
    lst.add_argument(
        "--created-to",
        type=lambda v: parse_when(v, end_of_day=True),
        metavar="WHEN",
        help="as --created-from (a date means its end); default: now",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.jobs_command == "add" and args.timeout <= 0:
        raise CliError(f"--timeout {args.timeout:g}: must be more than 0")
    result = asyncio.run(main_async(args))
    if args.jobs_command != "add":
        print(json.dumps(result, indent=2), flush=True)
        return 0
    rows = result.pop("_csv")
    if args.failures:
        with open(args.failures, "w", newline="", encoding="utf-8") as out:
            out.write(failures_csv(rows))
    print(json.dumps(result, indent=2), flush=True)
    if result.get("failed_jobs"):  # a job the server gave up on: some numbers were never handled
        reasons = ", ".join(
            f"{j}: {safe(str((f or {}).get('message')), 200)}" for j, f in result["failed_jobs"].items()
        )
        raise CliError(f"{len(result['failed_jobs'])} job(s) failed and will not run again ({reasons})")
    if result["submitted"] and result["added"] == 0 and result["failed"] == result["submitted"]:
        # failed numbers are a result, but none added at all is a failure of the import
        raise CliError(
            f"every number failed ({result['failed']} of {result['submitted']}): {likely_cause({**result, '_csv': rows})}"
        )
    return 0
