"""Every design document under couchdb_views/ is valid JSON in CouchDB's shape (its functions are
checked with Node in tests/integration/test_design_doc_functions.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VIEWS = ROOT / "couchdb_views"
BUILTIN_REDUCES = {"_sum", "_count", "_stats", "_approx_count_distinct"}
FILES = sorted(VIEWS.glob("*/*.json"))


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(VIEWS)) for p in FILES])
def test_design_doc_shape(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["_id"] == f"_design/{path.stem}"
    assert doc.get("language") == "javascript"
    assert doc["views"], "a design document without views"
    assert set(doc) <= {"_id", "language", "views", "lists"}
    for name, view in doc["views"].items():
        assert set(view) <= {"map", "reduce"}, name
        assert isinstance(view["map"], str) and view["map"].startswith("function"), name
        reduce = view.get("reduce")
        assert reduce is None or reduce in BUILTIN_REDUCES or reduce.startswith("function"), name


def test_shared_design_docs_are_the_same_file() -> None:
    """One definition per design doc installed into several classes (as Kazoo registers it once)."""
    same = [
        ("offnet/resources.json", "sip_auth/resources.json"),
        ("modb/maintenance.json", "numbers/maintenance.json"),
        ("modb/maintenance.json", "account/maintenance.json"),
    ]
    for a, b in same:
        assert (VIEWS / a).read_text() == (VIEWS / b).read_text(), (a, b)
