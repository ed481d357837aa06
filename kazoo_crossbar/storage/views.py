"""Design documents from `couchdb_views/`, installed by `setup` and on demand.

The folder has one sub-folder per class of database (see names.classify);
each JSON file is one design document. A view query that finds its design
document (or its database, where creating it is allowed) missing installs it
and retries once, so databases created by Kazoo or by hand just work.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import structlog

from ..shipped import folder as shipped_folder
from . import names
from .couch import Conflict, CouchClient, NotFound
from .retry import read_modify_write

log = structlog.get_logger(__name__)

# The views this service's listings read from an account database. A job that writes thousands
# of number copies there refreshes them as it goes (jobs/view_warmer.py), so a listing never
# meets the whole catch-up at once; other views are left to CouchDB 3's background indexer.
ACCOUNT_LISTING_VIEWS: tuple[tuple[str, str], ...] = (("resources", "crossbar_listing"),)


@cache
def design_docs(klass: str) -> tuple[dict, ...]:
    folder = shipped_folder("couchdb_views") / klass
    if not folder.is_dir():
        return ()
    paths = sorted((p for p in folder.iterdir() if p.name.endswith(".json")), key=lambda p: p.name)
    return tuple(json.loads(p.read_text(encoding="utf-8")) for p in paths)


def _missing_views(stored: dict | None, wanted: dict) -> dict | None:
    """The design doc to write, or None when every view we need is there.

    Views already present are left as they are, and views we do not ship are
    kept: on a CouchDB shared with Kazoo, its own definitions (same row
    contracts, its own source text) stay, so neither side keeps rewriting the
    other's and forcing index rebuilds."""
    if stored is None:
        return dict(wanted)
    out = {**stored, "language": stored.get("language", "javascript")}
    changed = False
    for part in ("views", "lists"):  # e.g. `_design/cdrs` has a list function
        have = stored.get(part) or {}
        missing = {name: fn for name, fn in (wanted.get(part) or {}).items() if name not in have}
        if missing:
            out[part] = {**have, **missing}
            changed = True
    return out if changed else None


async def _install_one(couch: CouchClient, db: str, wanted: dict) -> bool:
    """Read-modify-write of one design document (after a bulk write lost a race); True if written."""
    written = False

    async def read() -> dict | None:
        try:
            return await couch.get_doc(db, wanted["_id"])
        except NotFound as exc:
            if exc.db_missing:
                raise
            return None

    async def write(doc: dict) -> dict:
        nonlocal written
        await couch.save_doc(db, doc)  # design documents are never published (kzs_publish)
        written = True
        return doc

    try:
        # another writer (a concurrent job, Kazoo) may install it at the same time
        await read_modify_write(read, lambda stored: _missing_views(stored, wanted), write, what=wanted["_id"])
    except Conflict:
        pass
    return written


async def install(couch: CouchClient, db: str) -> int:
    """Install missing design documents and views of db's class; returns how many docs were written.

    One read of every design doc of the class and one bulk write of what is missing (a class has
    up to 45 docs); a doc whose write lost a race is redone on its own."""
    klass = names.classify(db)
    wanted = design_docs(klass) if klass else ()
    if not wanted:
        return 0
    rows = await couch.all_docs(db, keys=[w["_id"] for w in wanted], include_docs=True)
    stored = {row["key"]: row["doc"] for row in rows if row.get("doc")}
    changes = [(w, doc) for w in wanted if (doc := _missing_views(stored.get(w["_id"]), w)) is not None]
    written = 0
    if changes:
        # design documents are never published (kzs_publish)
        results = await couch.bulk_docs(db, [doc for _, doc in changes])
        for (w, _), result in zip(changes, results):
            if "error" not in result or await _install_one(couch, db, w):
                written += 1
    if written:
        log.info("design_docs_installed", db=db, count=written)
    return written


async def ensure_db(couch: CouchClient, db: str) -> None:
    """Create db (if missing) with its design documents, publishing nothing: for databases made
    on someone else's behalf (tests writing as a Kazoo node does). The service creates its
    databases through `Writes.create_db`, which publishes `db_created`."""
    await couch.create_db(db)
    await install(couch, db)


async def query(couch: CouchClient, db: str, design: str, view: str, **params: Any) -> dict:
    """Query a view; install the design docs when missing, then retry (a missing database is
    NotFound: a query never creates one)."""
    try:
        return await couch.view(db, design, view, **params)
    except NotFound as exc:
        if exc.db_missing:
            raise
        await install(couch, db)
        return await couch.view(db, design, view, **params)


async def refresh(couch: CouchClient, db: str, design: str, view: str) -> None:
    """Bring a view's index up to date: a CouchDB query updates the index before it answers
    (`update=true` is the default), and `limit=0` returns no rows."""
    await query(couch, db, design, view, limit=0)
