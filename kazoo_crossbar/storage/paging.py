"""Paging over CouchDB views: one view in one database (resources) or the same view across
several month databases (jobs), read `batch` rows at a time.

A page never ends inside a run of rows with the same key: the next page's start is only a
key (Kazoo's `next_start_key`), so the next page starts at the first row with that key. Rows
sharing the boundary key move to the next page; if a whole page shares one key, the page
grows to hold the run."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from typing import Any

from . import views
from .couch import CouchClient, NotFound
from .recent import Overlay, merged

Mapper = Callable[[dict], Any]
Keep = Callable[[dict], bool]
_NO_KEY = object()


async def rows(
    couch: CouchClient,
    dbs: Sequence[str],
    design: str,
    view: str,
    *,
    first: Any,
    end: Any,
    descending: bool,
    batch: int,
    include_docs: bool,
    skip_missing_dbs: bool,
    overlay: Overlay | None = None,
) -> AsyncGenerator[dict, None]:
    """Every view row from `first` to `end`, database after database, fetched `batch` at a time;
    with `overlay`, this process's recent writes merged over them (storage/recent.py)."""
    for db in dbs:
        found: AsyncIterator[dict] = _db_rows(
            couch, db, design, view, first, end, descending, batch, include_docs, skip_missing_dbs
        )
        if overlay is not None:
            replaced, extra = overlay.rows(db, first=first, end=end, descending=descending, include_docs=include_docs)
            if replaced:
                found = merged(found, replaced, extra, descending=descending)
        async for row in found:
            yield row


async def _db_rows(
    couch: CouchClient,
    db: str,
    design: str,
    view: str,
    first: Any,
    end: Any,
    descending: bool,
    batch: int,
    include_docs: bool,
    skip_missing_dbs: bool,
) -> AsyncGenerator[dict, None]:
    """One database's rows."""
    cursor, skip = first, 0
    while True:
        params: dict[str, Any] = {
            "limit": batch,
            "descending": descending,
            "include_docs": include_docs or None,
            "startkey": cursor,
            "endkey": end,
            "skip": skip or None,
        }
        try:
            found = (await views.query(couch, db, design, view, **params))["rows"]
        except NotFound as exc:
            if skip_missing_dbs and exc.db_missing:
                return
            raise
        for row in found:
            yield row
        if len(found) < batch:
            break
        # resume after the last row read: same key, skipping the rows already seen with it
        last = found[-1]["key"]
        skip = sum(1 for r in found if r["key"] == last) + (skip if last == cursor else 0)
        cursor = last


async def page(
    couch: CouchClient,
    dbs: Sequence[str],
    design: str,
    view: str,
    *,
    first: Any,
    end: Any,
    descending: bool,
    size: int | None,
    keep: Keep | None,
    mapper: Mapper,
    skip_missing_dbs: bool,
    overlay: Overlay | None = None,
) -> tuple[list[Any], Any]:
    """(mapped rows of one page, the key the next page starts at or None). `size` None: every row.
    `keep` (filters on the full document) switches to `include_docs`."""
    batch = 50 if size is None or keep else size + 1
    kept: list[tuple[Any, Any]] = []
    next_key: Any = None
    run_key: Any = _NO_KEY  # set while growing a page over a run of equal keys
    found = rows(
        couch,
        dbs,
        design,
        view,
        first=first,
        end=end,
        descending=descending,
        batch=batch,
        include_docs=keep is not None,
        skip_missing_dbs=skip_missing_dbs,
        overlay=overlay,
    )
    async for row in found:
        key = row["key"]
        if run_key is not _NO_KEY and key != run_key:
            next_key = key
            break
        if run_key is _NO_KEY and size is not None and len(kept) == size:
            if kept[-1][0] != key:
                next_key = key
                break
            trimmed = [kv for kv in kept if kv[0] != key]
            if trimmed:
                kept, next_key = trimmed, key
                break
            run_key = key
        if keep is None or keep(row.get("doc") or {}):
            kept.append((key, mapper(row)))
    await found.aclose()
    return [item for _, item in kept], next_key
