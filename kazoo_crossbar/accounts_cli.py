"""`kazoo-crossbar accounts create|list|update`: accounts for a standalone install.

Writes straight into CouchDB, exactly as Kazoo 4.3 stores accounts (storage/provision.py),
so a standalone install can have accounts besides its master. Beside a Kazoo cluster,
make accounts with Kazoo instead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from typing import Any

from . import log
from .cli_errors import CliError, redact_url
from .config import Settings
from .storage import names, provision
from .storage.couch import CouchClient, NotFound, Unreachable
from .storage.system_config import SystemConfig


def summary(doc: dict) -> dict[str, Any]:
    tree = doc.get("pvt_tree") or []
    return {
        "id": doc["_id"],
        "name": doc.get("name"),
        "realm": doc.get("realm"),
        "parent_id": tree[-1] if tree else None,
        "enabled": doc.get("pvt_enabled") is not False,
        "allow_number_additions": doc.get("pvt_wnm_allow_additions") is True,
        "superduper_admin": doc.get("pvt_superduper_admin") is True,
    }


async def _parent(couch: CouchClient, settings: Settings, parent_id: str | None) -> dict:
    if parent_id is None:  # Kazoo's accounts live under the master account
        parent_id = await SystemConfig(couch, settings.node_name).get("accounts", "master_account_id")
        if not names.is_account_id(parent_id):
            raise CliError(
                "no master account in system_config accounts; run `kazoo-crossbar setup` first "
                "or name one with --parent"
            )
    return await provision.get_account(couch, parent_id)


async def _run(args: argparse.Namespace, settings: Settings) -> list[dict]:
    couch = CouchClient(settings.couchdb_url, connect_timeout_s=5.0)
    try:
        if args.accounts_command == "create":
            parent = await _parent(couch, settings, args.parent)
            doc = await provision.create_account(
                couch,
                args.name,
                parent=parent,
                superduper=args.superduper_admin,
                node=settings.node_name,
                realm=args.realm,
                allow_additions=args.allow_number_additions,
            )
            return [{"id": doc["_id"], "api_key": doc["pvt_api_key"], "realm": doc["realm"]}]
        if args.accounts_command == "list":
            return [summary(d) for d in await provision.list_accounts(couch, args.parent)]
        fields: dict[str, Any] = {}
        if args.allow_number_additions is not None:
            fields["pvt_wnm_allow_additions"] = args.allow_number_additions
        if args.enabled is not None:
            fields["pvt_enabled"] = args.enabled
        if not fields:
            raise CliError("nothing to update: give --(no-)allow-number-additions and/or --enable/--disable")
        return [summary(await provision.update_account(couch, args.account_id, settings.node_name, **fields))]
    except provision.AccountError as exc:
        raise CliError(str(exc)) from None
    except Unreachable:
        raise CliError(
            f"CouchDB at {redact_url(settings.couchdb_url)} is not answering; start it or set "
            "--couchdb-url / KAZOO_COUCHDB_URL"
        ) from None
    except NotFound as exc:
        if exc.db_missing:
            raise CliError(
                f"CouchDB at {redact_url(settings.couchdb_url)} has no `{exc.db}` database; "
                "run `kazoo-crossbar setup` first"
            ) from None
        raise
    finally:
        await couch.close()


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env(couchdb_url=args.couchdb_url)
    log.configure(settings.log_format)  # log lines to stderr: stdout is the JSON result
    for row in asyncio.run(_run(args, settings)):
        print(json.dumps(row), flush=True)
    return 0


def add_parser(command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command("accounts", help="create, list and update accounts (standalone installs)")
    p.add_argument("--couchdb-url", help="env KAZOO_COUCHDB_URL")
    sub = p.add_subparsers(dest="accounts_command", required=True, metavar="ACTION")

    def action(name: str, **kw: Any) -> argparse.ArgumentParser:
        a = sub.add_parser(name, **kw)
        a.add_argument("--couchdb-url", default=argparse.SUPPRESS, help="env KAZOO_COUCHDB_URL")
        return a

    c = action("create", help="create an account; prints {id, api_key, realm}")
    c.add_argument("name")
    c.add_argument("--parent", help="parent account id (default: the master account)")
    c.add_argument("--realm", help="SIP realm (default: generated from the name)")
    c.add_argument(
        "--allow-number-additions",
        action="store_true",
        default=None,
        help="pvt_wnm_allow_additions: may add numbers that are not in the number DBs yet",
    )
    c.add_argument("--superduper-admin", action="store_true", help="pvt_superduper_admin (full system access)")
    lst = action("list", help="one JSON line per account")
    lst.add_argument("--parent", help="only this account's direct children")
    u = action("update", help="change an account's flags")
    u.add_argument("account_id")
    u.add_argument(
        "--allow-number-additions",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="set or clear pvt_wnm_allow_additions",
    )
    g = u.add_mutually_exclusive_group()
    g.add_argument(
        "--enable",
        dest="enabled",
        action="store_const",
        const=True,
        default=None,
        help="set pvt_enabled: its API key, users and tokens work again",
    )
    g.add_argument(
        "--disable",
        dest="enabled",
        action="store_const",
        const=False,
        help="clear pvt_enabled: its logins and tokens are refused",
    )
    p.set_defaults(func=run)
