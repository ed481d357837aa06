"""Number documents in bulk: the number databases (`numbers/+1222`) and the assigned
account's copy, read with `_all_docs` and written with `_bulk_docs` through the write path
(which publishes their change events)."""

from __future__ import annotations

import asyncio

import structlog

from ..storage import names, retry
from ..storage.couch import Conflict, NotFound
from ..storage.writes import Writes

log = structlog.get_logger(__name__)

PORT_REQUESTS = "port_requests"


class NumberStore:
    def __init__(self, writes: Writes):
        self.writes, self.couch = writes, writes.couch

    async def fetch(self, e164s: list[str]) -> dict[str, dict]:
        by_db: dict[str, list[str]] = {}
        for n in e164s:
            by_db.setdefault(names.numbers_db(n), []).append(n)
        found: dict[str, dict] = {}
        for db, keys in by_db.items():
            try:
                rows = await self.couch.all_docs(db, keys=keys, include_docs=True)
            except NotFound:
                continue
            for row in rows:
                if row.get("doc"):
                    found[row["id"]] = row["doc"]
        return found

    async def porting(self, e164s: list[str]) -> set[str]:
        """The numbers of an active port request (knm_port_request:get: view
        `port_requests/port_in_numbers` of the `port_requests` database, written by Kazoo's
        port requests). No such database or view (a standalone install) means no port
        requests, as Kazoo answers `not porting` to a failed query; other failures raise."""
        if not e164s:
            return set()
        try:
            res = await self.couch.view(PORT_REQUESTS, "port_requests", "port_in_numbers", keys=e164s)
        except NotFound:
            return set()
        return {row["key"] for row in res.get("rows", []) if isinstance(row.get("key"), str)}

    async def write(self, docs_by_id: dict[str, dict]) -> dict[str, bool]:
        """Write number docs to their number DBs (one `_bulk_docs` each); {e164: saved}."""
        result: dict[str, bool] = {}
        by_db: dict[str, list[dict]] = {}
        for e164, doc in docs_by_id.items():
            by_db.setdefault(names.numbers_db(e164), []).append(doc)
        for db, batch in by_db.items():
            answers = await self.writes.bulk_save(db, batch, create_db=True)
            for doc, answer in zip(batch, answers):
                result[doc["_id"]] = "error" not in answer
        return result

    async def write_account_copies(
        self, account_id: str, number_docs: list[dict], resumed: set[str], may_exist: set[str]
    ) -> None:
        """The same number docs in the assigned account's database (skipped when it does not exist).
        A number this job stored before a crash gets its copy only if the copy is missing. Only
        numbers that existed before (`may_exist`) are looked up; a new number has no copy yet,
        and a conflict is retried below."""
        if not number_docs:
            return
        db = names.account_db(account_id)
        lookup = [d["_id"] for d in number_docs if d["_id"] in may_exist]
        try:
            rows = await self.couch.all_docs(db, keys=lookup) if lookup else []
        except NotFound:
            return
        revs = {r["id"]: r["value"]["rev"] for r in rows if "value" in r and not r["value"].get("deleted")}
        copies = []
        for doc in number_docs:
            if doc["_id"] in resumed and doc["_id"] in revs:
                continue
            copy = {k: v for k, v in doc.items() if k != "_rev"}
            if doc["_id"] in revs:
                copy["_rev"] = revs[doc["_id"]]
            copies.append(copy)
        if not copies:
            return
        try:
            answers = await self.writes.bulk_save(db, copies)
        except NotFound:
            return  # the account database does not exist: Kazoo skips the copy too
        for copy, answer in zip(copies, answers):
            if answer.get("error") == "conflict":  # someone updated the copy meanwhile: retry once
                await self._save_copy_again(db, copy)

    async def _save_copy_again(self, db: str, copy: dict) -> None:
        """One more try on the stored revision (a conflict or a vanished copy is logged)."""

        async def read() -> dict | None:
            try:
                return await self.couch.get_doc(db, copy["_id"])
            except NotFound:
                return None

        def on_stored(stored: dict | None) -> dict | None:
            return None if stored is None else {**copy, "_rev": stored["_rev"]}

        async def write(doc: dict) -> dict:
            return await self.writes.save(db, doc)

        try:
            saved = await retry.read_modify_write(read, on_stored, write, what=copy["_id"], tries=1)
        except (NotFound, Conflict):  # lost the race again, or the database went away
            saved = None
        if saved is None:
            log.warning("number_copy_failed", number=copy["_id"], db=db)

    async def unassign_from_prev(self, number_docs: list[dict], *, parallel: int = 16) -> None:
        """knm_phone_number:unassign_from_prev: a number that moved to another account leaves the
        previous account's database (hard delete, `doc_deleted` published; a missing database or
        copy is nothing to do). Run again for numbers a crashed run wrote: deleting is idempotent."""
        moved = [
            d
            for d in number_docs
            if names.is_account_id(d.get("pvt_previously_assigned_to") or "")
            and d["pvt_previously_assigned_to"] != d.get("pvt_assigned_to")
        ]
        for start in range(0, len(moved), parallel):
            await asyncio.gather(
                *(
                    self.writes.delete_by_id(
                        names.account_db(d["pvt_previously_assigned_to"]), d["_id"], only_if=_is_number
                    )
                    for d in moved[start : start + parallel]
                )
            )


def _is_number(stored: dict) -> bool:
    return stored.get("pvt_type") == "number"
