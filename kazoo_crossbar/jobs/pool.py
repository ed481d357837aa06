"""The worker pool: at most `concurrency` jobs run at once on this node, a job id never twice
at the same time, a freed slot goes to the waiting account with the fewest running jobs and a
job passes its turn between batches to such an account (fair.py: one account's import of many
jobs does not hold another account's job back), and a run survives
CouchDB outages (the job is ours: we claimed it)."""

from __future__ import annotations

import asyncio

import structlog

from ..metrics import Metrics
from ..storage import retry
from ..storage.couch import CouchError, Unreachable
from .fair import FairSlots, bind
from .runner import JobRunner, Outcome

log = structlog.get_logger(__name__)
OUTAGE_BACKOFF = retry.Backoff(0.5, 2, 10.0)
OTHER_ERROR_RETRIES = 3  # CouchDB errors other than "unreachable" before the recovery loop takes over


class WorkerPool:
    def __init__(self, runner: JobRunner, concurrency: int = 2, metrics: Metrics | None = None):
        self.runner = runner
        self.metrics = metrics or runner.metrics
        self.concurrency = concurrency
        self._slots = FairSlots(concurrency)
        self._tasks: set[asyncio.Task] = set()
        self._active: set[str] = set()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def submit(self, account_id: str, job_id: str, *, claimed: bool = False) -> asyncio.Task[Outcome]:
        """Run a job in the pool; `claimed` when this node already took it over (recovery).
        The task ends when the job has run (or was skipped) with its outcome."""
        task = asyncio.create_task(self._bounded(account_id, job_id, claimed), name=f"job-{job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _bounded(self, account_id: str, job_id: str, claimed: bool) -> Outcome:
        async with self._slots.slot(account_id) as slot:
            bind(slot)  # the runner passes its turn between batches (fair.py)
            if job_id in self._active:
                return Outcome.SKIPPED
            self._active.add(job_id)
            try:
                outcome = await self._run_through_outages(account_id, job_id, claimed)
            except Exception:
                log.exception("job_failed", job_id=job_id, account_id=account_id)
                outcome = Outcome.FAILED
            finally:
                self._active.discard(job_id)
            if outcome in (Outcome.COMPLETE, Outcome.LOST, Outcome.FAILED):
                self.metrics.jobs.labels(status=outcome).inc()
            return outcome

    async def _run_through_outages(self, account_id: str, job_id: str, claimed: bool) -> Outcome:
        """Run a job; while CouchDB is unreachable, wait and resume it (it is ours: we claimed it).
        Other CouchDB errors get a few more tries; after that the recovery loop has it."""
        other_errors = 0

        def worth_another_try(exc: Exception) -> bool:
            nonlocal other_errors
            if isinstance(exc, Unreachable):
                return True
            if isinstance(exc, CouchError):
                other_errors += 1
                return other_errors <= OTHER_ERROR_RETRIES
            return False

        def before_retry(exc: Exception | None, delay: float) -> None:
            nonlocal claimed
            if isinstance(exc, Unreachable):
                log.warning("job_waiting_for_couchdb", job_id=job_id, error=exc.reason, retry_in_s=delay)
            else:
                log.warning("job_retrying", job_id=job_id, error=str(exc), retry_in_s=delay)
            claimed = True

        return await retry.retrying(
            lambda: self.runner.run(account_id, job_id, claimed=claimed),
            tries=None,
            retry_on=worth_another_try,
            backoff=OUTAGE_BACKOFF,
            on_retry=before_retry,
        )
