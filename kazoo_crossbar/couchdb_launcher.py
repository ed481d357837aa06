"""`kazoo-crossbar couchdb`: find (or install once) the embedded server's Node packages, then run it.

The launcher and its npm lock file ship in the package (`kazoo_crossbar.couchdb_server`). In a source
checkout `make install` puts `node_modules` beside them and that is used. An installed
wheel has no `node_modules`: the pinned packages are installed with `npm ci` on first
start into a per-user cache folder keyed by the lock file's hash (so an upgrade with a
new lock file gets a fresh folder), `$KAZOO_CROSSBAR_NODE_DIR` overriding the place.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from . import shipped
from .cli_errors import CliError

SHIPPED = ("server.js", "mapreduce.js", "view_index.js", "package.json", "package-lock.json", ".npmrc")
SCRIPTS = ("server.js", "mapreduce.js", "view_index.js")  # refreshed in the cache when they change
STAMP = ".installed"  # written after a complete `npm ci`


def package_dir() -> Path:
    return Path(str(shipped.folder("couchdb_server")))


def cache_dir(lock: bytes) -> Path:
    override = os.environ.get("KAZOO_CROSSBAR_NODE_DIR")
    if override:
        return Path(override).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "kazoo-crossbar" / f"couchdb-server-{hashlib.sha256(lock).hexdigest()[:16]}"


def _npm_ci(target: Path, source: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise CliError(
            f"the embedded CouchDB needs its Node packages in {target}, and npm is not installed; "
            "install Node.js with npm (>= 18)"
        )
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in SHIPPED:
        if (source / name).is_file():
            shutil.copy2(source / name, tmp / name)
    print(
        f"kazoo-crossbar couchdb: installing the embedded CouchDB's pinned Node packages (npm ci) "
        f"into {target}; this happens once",
        file=sys.stderr,
        flush=True,
    )
    done = subprocess.run(
        [npm, "ci", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline"],
        cwd=tmp,
        stdout=sys.stderr,
        stderr=sys.stderr,
    )
    if done.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CliError(
            f"`npm ci` failed (exit {done.returncode}) installing the embedded CouchDB into {target}; "
            "see npm's messages above (network? registry?)"
        )
    (tmp / "node_modules" / STAMP).touch()
    try:
        tmp.rename(target)
    except OSError:  # another start installed it meanwhile: use theirs
        shutil.rmtree(tmp, ignore_errors=True)
        if not (target / "node_modules" / STAMP).is_file():
            raise


def server_home() -> Path:
    """A folder holding server.js with its node_modules, installing them when missing."""
    source = package_dir()
    if (source / "node_modules").is_dir():
        return source
    target = cache_dir((source / "package-lock.json").read_bytes())
    if not (target / "node_modules" / STAMP).is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        _npm_ci(target, source)
    # the scripts may change without the lock file changing (same cache folder): refresh them.
    for name in SCRIPTS:
        if not (target / name).is_file() or (target / name).read_bytes() != (source / name).read_bytes():
            shutil.copy2(source / name, target / name)
    return target


def couchdb_node_flags(in_memory: bool = False) -> list[str]:
    """V8 flags for the embedded CouchDB. On a data folder its live data is small, but V8 lets the
    heap grow far past it while jobs stream large documents through: capping the old generation
    at 384 MB (env KAZOO_COUCHDB_HEAP_MB) took its peak RSS during a 100,000-number import from
    ~600 to ~340 MB for about the same CPU (bench/profile_couch.py; docs/decisions.md). In memory
    every document and revision lives on the heap: 384 MB ran out of memory halfway through the
    test suite (jobs rewrite their growing document every batch), so that default is 4,096 MB."""
    heap_mb = os.environ.get("KAZOO_COUCHDB_HEAP_MB", "4096" if in_memory else "384")
    if not heap_mb.isdigit() or int(heap_mb) < 64:
        raise CliError(f"KAZOO_COUCHDB_HEAP_MB must be a number of megabytes (64 or more), not {heap_mb!r}")
    return [f"--max-old-space-size={int(heap_mb)}"]


def check_data_dir(data_dir: str) -> Path:
    """The data folder, made when missing; CliError when it cannot be (node would die with a stack trace)."""
    path = Path(data_dir).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot use --data-dir {path}: {exc.strerror or exc}; choose a writable folder") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise CliError(f"cannot use --data-dir {path}: not writable; choose a writable folder")
    return path


def check_port(host: str, port: int) -> None:
    """CliError when host:port cannot be listened on (taken, or not an address of this machine)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as node's listen does
            probe.bind(address)
    except OSError as exc:
        raise CliError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; stop the other process or choose --host / --port"
        ) from None


def run(host: str, port: int, data_dir: str | None, in_memory: bool) -> int:
    node = shutil.which("node")
    if node is None:
        raise CliError("the embedded CouchDB needs Node.js (>= 18): `node` is not on PATH")
    check_port(host, port)
    folder = None if in_memory else check_data_dir(data_dir or "var/couchdb")
    home = server_home()
    argv = [node, *couchdb_node_flags(in_memory), str(home / "server.js"), "--host", host, "--port", str(port)]
    argv += ["--in-memory"] if in_memory else ["--data-dir", str(folder)]
    os.execv(node, argv)  # the server gets our pid, so SIGTERM reaches it directly
    return 1
