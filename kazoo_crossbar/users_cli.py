"""`kazoo-crossbar users create`: a user of an account for a standalone install, so a sub-account
can log in with a username and password (`PUT /v2/user_auth`, the console's user login).

Writes Kazoo 4.3's user document (storage/provision.user_doc: the credential hashes
`pvt_md5_auth`/`pvt_sha1_auth` that user_auth checks) through the write path; with `--amqp-url`
/ `KAZOO_AMQP_URL` the write publishes its `doc_created` like the service's. Beside a Kazoo
cluster, make users with Kazoo (`PUT /v2/accounts/{A}/users`) instead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
from collections.abc import Callable
from typing import Any

from . import log
from .bus.amqp import BrokerUnavailable, publisher
from .cli_errors import CliError, redact_url
from .config import Settings
from .storage import names, provision
from .storage.couch import CouchClient, NotFound, Unreachable
from .storage.writes import Writes


async def _create(args: argparse.Namespace, settings: Settings) -> dict:
    couch = CouchClient(settings.couchdb_url, connect_timeout_s=5.0)
    try:
        account = await provision.get_account(couch, args.account)
        password = args.password or secrets.token_urlsafe(12)
        async with publisher(settings.amqp_url, settings.node_name) as bus:
            user = await provision.create_user(
                Writes(couch, bus, node=settings.node_name, zone=settings.zone),
                account,
                args.username,
                password,
                priv_level=args.priv_level,
                first_name=args.first_name,
                last_name=args.last_name,
                email=args.email,
            )
        out = {
            "id": user["_id"],
            "account_id": account["_id"],
            "account_name": account.get("name"),
            "username": user["username"],
            "priv_level": user["priv_level"],
        }
        if not args.password:
            out["password"] = password  # generated: shown once (a given one is never echoed)
        return out
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
    if not names.is_account_id(args.account):
        raise CliError(f"--account {args.account!r} is not an account id (32 hex characters)")
    if not args.username.strip():
        raise CliError("--username must not be empty")
    settings = Settings.from_env(couchdb_url=args.couchdb_url, amqp_url=getattr(args, "amqp_url", None))
    log.configure(settings.log_format)  # log lines to stderr: stdout is the JSON result
    print(json.dumps(asyncio.run(_create(args, settings))), flush=True)
    return 0


def add_parser(command: Callable[..., argparse.ArgumentParser]) -> None:
    p = command("users", help="create users of an account (standalone installs)")
    p.add_argument("--couchdb-url", help="env KAZOO_COUCHDB_URL")
    amqp_help = "env KAZOO_AMQP_URL: publish the change event of the write"
    p.add_argument("--amqp-url", help=amqp_help)
    sub = p.add_subparsers(dest="users_command", required=True, metavar="ACTION")

    def action(name: str, **kw: Any) -> argparse.ArgumentParser:
        a = sub.add_parser(name, **kw)
        a.add_argument("--couchdb-url", default=argparse.SUPPRESS, help="env KAZOO_COUCHDB_URL")
        a.add_argument("--amqp-url", default=argparse.SUPPRESS, help=amqp_help)
        return a

    c = action("create", help="create a user; prints {id, account_id, username, password when generated}")
    c.add_argument("--account", required=True, help="the account id")
    c.add_argument("--username", required=True, help="the login name (stored lower-case)")
    c.add_argument("--password", help="its password (default: generated and printed once)")
    c.add_argument(
        "--priv-level", choices=("admin", "user"), default="admin", help="Kazoo's priv_level (default admin)"
    )
    c.add_argument("--first-name", help="default: the username")
    c.add_argument("--last-name", help="default: Admin or User")
    c.add_argument("--email")
    p.set_defaults(func=run)
