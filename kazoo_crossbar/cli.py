"""`kazoo-crossbar setup | serve | couchdb | accounts | users | resources | jobs`: the Kazoo 4.3
compatible resources API, bulk number jobs and their recovery loop.

Environment: KAZOO_COUCHDB_URL (default http://127.0.0.1:5984), KAZOO_CROSSBAR_HOST,
KAZOO_CROSSBAR_PORT, KAZOO_AMQP_URL, KAZOO_NODE_NAME, KAZOO_LOG_FORMAT (json or console).
Every failure ends with one line on stderr (`kazoo-crossbar CMD: error: ...`) and a
non-zero exit; `--debug` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, NoReturn

from . import log
from .cli_errors import CliError, describe, redact_url
from .client.text import redact, safe
from .config import ConfigError, Settings, parse_address, parse_count, parse_networks, parse_port, parse_seconds

SECRET_OPTIONS = ("--api-key", "--admin-password", "--password")


def package_version() -> str:
    try:
        return version("kazoo_crossbar")
    except PackageNotFoundError:  # a source tree on sys.path without an install
        return "unknown"


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors that never echo a secret back."""

    secrets: tuple[str, ...] = ()

    def error(self, message: str) -> NoReturn:
        for secret in self.secrets:
            message = message.replace(secret, "***")
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _secrets(argv: list[str]) -> tuple[str, ...]:
    found = []
    for i, arg in enumerate(argv):
        name, eq, value = arg.partition("=")
        if name in SECRET_OPTIONS:
            found.append(value if eq else (argv[i + 1] if i + 1 < len(argv) else ""))
        elif "://" in arg and "@" in arg:  # a URL with credentials
            found.append(arg)
    return tuple(s for s in found if s)


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        couchdb_url=getattr(args, "couchdb_url", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        amqp_url=getattr(args, "amqp_url", None),
        header_timeout_s=getattr(args, "header_timeout", None),
        body_timeout_s=getattr(args, "body_timeout", None),
        max_connections_per_ip=getattr(args, "max_connections_per_ip", None),
        metrics_address=getattr(args, "metrics_address", None),
        trusted_proxies=getattr(args, "trusted_proxies", None),
    )


def read_state(path: Path) -> dict:
    """What an earlier `setup --state-file` wrote (empty when there is none or it is unreadable)."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def write_state(path: Path, result: dict) -> None:
    """The setup result, readable by its owner only (it holds the master API key and a password):
    written to a new file of mode 600 and renamed over the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, (json.dumps(result) + "\n").encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def cmd_setup(args: argparse.Namespace) -> int:
    from .bus.amqp import BrokerUnavailable, publisher
    from .storage.bootstrap import NotCouchDB, setup

    settings = _settings(args)
    log.configure(settings.log_format)
    state = read_state(Path(args.state_file)) if args.state_file else {}
    known = state.get("admin_password") if state.get("admin_username") == (args.admin_username or "admin") else None

    async def run() -> dict[str, Any]:
        # with a broker, setup's writes publish their change events like the service's
        async with publisher(settings.amqp_url, settings.node_name) as bus:
            return await setup(
                settings.couchdb_url,
                settings.node_name,
                events=bus,
                wait_s=args.wait,
                master_account_name=args.master_account_name,
                admin_username=args.admin_username,
                admin_password=args.admin_password,
                known_password=known if isinstance(known, str) else None,
            )

    try:
        result = asyncio.run(run())
    except BrokerUnavailable as exc:
        raise CliError(f"{exc}; start it or fix --amqp-url / KAZOO_AMQP_URL") from None
    except TimeoutError:
        raise CliError(
            f"CouchDB at {redact_url(settings.couchdb_url)} is not answering (waited {args.wait:g} s); "
            "start it (kazoo-crossbar couchdb) or set --couchdb-url / KAZOO_COUCHDB_URL"
        ) from None
    except NotCouchDB:
        raise CliError(
            f"{redact_url(settings.couchdb_url)} answers, but it is not CouchDB (no CouchDB welcome at /); "
            "give --couchdb-url / KAZOO_COUCHDB_URL the CouchDB (default port 5984), not the API"
        ) from None
    if args.state_file:
        write_state(Path(args.state_file), result)
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
    import structlog
    from aiohttp import web

    from .app import create_app, handler_options, raise_fd_limit

    settings = _settings(args)
    log.configure(settings.log_format)
    fd_limit = raise_fd_limit()  # every connection is a file descriptor
    options = handler_options(settings, fd_limit)

    def started(_aiohttp_banner: str) -> None:
        # aiohttp calls this once every socket listens: the operator's one startup line.
        metrics = settings.metrics_address
        structlog.get_logger("kazoo_crossbar").info(
            "started",
            version=package_version(),
            node=settings.node_name,
            couchdb=redact_url(settings.couchdb_url),
            broker="on" if settings.amqp_url else "off",
            listen=f"{settings.host}:{settings.port}",
            metrics=f"{metrics[0]}:{metrics[1]}" if metrics else "with the API",
            event_loop=type(loop).__module__,
            fd_limit=fd_limit,
            max_connections=options["connection_limits"].total,
            max_connections_per_ip=settings.max_connections_per_ip,
            header_timeout_s=settings.header_timeout_s,
            body_timeout_s=settings.body_timeout_s,
            trusted_proxies=",".join(str(n) for n in settings.trusted_proxies) or "none",
        )

    loop = event_loop()
    try:
        web.run_app(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            access_log=None,
            print=started,
            loop=loop,
            **options,
        )
    except OSError as exc:
        raise CliError(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}; stop the other "
            "process or choose --port / KAZOO_CROSSBAR_PORT"
        ) from None
    return 0


