"""The worker pool: at most `concurrency` jobs run at once on this node, a job id never twice
at the same time, a freed slot goes to the waiting account with the fewest running jobs and a
job passes its turn between batches to such an account (fair.py: one account's import of many
jobs does not hold another account's job back), and a run survives
CouchDB outages (the job is ours: we claimed it).

On a CouchDB cluster a write answered `500 nodedown` (or a timeout) may or may not have been
stored, and a read during the outage may answer 404 for a job that exists. So every try after a
failed one starts from the job as stored, read again: still `pending` → claimed (the revision
check keeps it exactly-once), `running` under this node's name → ours, resumed; `complete` or
another node's → left alone. A try after a failure that finds the job missing, or loses the
claim, is tried again (`rerun_after_failure`): it may have met our own half-stored write or a
copy that has not caught up; giving up there left the job `pending` with nobody working on it."""

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
OTHER_ERROR_RETRIES = 3  # CouchDB's refusals (4xx) before the recovery loop takes over
# Tries after a failure that found the job missing or lost the claim: ~5 min of OUTAGE_BACKOFF,
# long enough for a cluster node's restart; then the recovery loop has the job.
UNSETTLED_RETRIES = 30


def is_outage(exc: Exception) -> bool:
    """CouchDB unreachable, or a cluster that cannot make progress now (`500 nodedown`,
    `500 timeout`, 503): the job waits for it, without limit."""
    return isinstance(exc, Unreachable) or (isinstance(exc, CouchError) and exc.status >= 500)


def rerun_after_failure(outcome: Outcome, failed_tries: int) -> bool:
    """Whether a run's outcome after `failed_tries` failed tries calls for another try: a job
    we were handed is `missing` only because a read met a copy that lacks it, and a claim or
    checkpoint `lost` after a failure may have lost to our own write that was stored although
    its answer was an error; the next try reads the job again and decides (runner.run)."""
    return failed_tries > 0 and outcome in (Outcome.MISSING, Outcome.LOST)


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
        await self.runner.close()

    def is_running(self, job_id: str) -> bool:
        return job_id in self._active

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
        """Run a job; while CouchDB is away, wait and resume it (it is ours: we claimed it).
        CouchDB's refusals get a few more tries; after that the recovery loop has it."""
        refusals = 0
        failed = 0

        def worth_another_try(exc: Exception) -> bool:
            nonlocal refusals
            if is_outage(exc):
                return True
            if isinstance(exc, CouchError):
                refusals += 1
                return refusals <= OTHER_ERROR_RETRIES
            return False

        def unsettled(outcome: Outcome) -> bool:
            return rerun_after_failure(outcome, failed) and failed <= UNSETTLED_RETRIES

        def before_retry(exc: Exception | None, delay: float) -> None:
            nonlocal claimed, failed
            failed += 1
            if exc is None:
                log.warning("job_rechecking", job_id=job_id, retry_in_s=delay)
            elif isinstance(exc, Unreachable):
                log.warning("job_waiting_for_couchdb", job_id=job_id, error=exc.reason, retry_in_s=delay)
            else:
                log.warning("job_retrying", job_id=job_id, error=str(exc), retry_in_s=delay)
            # From now on the job as stored decides: pending → claim it, running here → resume it.
            claimed = True

        outcome = await retry.retrying(
            lambda: self.runner.run(account_id, job_id, claimed=claimed),
            tries=None,
            retry_on=worth_another_try,
            retry_result=unsettled,
            backoff=OUTAGE_BACKOFF,
            on_retry=before_retry,
        )
        if failed and outcome in (Outcome.MISSING, Outcome.LOST):
            log.warning("job_left_to_recovery", job_id=job_id, outcome=outcome, tries=failed + 1)
        return outcome
