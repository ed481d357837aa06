"""`kazoo-crossbar setup | serve | couchdb | jobs` (the fixed interface in decisions.md, plus jobs)."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

from . import log
from .config import Settings

COUCHDB_SERVER_DIR = Path(__file__).resolve().parents[1] / "couchdb_server"


def couchdb_node_flags() -> list[str]:
    """V8 flags for the embedded CouchDB. Its live data is small, but V8 lets the heap grow far
    past it while jobs stream multi-megabyte documents through: capping the old generation at
    384 MB (env KAZOO_COUCHDB_HEAP_MB) took its peak RSS during a 100,000-number import from
    ~600 to ~340 MB for about the same CPU (bench/profile_couch.py; docs/decisions.md)."""
    return [f"--max-old-space-size={int(os.environ.get('KAZOO_COUCHDB_HEAP_MB', '384'))}"]


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(couchdb_url=getattr(args, "couchdb_url", None), host=getattr(args, "host", None),
                             port=getattr(args, "port", None), amqp_url=getattr(args, "amqp_url", None))


def cmd_setup(args: argparse.Namespace) -> int:
    from .storage.bootstrap import setup

    settings = _settings(args)
    log.configure(settings.log_format)
    result = asyncio.run(setup(settings.couchdb_url, settings.node_name,
                               master_account_name=args.master_account_name,
                               admin_username=args.admin_username, admin_password=args.admin_password))
    print(json.dumps(result), flush=True)
    return 0


def event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when it is installed (it is pinned; it cuts the event loop's share of each request's
    CPU), else the standard loop: a platform without a uvloop wheel still serves."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from .app import create_app

    settings = _settings(args)
    log.configure(settings.log_format)
    loop = event_loop()
    print(f"event loop: {type(loop).__module__}", file=sys.stderr)
    web.run_app(create_app(settings), host=settings.host, port=settings.port, access_log=None,
                print=lambda msg: print(msg, file=sys.stderr), loop=loop)
    return 0


def cmd_couchdb(args: argparse.Namespace) -> int:
    node = shutil.which("node")
    if node is None:
        print("node (Node.js) is required for the embedded CouchDB", file=sys.stderr)
        return 1
    if not (COUCHDB_SERVER_DIR / "node_modules").is_dir():
        print(f"run `npm ci` in {COUCHDB_SERVER_DIR} first (make does)", file=sys.stderr)
        return 1
    argv = [node, *couchdb_node_flags(), str(COUCHDB_SERVER_DIR / "server.js"), "--host", args.host,
            "--port", str(args.port)]
    argv += ["--in-memory"] if args.in_memory else ["--data-dir", args.data_dir]
    os.execv(node, argv)  # the server gets our pid, so SIGTERM reaches it directly
    return 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kazoo-crossbar", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("setup", help="prepare CouchDB: databases, views, config, master account")
    s.add_argument("--couchdb-url", help="env KAZOO_COUCHDB_URL")
    s.add_argument("--master-account-name", default="Master Account")
    s.add_argument("--admin-username")
    s.add_argument("--admin-password")
    s.set_defaults(func=cmd_setup)

    s = sub.add_parser("serve", help="serve the API")
    s.add_argument("--couchdb-url", help="env KAZOO_COUCHDB_URL")
    s.add_argument("--host", help="env KAZOO_CROSSBAR_HOST (default 0.0.0.0)")
    s.add_argument("--port", type=int, help="env KAZOO_CROSSBAR_PORT (default 8000)")
    s.add_argument("--amqp-url", help="env KAZOO_AMQP_URL")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("couchdb", help="run the embedded CouchDB in the foreground")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=5984)
    s.add_argument("--data-dir", default="var/couchdb")
    s.add_argument("--in-memory", action="store_true")
    s.set_defaults(func=cmd_couchdb)

    from .jobs_cli import add_parser

    add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
