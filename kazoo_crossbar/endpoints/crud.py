"""Document operations for endpoint modules (Kazoo's crossbar_doc): load with type and
soft-delete checks, save with Kazoo's private fields, soft and hard delete, bulk save.
Writes go through the storage write path (storage/writes.py), which publishes the change
events and drops the cached documents; here a conflict becomes Kazoo's 409."""

from __future__ import annotations

from typing import Any

from ..http import errors
from ..http.context import Context
from ..storage import docs
from ..storage.couch import Conflict, CouchClient, CouchError, NotFound
from ..storage.doc_cache import DocCache
from ..storage.docs import valid_id
from ..storage.writes import Writes


def request_public_data(data: Any) -> dict:
    """The client's fields: private keys are dropped silently, as Kazoo does."""
    return docs.public_fields(data) if isinstance(data, dict) else data


def check_if_match(ctx: Context, stored: dict) -> None:
    wanted = ctx.request.headers.get("If-Match")
    if wanted and wanted.strip('"') not in ("*", stored.get("_rev")):
        raise errors.precondition_failed()


class Docs:
    def __init__(self, writes: Writes, cache: DocCache):
        self.writes, self.cache = writes, cache
        self.couch: CouchClient = writes.couch

    async def load(self, db: str, doc_id: str, pvt_type: str, *, cached: bool = False) -> dict:
        """The stored document, or 404 bad_identifier when missing, deleted or of another type.
        `cached` (reads that change nothing) may answer from the document cache; the caller must
        not modify what it gets."""
        if not valid_id(doc_id):
            raise errors.bad_identifier(doc_id)
        doc = self.cache.get(db, doc_id) if cached else None
        if doc is not None:
            return doc
        try:
            doc = await self.couch.get_doc(db, doc_id)
        except NotFound as exc:
            if exc.db_missing:
                raise
            raise errors.bad_identifier(doc_id) from exc
        except CouchError as exc:
            if exc.status == 400:  # an id CouchDB refuses cannot exist
                raise errors.bad_identifier(doc_id) from exc
            raise
        if not docs.is_live(doc, pvt_type):
            raise errors.bad_identifier(doc_id)
        if cached:
            self.cache.put(db, doc)
        return doc

    async def save(self, ctx: Context, db: str, doc: dict, account_id: str | None) -> dict:
        docs.update_pvt_parameters(doc, db, ctx.writer(account_id))
        try:
            await self.writes.save(db, doc, msg_id=ctx.request_id)
        except Conflict as exc:
            raise errors.conflict() from exc
        return doc

    async def soft_delete(self, ctx: Context, db: str, doc: dict, account_id: str | None) -> dict:
        doc["pvt_deleted"] = True
        return await self.save(ctx, db, doc, account_id)

    async def hard_delete(self, ctx: Context, db: str, doc: dict) -> None:
        try:
            await self.writes.delete(db, doc, msg_id=ctx.request_id)
        except Conflict as exc:
            raise errors.conflict() from exc

    async def bulk_save(self, ctx: Context, db: str, batch: list[dict], account_id: str | None) -> list[dict]:
        """Save several documents in one `_bulk_docs`; per-document results in request order."""
        writer = ctx.writer(account_id)
        for doc in batch:
            docs.update_pvt_parameters(doc, db, writer)
        return await self.writes.bulk_save(db, batch, msg_id=ctx.request_id)
