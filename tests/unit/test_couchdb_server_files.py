"""The embedded CouchDB's own scripts travel with the wheel: every local module a script of
couchdb_server requires is shipped (setup.cfg) and refreshed in the launcher's cache
(couchdb_launcher.SCRIPTS), or an installed `kazoo-crossbar couchdb` fails to start."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from kazoo_crossbar import couchdb_launcher

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "couchdb_server"
LOCAL_REQUIRE = re.compile(r"""require\(['"]\./([\w.-]+?)(?:\.js)?['"]\)""")


def required_scripts() -> set[str]:
    """server.js and every local module reachable from it."""
    seen: set[str] = set()
    todo = ["server.js"]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(f"{m}.js" for m in LOCAL_REQUIRE.findall((SERVER / name).read_text()))
    return seen


def test_every_required_script_is_shipped_and_refreshed():
    scripts = required_scripts()
    assert {"server.js", "mapreduce.js", "view_index.js"} <= scripts
    assert scripts <= set(couchdb_launcher.SCRIPTS)
    assert scripts <= set(couchdb_launcher.SHIPPED)


def test_setup_cfg_ships_what_the_launcher_copies():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    listed = {f.strip() for f in cfg["options.package_data"]["kazoo_crossbar.couchdb_server"].split(",")}
    assert set(couchdb_launcher.SHIPPED) <= listed
