"""docs/production.md lists every environment variable the package reads, and the example
environment file of deploy/ sets only variables it lists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "production.md").read_text(encoding="utf-8")
VARIABLE = re.compile(r"""["'](KAZOO_[A-Z0-9_]+)["']""")


def read_variables() -> set[str]:
    """Every KAZOO_* name the package's code quotes (os.environ reads, config.py's table)."""
    found: set[str] = set()
    for path in (ROOT / "kazoo_crossbar").rglob("*.py"):
        found |= set(VARIABLE.findall(path.read_text(encoding="utf-8")))
    return found


def test_the_variables_config_reads_are_found():
    names = read_variables()
    assert {"KAZOO_COUCHDB_URL", "KAZOO_TRUSTED_PROXIES", "KAZOO_CROSSBAR_METRICS_ADDRESS"} <= names


def test_every_environment_variable_is_in_docs_production_md():
    missing = sorted(name for name in read_variables() if f"`{name}`" not in DOC)
    assert not missing, f"docs/production.md does not list: {missing}"


def test_the_example_environment_file_sets_only_listed_variables():
    lines = (ROOT / "deploy" / "kazoo-crossbar.env").read_text(encoding="utf-8").splitlines()
    names = [line.split("=", 1)[0] for line in lines if line.strip() and not line.startswith("#")]
    assert names and set(names) <= read_variables(), set(names) - read_variables()
