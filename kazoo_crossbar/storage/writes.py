"""The one write path (Kazoo's kzs_doc → kzs_publish:maybe_publish_doc/3).

Every document save, bulk save and delete of the service goes through `Writes`; after CouchDB
accepts a write it drops the document-cache entry and publishes the change event
(`doc_created|doc_edited|doc_deleted.<db>.<type>.<id>` on `configuration`), so no caller can
forget either. As in Kazoo, design documents and the types in system_config
`datamgr.change_notice_exclude_types` are never published. Only `views.install` writes
design documents without it (they are never published anyway).

Accepted writes are answered 201, or 202 on a cluster that has not met its write quorum yet:
both are saved (the copies catch up), so both drop the cache, publish, and are noted in
`recent` (storage/recent.py: listings show this process's own writes at once).

`update` / `delete_by_id` are read-modify-write through `retry.read_modify_write`.

The event source is a required argument: a caller with no broker passes `bus.base.NullBus`
by name, so no write path can lose its events by leaving an argument out. Databases this
service creates go through `create_db` (Kazoo's `kzs_db:db_create` publishes `db_created`).
A write is `doc_created` when the document had no revision before it (`kzs_publish:publish_doc`
looks at the document given to the save, not at the new revision), so a hard-deleted id saved
again is created, not edited.

Every event carries a `Msg-ID`: the caller's, else the one bound for this task with
`bind_msg_id` (a job run binds its request id), else the saved document's `pvt_request_id`,
else a fresh one (the bus message builder makes it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from . import names, views
from .cache import TTLCache
from .couch import CouchClient, NotFound, answer_field
from .recent import RecentWrites
from .retry import read_modify_write

# kz_data.hrl ?DEFAULT_PUBLISH_EXCLUDE_TYPES (Kazoo 4.3)
DEFAULT_EXCLUDE_TYPES = ("cdr", "ledger", "audit_log", "login_attempt", "pivot_debug", "notify_smtp_log")
DATAMGR = "datamgr"

Change = Callable[[dict | None], dict | None]
# The Msg-ID of the events of writes made in this task (and the tasks it starts), when the
# caller gives none: a job run binds its job's request id.
_MSG_ID: ContextVar[str | None] = ContextVar("kazoo_msg_id", default=None)


def bind_msg_id(msg_id: str | None) -> None:
    """Events of this task's later writes carry `msg_id` (a job's `pvt_request_id`)."""
    _MSG_ID.set(msg_id if isinstance(msg_id, str) and msg_id else None)


class ChangeEvents(Protocol):
    """What the write path needs of the bus (bus.base.Bus and NullBus implement it)."""

    connected: bool

    async def doc_changed(
        self,
        db: str,
        doc: dict,
        rev: str,
        *,
        created: bool = False,
        hard_deleted: bool = False,
        msg_id: str | None = None,
    ) -> None: ...

    async def db_created(self, db: str) -> None: ...


class CacheDropper(Protocol):
    def drop(self, db: str, doc_id: str) -> None: ...


class _NoCache:
    def drop(self, db: str, doc_id: str) -> None:
        return None


@dataclass(frozen=True)
class Written:
    """One accepted write, for its event: `created` when the document had no revision before."""

    doc: dict
    rev: str
    created: bool
    hard_deleted: bool = False


def is_design(doc_id: str) -> bool:
    return doc_id.startswith(("_design/", "_design%2F", "_design%2f"))


def exclude_types(doc: dict | None, node: str, zone: str) -> frozenset[str]:
    """`change_notice_exclude_types` with kapps_config's node → zone → default lookup."""
    for section in (node, zone, "default"):
        value = ((doc or {}).get(section) or {}).get("change_notice_exclude_types")
        if isinstance(value, list):
            return frozenset(v for v in value if isinstance(v, str))
    return frozenset(DEFAULT_EXCLUDE_TYPES)


