"""Shared document operations for endpoint modules (Kazoo's crossbar_doc):
load with type and soft-delete checks, save with Kazoo's private fields,
soft and hard delete. Every write of an endpoint goes through here, so side
effects that follow a write (change events) live in one place."""
from __future__ import annotations

from typing import Any

from ..http import errors
from ..http.context import Context
from ..storage import docs
from ..storage.couch import Conflict, CouchError, NotFound

MAX_ID_LENGTH = 255


def valid_id(doc_id: Any) -> bool:
    # CouchDB reserves ids starting with `_`; Kazoo ids are short printable strings.
    return (isinstance(doc_id, str) and 0 < len(doc_id) <= MAX_ID_LENGTH and not doc_id.startswith("_")
            and doc_id.isprintable())


async def load(ctx: Context, db: str, doc_id: str, pvt_type: str, *, cached: bool = False) -> dict:
    """The stored document, or 404 bad_identifier when missing, deleted or of another type.
    `cached` (reads that change nothing) may answer from the document cache; the caller must
    not modify what it gets."""
    if not valid_id(doc_id):
        raise errors.bad_identifier(doc_id)
    doc = ctx.services.doc_cache.get(db, doc_id) if cached else None
    if cached and ctx.services.doc_cache.enabled:  # the hit ratio, for operators and bench/p1_get.py
        ctx.services.metrics.doc_cache.labels("miss" if doc is None else "hit").inc()
    if doc is not None:
        return doc
    try:
        doc = await ctx.services.couch.get_doc(db, doc_id)
    except NotFound as exc:
        if exc.db_missing:
            raise
        raise errors.bad_identifier(doc_id) from exc
    except CouchError as exc:
        if exc.status == 400:  # an id CouchDB refuses cannot exist
            raise errors.bad_identifier(doc_id) from exc
        raise
    if doc.get("pvt_deleted") or doc.get("pvt_type", pvt_type) != pvt_type:
        raise errors.bad_identifier(doc_id)
    if cached:
        ctx.services.doc_cache.put(db, doc)
    return doc


def request_public_data(data: Any) -> dict:
    """The client's fields: private keys are dropped silently, as Kazoo does."""
    return docs.public_fields(data) if isinstance(data, dict) else data


def check_if_match(ctx: Context, stored: dict) -> None:
    wanted = ctx.request.headers.get("If-Match")
    if wanted and wanted.strip('"') not in ("*", stored.get("_rev")):
        raise errors.ApiError(412, "precondition_failed", {"message": "revision does not match"})


async def save(ctx: Context, db: str, doc: dict, account_id: str | None) -> dict:
    docs.update_pvt_parameters(doc, db, ctx.writer(account_id))
    ctx.services.doc_cache.drop(db, doc["_id"])
    try:
        await ctx.services.couch.save_doc(db, doc)
    except Conflict as exc:
        raise errors.conflict() from exc
    ctx.services.doc_cache.drop(db, doc["_id"])  # a read may have cached the old one meanwhile
    await ctx.services.bus.doc_changed(db, doc, doc["_rev"], msg_id=ctx.request_id)
    return doc


async def soft_delete(ctx: Context, db: str, doc: dict, account_id: str | None) -> dict:
    doc["pvt_deleted"] = True
    return await save(ctx, db, doc, account_id)


async def hard_delete(ctx: Context, db: str, doc: dict) -> None:
    ctx.services.doc_cache.drop(db, doc["_id"])
    try:
        rev = await ctx.services.couch.delete_doc(db, doc["_id"], doc["_rev"])
    except Conflict as exc:
        raise errors.conflict() from exc
    await ctx.services.bus.doc_changed(db, doc, rev, hard_deleted=True, msg_id=ctx.request_id)


async def bulk_save(ctx: Context, db: str, batch: list[dict], account_id: str | None) -> list[dict]:
    """Save several documents in one `_bulk_docs`; per-document results in request order."""
    writer = ctx.writer(account_id)
    for doc in batch:
        docs.update_pvt_parameters(doc, db, writer)
        ctx.services.doc_cache.drop(db, doc["_id"])
    results = await ctx.services.couch.bulk_docs(db, batch)
    for doc, result in zip(batch, results):
        if "rev" in result and "error" not in result:
            doc["_rev"] = result["rev"]
    await ctx.services.bus.docs_changed(db, [d for d, r in zip(batch, results) if "error" not in r])
    return results
