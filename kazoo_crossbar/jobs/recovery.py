"""The recovery loop: finds jobs whose executor died and resumes them.

Every `job_recover_timeout_s` (system_config `crossbar.resources`; Kazoo's
`job_recovery_timeout_s` wins when set), and once at start-up, scan every
account's current and previous month databases through
`resources/status_listing` for `pending` and `running` jobs not modified for
`job_recover_threshold_s` (or `job_recovery_threshold_s`). Each is claimed
through the revision check (`pvt_recovering: true`, fresh `pvt_modified`),
so two nodes never resume one job, then handed to the executor. Settings are
re-read on every pass.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Awaitable, Callable

import structlog

from ..metrics import Metrics
from ..storage import names, views
from ..storage.couch import CouchClient, CouchError, NotFound
from ..storage.system_config import SystemConfig
from . import store

log = structlog.get_logger(__name__)
CATEGORY = "crossbar.resources"

Resume = Callable[[str, str], Awaitable[None]]
Announce = Callable[[str, str, str | None], Awaitable[bool]]


async def setting(config: SystemConfig, seed_key: str, kazoo_key: str, default: int) -> int:
    """The seed's key, unless Kazoo's code name is set (an operator who configured Kazoo)."""
    kazoo_value = await config.get(CATEGORY, kazoo_key)
    if kazoo_value is not None:
        try:
            return int(kazoo_value)
        except (TypeError, ValueError):
            pass
    return await config.get_int(CATEGORY, seed_key, default)


def recent_months(now: datetime) -> list[tuple[int, int]]:
    previous = now.replace(day=1) - timedelta(days=1)
    return [(now.year, now.month), (previous.year, previous.month)]


async def month_dbs(couch: CouchClient, now: datetime) -> list[str]:
    """Existing MODBs of every account for the current and previous month."""
    suffixes = tuple(f"-{y:04d}{m:02d}" for y, m in recent_months(now))
    dbs = await couch.all_dbs(startkey="account/", endkey="account/\ufff0")
    return [db for db in dbs if db.endswith(suffixes) and names.account_id(db)]


class Recovery:
    def __init__(self, couch: CouchClient, config: SystemConfig, node: str, resume: Resume,
                 announce: Announce | None = None, metrics: Metrics | None = None):
        self.couch, self.config, self.node, self.resume = couch, config, node, resume
        self.announce = announce
        self.metrics = metrics or Metrics()
        self._task: asyncio.Task | None = None
        self.passes = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="job-recovery")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_pass()
            except CouchError as exc:
                log.warning("recovery_pass_failed", error=str(exc))
            except Exception:
                log.exception("recovery_pass_crashed")
            self.config.forget(CATEGORY)
            await asyncio.sleep(await setting(self.config, "job_recover_timeout_s", "job_recovery_timeout_s", 21600))

    async def run_pass(self) -> int:
        """One scan; returns how many jobs were claimed for resuming."""
        threshold = await setting(self.config, "job_recover_threshold_s", "job_recovery_threshold_s", 3600)
        now = names.gregorian_now()
        claimed = 0
        for db in await month_dbs(self.couch, datetime.now(timezone.utc)):
            try:
                rows = (await views.query(self.couch, db, "resources", "status_listing",
                                          keys=["pending", "running"], include_docs=True))["rows"]
            except NotFound:
                continue
            for row in rows:
                doc = row.get("doc")
                if not doc or now - int(doc.get("pvt_modified", 0)) <= threshold:
                    continue
                if await store.claim(self.couch, db, doc, self.node, pvt_recovering=True):
                    claimed += 1
                    self.metrics.recovered_jobs.inc()
                    log.info("job_recovered", job_id=doc["_id"], db=db, was=row["key"])
                    account_id = names.account_id(db) or ""
                    # We claimed it, so we resume it; the delegate message tells the cluster
                    # (other nodes see it `running` here and leave it, as cb_jobs_listener does).
                    await self.resume(account_id, doc["_id"])
                    if self.announce:
                        await self.announce(account_id, doc["_id"], doc.get("pvt_request_id"))
        self.passes += 1
        self.metrics.recovery_passes.inc()
        return claimed
