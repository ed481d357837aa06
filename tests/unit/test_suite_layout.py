"""The test suite's own rules (docs/architecture.md, "Rules and the tests that keep them"): a test
module imports no other test module (shared fixtures live in conftest.py files, shared helpers in
modules such as tests/kazoo.py or tests/eventually.py), and no two test modules share a name."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
MODULES = sorted(TESTS.rglob("test_*.py"))


def imported_test_modules(source: str) -> list[str]:
    """Every module of this suite named `test_…` that an import statement in source names."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            names = [module, *(f"{module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        ours = [n for n in names if n.startswith((".", "tests."))]  # not aiohttp.test_utils
        found += [n for n in ours if any(part.startswith("test_") for part in n.split("."))][:1]
    return found


def test_no_test_module_imports_another():
    assert len(MODULES) > 50
    offenders = {str(p.relative_to(TESTS)): m for p in MODULES if (m := imported_test_modules(p.read_text()))}
    assert offenders == {}, "move what they share into a conftest.py (fixtures) or a helper module"


def test_the_check_sees_each_way_of_importing_a_test_module():
    source = (
        "from .test_recovery import stale_job\n"
        "from ..integration.test_bus import x\n"
        "from . import test_cli\n"
        "import tests.integration.test_wheel\n"
        "from ..kazoo import numbers_block\n"
        "from kazoo_crossbar.storage import names\n"
        "from aiohttp.test_utils import TestClient\n"
    )
    assert imported_test_modules(source) == [
        ".test_recovery",
        "..integration.test_bus",
        "..test_cli",
        "tests.integration.test_wheel",
    ]


def test_test_modules_have_distinct_names():
    counts = Counter(p.name for p in MODULES)
    assert {name: n for name, n in counts.items() if n > 1} == {}
