"""Keeps an account database's listing views current while a job writes into it.

A 10,000-number job adds 10,000 number copies to the account database; the first listing after
that waited for the resources view to index all of them (seconds on the embedded server, a
503 `datastore timeout` after bigger imports). After each batch the runner calls `touched`, which
refreshes the listing views in the background, one refresh per database at a time (a batch that
lands while one is running is covered by the next), so the job never waits for an index, and a
listing meets at most about one batch of catch-up. One warmer serves every job of the runner.
"""

from __future__ import annotations

import asyncio

import structlog

from ..storage import views
from ..storage.couch import CouchClient, CouchError

log = structlog.get_logger(__name__)


class ViewWarmer:
    def __init__(self, couch: CouchClient, wanted: tuple[tuple[str, str], ...] = views.ACCOUNT_LISTING_VIEWS):
        self.couch, self.wanted = couch, wanted
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()

    def touched(self, db: str) -> None:
        """db received documents: refresh its views now, or right after the refresh in progress."""
        task = self._running.get(db)
        if task is not None and not task.done():
            self._again.add(db)
            return
        self._running[db] = asyncio.create_task(self._refresh(db))

    async def _refresh(self, db: str) -> None:
        while True:
            self._again.discard(db)
            for design, view in self.wanted:
                try:
                    await views.refresh(self.couch, db, design, view)
                except CouchError as exc:
                    # only a warm-up: the listing itself will update the index if this failed
                    log.info("view_refresh_failed", db=db, design=design, view=view, error=str(exc))
                    return
            if db not in self._again:
                return

    async def settle(self, db: str) -> None:
        """Wait for db's refresh in progress (end of a job: no task outlives the run)."""
        task = self._running.get(db)
        while task is not None and not task.done():
            await asyncio.gather(task, return_exceptions=True)
            task = self._running.get(db)
        self._running.pop(db, None)
