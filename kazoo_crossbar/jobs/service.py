"""The one owner of the question "who runs this job" (cb_resources jobs + cb_jobs_listener).

- `create`: store a new pending job, then hand it to the cluster through the bus; without a
  broker (or when the publish fails) it runs here.
- `on_delegated`: a delegate message from the bus (ours or another node's) runs the job here;
  the outcome decides whether the message is acknowledged.
- `recover`: the recovery loop found a stale job: claim it for this node (revision check),
  run it here, and tell the cluster.
"""

from __future__ import annotations

import structlog

from ..bus.base import Bus
from ..storage import docs
from ..storage.writes import Writes
from . import failure, store
from .pool import WorkerPool

log = structlog.get_logger(__name__)


class JobService:
    def __init__(self, writes: Writes, bus: Bus, pool: WorkerPool, node: str):
        self.writes, self.bus, self.pool, self.node = writes, bus, pool, node

    async def create(self, account_id: str, data: dict, writer: docs.Writer) -> dict:
        """Save the job and dispatch it; returns the stored job document."""
        _, doc = await store.create(self.writes, account_id, data, writer)
        # Any node may take the job through the bus; without one (or if the publish fails) we run it.
        if not await self.bus.delegate_job(account_id, doc["_id"], writer.request_id):
            self.pool.submit(account_id, doc["_id"])
        return doc

    async def on_delegated(self, account_id: str, job_id: str) -> str:
        # The message is acknowledged once the job has run here: a node dying mid-job leaves
        # it to be redelivered (and to the recovery loop once it is stale).
        return await self.pool.submit(account_id, job_id)

    async def recover(self, account_id: str, db: str, doc: dict) -> bool:
        """Claim a stale job for this node and resume it; False when another node claimed it first,
        or when this node is running it (its checkpoints only came slower than the threshold:
        a claim would make the run lose its own job)."""
        if self.pool.is_running(doc["_id"]) or not await store.claim(
            self.writes, db, doc, self.node, pvt_recovering=True
        ):
            return False
        # We claimed it, so we resume it; the delegate message tells the cluster (other nodes
        # see it `running` here and leave it, as cb_jobs_listener does).
        self.pool.submit(account_id, doc["_id"], claimed=True)
        await self.bus.delegate_job(account_id, doc["_id"], doc.get("pvt_request_id"))
        return True

    async def give_up(self, db: str, doc: dict, reason: dict) -> bool:
        """Mark a job that recovery will resume no more failed (failure.py)."""
        return await failure.mark_failed(self.writes, db, doc, reason)

    async def stop(self) -> None:
        await self.pool.stop()
