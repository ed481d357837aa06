"""Read-your-own-writes for listings (docs/decisions.md, "Listings on a CouchDB cluster").

On a CouchDB 3 cluster a view is read from one copy of each shard range (fabric takes the first
copy that answers; `stable` and `update` only choose which copy and whether its index is brought
up to date first: no view read waits for a quorum), and a copy learns of a write by internal
replication a little later. So a listing right after a write may not show it yet. This process
keeps, per database, the documents it wrote in the last `WINDOW_S` seconds (only the types a
listing overlays), and such a listing merges them over the view's rows: the row of a document
written here is the row its written revision maps to (none once deleted).

What it cannot do: show another service node's writes sooner (their copies catch up as they do),
or order a merged row by ICU collation (`collation.sort_key` is CouchDB's order of JSON types,
strings by code point: exact for Kazoo's hex ids).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .collation import sort_key

WINDOW_S = 30.0  # far longer than a healthy cluster's internal replication (milliseconds)
MAX_PER_DB = 1_000  # the oldest go first: memory stays bounded whatever the write rate

# A view's map function in Python: the (key, value) rows a document emits.
RowsOf = Callable[[dict], list[tuple[Any, Any]]]


@dataclass(frozen=True)
class _Entry:
    at: float
    generation: int
    doc: dict | None  # None: deleted


class RecentWrites:
    """The documents of `types` this process wrote lately, per database."""

    def __init__(self, types: Iterable[str], window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic):
        self.types = frozenset(types)
        self.window_s, self.clock = window_s, clock
        self._by_db: dict[str, OrderedDict[str, _Entry]] = {}

    def note(self, db: str, doc: dict, rev: str, *, deleted: bool) -> None:
        """A write CouchDB accepted (201 or 202): `doc` at `rev`, or its deletion."""
        if doc.get("pvt_type") not in self.types:
            return
        entries = self._by_db.setdefault(db, OrderedDict())
        generation = _generation(rev)
        held = entries.get(doc["_id"])
        if held is not None and held.generation > generation:
            return  # a later write of ours answered first
        entries.pop(doc["_id"], None)
        entries[doc["_id"]] = _Entry(self.clock(), generation, None if deleted else dict(doc))
        while len(entries) > MAX_PER_DB:
            entries.popitem(last=False)

    def docs(self, db: str) -> dict[str, dict | None]:
        """id → the document as written (None: deleted), for this window's writes to db."""
        entries = self._by_db.get(db)
        if not entries:
            return {}
        oldest = self.clock() - self.window_s
        while entries and next(iter(entries.values())).at < oldest:
            entries.popitem(last=False)
        if not entries:
            del self._by_db[db]
        return {doc_id: e.doc for doc_id, e in entries.items()}


def _generation(rev: str) -> int:
    head = rev.split("-", 1)[0]
    return int(head) if head.isdigit() else 0


@dataclass(frozen=True)
class Overlay:
    """What a listing merges over one view: this process's recent writes and the view's map."""

    recent: RecentWrites
    rows_of: RowsOf

    def rows(
        self, db: str, *, first: Any, end: Any, descending: bool, include_docs: bool
    ) -> tuple[frozenset[str], list[dict]]:
        """(ids whose view rows are replaced, the rows that replace them within first..end, in
        the view's order)."""
        written = self.recent.docs(db)
        rows = []
        for doc_id, doc in written.items():
            for key, value in self.rows_of(doc) if doc is not None else []:
                if in_range(key, first, end, descending):
                    row = {"id": doc_id, "key": key, "value": value}
                    if include_docs:
                        row["doc"] = doc
                    rows.append(row)
        rows.sort(key=lambda r: (sort_key(r["key"]), r["id"]), reverse=descending)
        return frozenset(written), rows


async def merged(
    found: AsyncIterator[dict], replaced: frozenset[str], extra: list[dict], *, descending: bool
) -> AsyncIterator[dict]:
    """The view's rows without those of `replaced` ids, `extra` (sorted as the view) merged in."""
    pending = list(extra)
    async for row in found:
        if row.get("id") in replaced:
            continue
        here = sort_key(row["key"])
        while pending and _before(sort_key(pending[0]["key"]), here, descending):
            yield pending.pop(0)
        yield row
    for row in pending:
        yield row


def _before(a: tuple, b: tuple, descending: bool) -> bool:
    return a >= b if descending else a <= b


def in_range(key: Any, first: Any, end: Any, descending: bool) -> bool:
    k = sort_key(key)
    lo, hi = (end, first) if descending else (first, end)
    return (lo is None or sort_key(lo) <= k) and (hi is None or k <= sort_key(hi))