class Writes:
    def __init__(
        self,
        couch: CouchClient,
        events: ChangeEvents,
        cache: CacheDropper | None = None,
        node: str = "kazoo_crossbar",
        zone: str = "local",
        ttl_s: float = 5.0,
        recent: RecentWrites | None = None,
    ):
        self.couch, self.node, self.zone = couch, node, zone
        self.events = events
        self.cache: CacheDropper = cache or _NoCache()
        self.recent = recent  # what listings overlay (read-your-own-writes on a cluster)
        self._excluded: TTLCache[frozenset[str]] = TTLCache(ttl_s)

    # --- after every write ------------------------------------------------------------------
    async def _excluded_types(self) -> frozenset[str]:
        excluded = await self._excluded.get_or_load(DATAMGR, self._read_excluded)
        assert excluded is not None
        return excluded

    async def _read_excluded(self) -> frozenset[str]:
        try:
            doc = await self.couch.get_doc(names.SYSTEM_CONFIG, DATAMGR)
        except NotFound:
            doc = None
        return exclude_types(doc, self.node, self.zone)

    async def _written(self, db: str, docs: list[Written], msg_id: str | None) -> None:
        """Drop cache entries, then publish the events, Kazoo's exclusions applied."""
        for written in docs:
            self.cache.drop(db, written.doc["_id"])
            if self.recent is not None:
                self.recent.note(db, written.doc, written.rev, deleted=written.hard_deleted)
        if not self.events.connected:
            return  # no broker (NullBus) or broker away: nothing could be published
        wanted = [w for w in docs if not is_design(w.doc["_id"])]
        if not wanted:
            return
        excluded = await self._excluded_types()
        msg_id = msg_id or _MSG_ID.get()
        await asyncio.gather(
            *(
                self.events.doc_changed(
                    db,
                    w.doc,
                    w.rev,
                    created=w.created,
                    hard_deleted=w.hard_deleted,
                    msg_id=msg_id or w.doc.get("pvt_request_id"),
                )
                for w in wanted
                if str(w.doc.get("pvt_type")) not in excluded
            )
        )

    # --- databases ----------------------------------------------------------------------------
    async def create_db(self, db: str, *, install: bool = True) -> bool:
        """Create a database (with its design documents unless `install` is false); True (and
        `db_created` published) when it did not exist (kzs_db:db_create publishes only then)."""
        created = await self.couch.create_db(db)
        if install:
            await views.install(self.couch, db)
        if created and self.events.connected:
            await self.events.db_created(db)
        return created

    # --- writes -------------------------------------------------------------------------------
    async def save(self, db: str, doc: dict, *, msg_id: str | None = None, create_db: bool = False) -> dict:
        """PUT one document (`_rev` updated in place); Conflict when someone else saved it.
        `create_db`: a missing database is created (with its design documents) and the save retried."""
        self.cache.drop(db, doc["_id"])
        created = not doc.get("_rev")
        try:
            await self.couch.save_doc(db, doc)
        except NotFound as exc:
            if not (create_db and exc.db_missing):
                raise
            await self.create_db(db)
            await self.couch.save_doc(db, doc)
        await self._written(db, [Written(doc, doc["_rev"], created)], msg_id)
        return doc

    async def save_encoded(self, db: str, doc: dict, body: bytes, *, msg_id: str | None = None) -> str:
        """PUT a document already encoded as JSON (`doc` is its head, for the event: its `_rev`
        says whether the body had one); returns the rev."""
        self.cache.drop(db, doc["_id"])
        created = not doc.get("_rev")
        res = await self.couch.request(
            "PUT", f"/{names.url_path(db)}/{doc['_id']}", data=body, headers={"Content-Type": "application/json"}, db=db
        )
        doc["_rev"] = answer_field(res, "rev", str, db)
        await self._written(db, [Written(doc, doc["_rev"], created)], msg_id)
        return doc["_rev"]

    async def bulk_save(
        self, db: str, batch: list[dict], *, msg_id: str | None = None, create_db: bool = False
    ) -> list[dict]:
        """One `_bulk_docs`; per-document results in request order, `_rev` set on the saved ones."""
        created = [not doc.get("_rev") for doc in batch]
        for doc in batch:
            self.cache.drop(db, doc["_id"])
        try:
            results = await self.couch.bulk_docs(db, batch)
        except NotFound as exc:
            if not (create_db and exc.db_missing):
                raise
            await self.create_db(db)
            results = await self.couch.bulk_docs(db, batch)
        saved = []
        for doc, result, new in zip(batch, results, created):
            if "rev" in result and "error" not in result:
                doc["_rev"] = result["rev"]
                saved.append(Written(doc, result["rev"], new))
        await self._written(db, saved, msg_id)
        return results

    async def delete(self, db: str, doc: dict, *, msg_id: str | None = None) -> str:
        """Hard delete at doc's `_rev`; returns the tombstone's rev."""
        self.cache.drop(db, doc["_id"])
        rev = await self.couch.delete_doc(db, doc["_id"], doc["_rev"])
        await self._written(db, [Written(doc, rev, False, hard_deleted=True)], msg_id)
        return rev

    async def put_attachment(self, db: str, doc: dict, name: str, data: bytes, content_type: str) -> str:
        rev = await self.couch.put_attachment(db, doc["_id"], name, data, content_type, doc["_rev"])
        doc["_rev"] = rev
        await self._written(db, [Written(doc, rev, False)], None)
        return rev

    # --- read-modify-write -------------------------------------------------------------------------
    async def get(self, db: str, doc_id: str) -> dict | None:
        try:
            return await self.couch.get_doc(db, doc_id)
        except NotFound:
            return None

    async def update(
        self, db: str, doc_id: str, change: Change, *, msg_id: str | None = None, create_db: bool = False
    ) -> dict | None:
        """Read, `change(stored or None)`, save; a conflict starts over (retry.read_modify_write)."""
        return await read_modify_write(
            lambda: self.get(db, doc_id),
            change,
            lambda doc: self.save(db, doc, msg_id=msg_id, create_db=create_db),
            what=doc_id,
        )

    async def delete_by_id(
        self, db: str, doc_id: str, *, msg_id: str | None = None, only_if: Callable[[dict], bool] | None = None
    ) -> dict | None:
        """Delete whatever revision is stored; the deleted document, None when there was none
        (or `only_if(stored)` said no: the document is left alone)."""
        gone: list[dict] = []

        async def delete(stored: dict) -> dict:
            try:
                await self.delete(db, stored, msg_id=msg_id)
                gone.append(stored)
            except NotFound:
                pass
            return stored

        def wanted(stored: dict | None) -> dict | None:
            return stored if stored is not None and (only_if is None or only_if(stored)) else None

        await read_modify_write(lambda: self.get(db, doc_id), wanted, delete, what=doc_id)
        return gone[0] if gone else None
