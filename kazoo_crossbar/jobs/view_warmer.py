"""Brings an account database's listing views up to date after a job wrote into it.

A 10,000-number job adds 10,000 number copies to the account database; the first listing after
that waited for the resources view to index all of them (seconds, a 503 `datastore timeout`
after bigger imports). When a job ends the runner calls `touched`, which refreshes the listing
views in the background, one refresh per database at a time (a job that ends while one is
running is covered by one more), so no job waits for an index and a listing meets at most about
one job of catch-up. Not after each batch: on CouchDB 3 indexing the copies while the job wrote
them cost as much CPU as the writes, on the job's clock (bench P2). One warmer serves every job
of the runner; `close` stops it.
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

    async def close(self) -> None:
        """Cancel the refreshes in progress (the service is stopping; the next listing updates
        the index itself)."""
        tasks = [t for t in self._running.values() if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._running.clear()
        self._again.clear()

    async def settle(self, db: str) -> None:
        """Wait until db's refreshes are done, the one that runs and any asked for meanwhile (the
        runner does not wait: its refresh runs after the job; tests use this)."""
        task = self._running.get(db)
        while task is not None and not task.done():
            await asyncio.gather(task, return_exceptions=True)
            task = self._running.get(db)
        self._running.pop(db, None)
