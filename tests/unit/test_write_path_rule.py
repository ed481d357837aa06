"""The one write path cannot be skipped: outside `kazoo_crossbar/storage/` no code writes to
CouchDB itself. Every save, delete, bulk write, attachment and database creation goes through
`storage/writes.py`, which publishes the change events Kazoo's caches need (kzs_publish)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "kazoo_crossbar"
STORAGE = PACKAGE / "storage"

# CouchClient methods that write (their names are the client's alone)
WRITE_METHODS = frozenset({"save_doc", "delete_doc", "bulk_docs", "put_attachment", "create_db", "delete_db"})
# HTTP methods that write, when given to the client's raw `request`
WRITE_VERBS = frozenset({"PUT", "POST", "DELETE", "PATCH", "COPY"})
# modules that write to CouchDB behind the client's back
FORBIDDEN_IMPORTS = ("aiocouch",)


def _receiver(node: ast.expr) -> str:
    """`self.writes.couch` for `self.writes.couch.request`: the dotted name a call is made on."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def couch_writes(source: str, filename: str = "<source>") -> list[str]:
    """Every CouchDB write in `source`, as `file:line: what`."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                if name.split(".")[0] in FORBIDDEN_IMPORTS:
                    found.append(f"{filename}:{node.lineno}: imports {name}")
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method, receiver = node.func.attr, _receiver(node.func.value)
        if method in WRITE_METHODS and receiver.split(".")[-1] != "writes":  # Writes has the same names
            found.append(f"{filename}:{node.lineno}: {receiver}.{method}(…)")
        elif receiver.split(".")[-1] == "couch" and method == "request":
            verb = node.args[0] if node.args else None
            if not isinstance(verb, ast.Constant) or str(verb.value).upper() in WRITE_VERBS:
                found.append(f"{filename}:{node.lineno}: {receiver}.request(…) that may write")
        elif receiver.endswith("couch.session"):
            found.append(f"{filename}:{node.lineno}: {receiver}.{method}(…) around the client")
    return found


def test_no_couchdb_write_outside_storage():
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if STORAGE in path.parents:
            continue
        violations += couch_writes(path.read_text(), str(path.relative_to(ROOT)))
    assert violations == [], "CouchDB writes outside storage/ (use storage/writes.py):\n" + "\n".join(violations)


def test_the_rule_catches_each_kind_of_write():
    """The checker itself: each way of writing around the write path is found, reads are not."""
    source = """
from aiocouch import CouchDB

async def bad(self, couch, db, doc):
    await self.couch.save_doc(db, doc)
    await couch.bulk_docs(db, [doc])
    await self.writes.couch.delete_doc(db, doc["_id"], doc["_rev"])
    await self.couch.create_db(db)
    await self.couch.put_attachment(db, "k", "a.pem", b"", "text/plain", "1-x")
    await self.couch.request("PUT", "/db/doc", body=doc)
    await couch.request(method, "/db")
    await self.couch.session.post("http://couch/db", json=doc)

async def fine(self, couch, db, session):
    await self.couch.get_doc(db, "x")
    await couch.view(db, "resources", "crossbar_listing")
    await self.couch.request("GET", "/db/doc")
    await session.put("http://phonebook/numbers/US/order", json={})
    await self.writes.save(db, {"_id": "x"})
    await self.writes.create_db(db)
"""
    found = couch_writes(source)
    assert [line.split(": ", 1)[1] for line in found] == [
        "imports aiocouch",
        "self.couch.save_doc(…)",
        "couch.bulk_docs(…)",
        "self.writes.couch.delete_doc(…)",
        "self.couch.create_db(…)",
        "self.couch.put_attachment(…)",
        "self.couch.request(…) that may write",
        "couch.request(…) that may write",
        "self.couch.session.post(…) around the client",
    ]
