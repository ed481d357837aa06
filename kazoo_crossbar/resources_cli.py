"""`kazoo-crossbar resources list|create`: carriers through the HTTP API, with an account API key.

A resource is local to an account (`/v2/accounts/{A}/resources`: the API key's account, or the
one named by `--account`) or, with `--global`, a global carrier in `offnet` (`/v2/resources`,
super-duper admin only). The server validates the document with the shipped schema; its 400
errors are shown per field.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import aiohttp

from .cli_errors import CliError
from .client.api import DEFAULT_URL, Api


def document(args: argparse.Namespace) -> dict:
    """The resource to create: --data (JSON, or @FILE, or - for stdin) with the options over it."""
    doc: dict[str, Any] = {}
    if args.data:
        text = args.data
        try:
            if text == "-":
                text = sys.stdin.read()
            elif text.startswith("@"):
                with open(text[1:], encoding="utf-8") as f:
                    text = f.read()
            doc = json.loads(text)
        except OSError as exc:
            raise CliError(f"--data {args.data}: cannot read it ({exc.strerror or exc})") from None
        except ValueError as exc:
            raise CliError(f"--data: not JSON ({exc})") from None
        if not isinstance(doc, dict):
            raise CliError("--data: a JSON object is needed (the resource document)")
    if args.name:
        doc["name"] = args.name
    if args.server:
        doc["gateways"] = [{"server": s, **({"port": args.port} if args.port else {})} for s in args.server]
    if args.rule:
        doc["rules"] = args.rule
    if args.weight is not None:
        doc["weight_cost"] = args.weight
    if args.disabled:
        doc["enabled"] = False
    if "name" not in doc:
        raise CliError("a resource needs a name: --name NAME (or in --data)")
    doc.setdefault("gateways", [])
    return doc


def summary(row: dict) -> dict:
    keep = ("id", "name", "enabled", "weight_cost")
    return {k: row[k] for k in keep if k in row}


async def main_async(args: argparse.Namespace) -> list[dict]:
    api_key = args.api_key or os.environ.get("KAZOO_API_KEY")
    if not api_key:
        raise CliError("an API key is needed: --api-key or KAZOO_API_KEY")
    if args.resources_command == "create":
        doc = document(args)  # before any network call
    if args.global_ and args.account:
        raise CliError("--global and --account: a resource is either global or an account's")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300, sock_connect=10)) as http:
        api = Api(http, args.url, args.account)
        await api.login(api_key)
        url = api.resources_url(args.global_)
        if args.resources_command == "create":
            created = (await api.call("PUT", url, {"data": doc}))["data"]
            return [created if isinstance(created, dict) else {}]
        rows = (await api.call("GET", url + "?paginate=false"))["data"]
        return [summary(r) for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def run(args: argparse.Namespace) -> int:
    for row in asyncio.run(main_async(args)):
        print(json.dumps(row), flush=True)
    return 0


def add_parser(command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command("resources", help="list and create carriers (resources) through the API")

    def options(parser: argparse.ArgumentParser, default: Any) -> None:
        parser.add_argument(
            "--url",
            default=default if default is argparse.SUPPRESS else os.environ.get("KAZOO_CROSSBAR_URL", DEFAULT_URL),
            help="API base URL (env KAZOO_CROSSBAR_URL)",
        )
        parser.add_argument("--api-key", default=default, help="account API key (env KAZOO_API_KEY)")
        parser.add_argument("--account", default=default, help="the account's resources (default: the API key's)")
        parser.add_argument(
            "--global",
            dest="global_",
            action="store_true",
            default=False if default is None else argparse.SUPPRESS,
            help="global carriers (offnet; super-duper admin only) instead of an account's",
        )

    options(p, None)
    sub = p.add_subparsers(dest="resources_command", required=True, metavar="ACTION")

    def action(name: str, **kw: Any) -> argparse.ArgumentParser:
        a = sub.add_parser(name, **kw)
        options(a, argparse.SUPPRESS)
        return a

    action("list", help="one JSON line per resource: id, name, enabled, weight_cost")
    c = action("create", help="create a resource; prints it as the API stored it")
    c.add_argument("--name", help="the carrier's name")
    c.add_argument("--server", action="append", help="a gateway's server (host or IP); repeat for more gateways")
    c.add_argument("--port", type=int, help="the gateways' SIP port (default: the schema's, 5060)")
    c.add_argument("--rule", action="append", help="a rule (regex on the E.164 number); repeat for more")
    c.add_argument("--weight", type=int, help="weight_cost, 1-100 (lower is tried first)")
    c.add_argument("--disabled", action="store_true", help="create it disabled")
    c.add_argument("--data", help="the whole document as JSON, @FILE or - (stdin); the options above go over it")
    p.set_defaults(func=run)
