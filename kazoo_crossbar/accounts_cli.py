"""`kazoo-crossbar accounts create|list|update`: accounts for a standalone install.

Writes straight into CouchDB, exactly as Kazoo 4.3 stores accounts (storage/provision.py),
so a standalone install can have accounts besides its master. Beside a Kazoo cluster,
make accounts with Kazoo instead. With `--amqp-url` / `KAZOO_AMQP_URL` every write publishes
its change event (`update --disable` sends `doc_edited`, so Kazoo nodes drop the cached account).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from typing import Any

from . import log
from .bus.amqp import BrokerUnavailable, publisher
from .cli_errors import CliError, redact_url
from .config import Settings
from .storage import names, provision
from .storage.couch import CouchClient, NotFound, Unreachable
from .storage.system_config import SystemConfig
from .storage.writes import Writes


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


async def _parent(writes: Writes, parent_id: str | None) -> dict:
    if parent_id is None:  # Kazoo's accounts live under the master account
        parent_id = await SystemConfig(writes).get("accounts", "master_account_id")
        if not names.is_account_id(parent_id):
            raise CliError(
                "no master account in system_config accounts; run `kazoo-crossbar setup` first "
                "or name one with --parent"
            )
    return await provision.get_account(writes.couch, parent_id)


async def _act(args: argparse.Namespace, writes: Writes) -> list[dict]:
    if args.accounts_command == "create":
        parent = await _parent(writes, args.parent)
        doc = await provision.create_account(
            writes,
            args.name,
            parent=parent,
            superduper=args.superduper_admin,
            realm=args.realm,
            allow_additions=args.allow_number_additions,
        )
        return [{"id": doc["_id"], "api_key": doc["pvt_api_key"], "realm": doc["realm"]}]
    if args.accounts_command == "list":
        return [summary(d) for d in await provision.list_accounts(writes.couch, args.parent)]
    fields: dict[str, Any] = {}
    if args.allow_number_additions is not None:
        fields["pvt_wnm_allow_additions"] = args.allow_number_additions
    if args.enabled is not None:
        fields["pvt_enabled"] = args.enabled
    if not fields:
        raise CliError("nothing to update: give --(no-)allow-number-additions and/or --enable/--disable")
    return [summary(await provision.update_account(writes, args.account_id, **fields))]


async def _run(args: argparse.Namespace, settings: Settings) -> list[dict]:
    couch = CouchClient(settings.couchdb_url, connect_timeout_s=5.0)
    # `list` writes nothing: it needs no broker
    amqp_url = settings.amqp_url if args.accounts_command != "list" else None
    try:
        async with publisher(amqp_url, settings.node_name) as bus:
            return await _act(args, Writes(couch, bus, node=settings.node_name, zone=settings.zone))
    except BrokerUnavailable as exc:
        raise CliError(f"{exc}; start it or fix --amqp-url / KAZOO_AMQP_URL") from None
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
    settings = Settings.from_env(couchdb_url=args.couchdb_url, amqp_url=getattr(args, "amqp_url", None))
    log.configure(settings.log_format)  # log lines to stderr: stdout is the JSON result
    for row in asyncio.run(_run(args, settings)):
        print(json.dumps(row), flush=True)
    return 0


def add_parser(command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command("accounts", help="create, list and update accounts (standalone installs)")
    p.add_argument("--couchdb-url", help="env KAZOO_COUCHDB_URL")
    amqp_help = "env KAZOO_AMQP_URL: publish the change events of the writes (create, update)"
    p.add_argument("--amqp-url", help=amqp_help)
    sub = p.add_subparsers(dest="accounts_command", required=True, metavar="ACTION")

    def action(name: str, **kw: Any) -> argparse.ArgumentParser:
        a = sub.add_parser(name, **kw)
        a.add_argument("--couchdb-url", default=argparse.SUPPRESS, help="env KAZOO_COUCHDB_URL")
        a.add_argument("--amqp-url", default=argparse.SUPPRESS, help=amqp_help)
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