def cmd_couchdb(args: argparse.Namespace) -> int:
    from . import couchdb_launcher

    return couchdb_launcher.run(args.host, args.port, args.data_dir, args.in_memory)


def parser() -> Parser:
    p = Parser(prog="kazoo-crossbar", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"kazoo-crossbar {package_version()}")
    p.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, **kw: Any) -> Parser:
        s = sub.add_parser(name, **kw)
        s.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        return s

    s = command("setup", help="prepare CouchDB: databases, views, config, master account")
    s.add_argument("--couchdb-url", help="env KAZOO_COUCHDB_URL")
    s.add_argument(
        "--master-account-name",
        default="Master Account",
        help="name of the master account when setup creates it (default: Master Account)",
    )
    s.add_argument("--admin-username", help="the master account's admin user (default: admin)")
    s.add_argument(
        "--admin-password",
        help="its password, set even when the user exists (default: generated for a new user and printed)",
    )
    s.add_argument("--wait", type=float, default=5.0, help="seconds to wait for CouchDB to answer (default 5)")
    s.add_argument("--amqp-url", help="env KAZOO_AMQP_URL: publish the change events of setup's writes")
    s.add_argument(
        "--state-file",
        metavar="FILE",
        help="also write the result to FILE (mode 600); an admin_password it holds is kept when it still logs in",
    )
    s.set_defaults(func=cmd_setup)

    s = command("serve", help="serve the API")
    s.add_argument("--couchdb-url", help="env KAZOO_COUCHDB_URL")
    s.add_argument("--host", help="env KAZOO_CROSSBAR_HOST (default 0.0.0.0)")
    s.add_argument("--port", type=lambda v: parse_port(v, "--port"), help="env KAZOO_CROSSBAR_PORT (default 8000)")
    s.add_argument("--amqp-url", help="env KAZOO_AMQP_URL")
    s.add_argument(
        "--header-timeout",
        type=lambda v: parse_seconds(v, "--header-timeout"),
        help="seconds a connection has to send its request headers (env KAZOO_CROSSBAR_HEADER_TIMEOUT_S, default 10)",
    )
    s.add_argument(
        "--body-timeout",
        type=lambda v: parse_seconds(v, "--body-timeout"),
        help="seconds a request body has to arrive (env KAZOO_CROSSBAR_BODY_TIMEOUT_S, default 60)",
    )
    s.add_argument(
        "--max-connections-per-ip",
        type=lambda v: parse_count(v, "--max-connections-per-ip"),
        help="open connections one address may hold, 0 for no limit "
        "(env KAZOO_CROSSBAR_MAX_CONNECTIONS_PER_IP, default 256; behind a proxy see docs/production.md)",
    )
    s.add_argument(
        "--metrics-address",
        type=lambda v: parse_address(v, "--metrics-address"),
        help="serve /metrics on this HOST:PORT only, not with the API (env KAZOO_CROSSBAR_METRICS_ADDRESS)",
    )
    s.add_argument(
        "--trusted-proxies",
        type=lambda v: parse_networks(v, "--trusted-proxies"),
        help="comma-separated addresses or CIDR blocks of reverse proxies whose X-Forwarded-For names the "
        "client for login rate limits (env KAZOO_TRUSTED_PROXIES, default none; docs/production.md)",
    )
    s.set_defaults(func=cmd_serve)

    s = command("couchdb", help="run the embedded CouchDB in the foreground")
    s.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    s.add_argument("--port", type=lambda v: parse_port(v, "--port"), default=5984, help="(default 5984)")
    s.add_argument(
        "--data-dir",
        default="var/couchdb",
        help="where the databases are kept, made when missing (default var/couchdb)",
    )
    s.add_argument("--in-memory", action="store_true", help="keep nothing: the databases go when it stops")
    s.set_defaults(func=cmd_couchdb)

    from .accounts_cli import add_parser as add_accounts
    from .jobs_cli import add_parser as add_jobs
    from .resources_cli import add_parser as add_resources
    from .users_cli import add_parser as add_users

    add_accounts(command)
    add_users(command)
    add_resources(command)
    add_jobs(command)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    Parser.secrets = _secrets(argv)
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        if args.debug:
            raise
        message = str(exc) if isinstance(exc, ConfigError) else describe(exc)
        # one line, whatever a server put in it, and no secret the command was given
        message = safe(redact(message, Parser.secrets), 2000)
        print(f"kazoo-crossbar {args.command}: error: {message}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
