"""The data folders that ship with the package: Kazoo's design documents (`couchdb_views/`),
the system_config defaults (`system_config/`) and the embedded CouchDB (`couchdb_server/`).

They are top-level folders of the repository and install as `kazoo_crossbar.<folder>`
(setup.cfg `package_dir`), so a wheel puts nothing else into site-packages. A source tree put
on `sys.path` without being installed has no such subpackages: the folders beside the
package are read instead.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

FOLDERS = ("couchdb_views", "system_config", "couchdb_server")


def folder(name: str) -> Traversable:
    if name not in FOLDERS:
        raise ValueError(f"{name!r} is not a shipped data folder")
    try:
        return files(f"kazoo_crossbar.{name}")
    except ModuleNotFoundError:  # not installed: the repository's own folder
        return Path(__file__).resolve().parents[1] / name
