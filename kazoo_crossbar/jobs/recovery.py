"""The recovery loop: finds jobs whose executor died and resumes them.

Every `job_recovery_timeout_s` (system_config `crossbar.resources`, Kazoo's cb_jobs_listener
key; `job_recover_timeout_s`, the name Kazoo's resources API documentation gives it, is read
after it), and once at start-up, scan every account's current and previous month databases through
`resources/status_listing` for `pending` and `running` jobs not modified for
`job_recovery_threshold_s` (or `job_recover_threshold_s`). Each is claimed
through the revision check (`pvt_recovering: true`, fresh `pvt_modified`),
so two nodes never resume one job, then run here (both by the job service,
service.py). A job claimed `job_recovery_max_attempts` times already is marked failed
instead (failure.py): it would fail the same way on every pass. Settings are re-read on
every pass.

The pass at start-up also takes, whatever their age, the `running` jobs claimed under this
node's own name (`pvt_node`, written by every claim and checkpoint): their executor was this
node before a restart or crash, so nobody runs them now, and an operator's restart must not
stall imports for `job_recovery_threshold_s`. The same scan, so it costs nothing more; until it
has gone through once, a failed pass is tried again after START_RETRY_S, not the timeout.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog

from ..metrics import Metrics
from ..storage import names, views
from ..storage.couch import CouchClient, CouchError, NotFound
from ..storage.system_config import SystemConfig

log = structlog.get_logger(__name__)
CATEGORY = "crossbar.resources"


START_RETRY_S = 5.0


class Recoverer(Protocol):
    """What recovery needs of the job service."""

    node: str

    async def recover(self, account_id: str, db: str, doc: dict) -> bool: ...

    async def give_up(self, db: str, doc: dict, reason: dict) -> bool: ...


def recent_months(now: datetime) -> list[tuple[int, int]]:
    previous = now.replace(day=1) - timedelta(days=1)
    return [(now.year, now.month), (previous.year, previous.month)]


async def month_dbs(couch: CouchClient, now: datetime) -> list[str]:
    """Existing MODBs of every account for the current and previous month."""
    suffixes = tuple(f"-{y:04d}{m:02d}" for y, m in recent_months(now))
    dbs = await couch.all_dbs(startkey="account/", endkey="account/\ufff0")
    return [db for db in dbs if db.endswith(suffixes) and names.account_id(db)]


class Recovery:
    def __init__(self, couch: CouchClient, config: SystemConfig, jobs: Recoverer, metrics: Metrics | None = None):
        self.couch, self.config, self.jobs = couch, config, jobs
        self.metrics = metrics or Metrics()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="job-recovery")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        own_jobs = True  # until a pass went through: this node's own jobs from before its start
        while True:
            try:
                await self.run_pass(own_jobs=own_jobs)
                own_jobs = False
            except CouchError as exc:
                log.warning("recovery_pass_failed", error=str(exc))
            except Exception:
                log.exception("recovery_pass_crashed")
            self.config.forget(CATEGORY)
            await asyncio.sleep(
                START_RETRY_S if own_jobs else await self.config.setting_int(CATEGORY, "job_recovery_timeout_s")
            )

    async def run_pass(self, *, own_jobs: bool = False) -> int:
        """One scan; returns how many jobs were claimed for resuming. `own_jobs`: also this
        node's `running` jobs however fresh (the pass at start-up)."""
        threshold = await self.config.setting_int(CATEGORY, "job_recovery_threshold_s")
        now = names.gregorian_now()
        claimed = 0
        for db in await month_dbs(self.couch, datetime.now(UTC)):
            try:
                rows = (
                    await views.query(
                        self.couch, db, "resources", "status_listing", keys=["pending", "running"], include_docs=True
                    )
                )["rows"]
            except NotFound:
                continue
            for row in rows:
                doc = row.get("doc")
                if not doc:
                    continue
                own = own_jobs and is_own_running(doc, self.jobs.node)
                if not own and now - int(doc.get("pvt_modified", 0)) <= threshold:
                    continue
                if await self._gave_up(db, doc):
                    continue
                if await self._claim(db, doc, own):
                    claimed += 1
                    self.metrics.recovered_jobs.inc()
                    log.info(
                        "job_resumed_at_start" if own else "job_recovered", job_id=doc["_id"], db=db, was=row["key"]
                    )
        self.metrics.recovery_passes.inc()
        return claimed

    async def _gave_up(self, db: str, doc: dict) -> bool:
        """A job recovery claimed `job_recovery_max_attempts` times in a row without a run ever
        starting it (each failed the same way before saving the job) is marked failed, with why,
        instead of being claimed on every pass forever; otherwise this attempt is counted on the
        job (`pvt_recovery_attempts`, with the revision generation of the claim,
        `pvt_recovery_generation`, saved by the claim), the count starting again whenever the job
        was saved after the last claim (a run started it; with a threshold shorter than a batch,
        recovery also claims live jobs, which must not count)."""
        limit = await self.config.setting_int(CATEGORY, "job_recovery_max_attempts")
        attempts = doc.get("pvt_recovery_attempts")
        attempts = attempts if isinstance(attempts, int) and attempts >= 0 else 0
        generation, claimed = int(str(doc.get("_rev", "0")).split("-", 1)[0]), doc.get("pvt_recovery_generation")
        if isinstance(claimed, int) and generation > claimed:
            attempts = 0  # the run resumed last time started (it saved the job): not stuck before it
        if attempts < limit:
            doc["pvt_recovery_attempts"] = attempts + 1
            doc["pvt_recovery_generation"] = generation + 1  # the revision our claim will make
            return False
        reason = {
            "error": "recovery_attempts_exhausted",
            "message": f"the recovery loop resumed the job {attempts} times and it never finished",
            "cause": doc.get("pvt_status"),
        }
        was = doc.get("pvt_status")
        if await self.jobs.give_up(db, doc, reason):
            log.warning("job_recovery_gave_up", job_id=doc["_id"], db=db, attempts=attempts, was=was)
        return True

    async def _claim(self, db: str, doc: dict, own: bool) -> bool:
        account_id = names.account_id(db) or ""
        if await self.jobs.recover(account_id, db, doc):
            return True
        if not own:
            return False  # another node was quicker
        # A cluster's view may come from a copy a revision behind: our own job, read again.
        try:
            fresh = await self.couch.get_doc(db, doc["_id"])
        except NotFound:
            return False
        return is_own_running(fresh, self.jobs.node) and await self.jobs.recover(account_id, db, fresh)


def is_own_running(doc: dict, node: str) -> bool:
    """A job this node was running when it stopped (a claim writes `pvt_node`)."""
    return doc.get("pvt_status") == "running" and doc.get("pvt_node") == node
