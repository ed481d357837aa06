"""The recovery pass at start-up (jobs/recovery.py): this node's own `running` jobs are resumed
whatever their age; other nodes' jobs still wait for `job_recovery_threshold_s`, and later
passes treat this node's jobs as any other."""

from __future__ import annotations

from datetime import UTC, datetime

from kazoo_crossbar.jobs.recovery import Recovery, is_own_running
from kazoo_crossbar.storage import names

ACCOUNT = "0123456789abcdef0123456789abcdef"
HOUR = 3600


class FakeCouch:
    """One account's current MODB holding `jobs`, answered as `status_listing` would."""

    def __init__(self, jobs: list[dict]):
        now = datetime.now(UTC)
        self.db = names.modb(ACCOUNT, now.year, now.month)
        self.jobs = jobs

    async def all_dbs(self, **_: object) -> list[str]:
        return [self.db]

    async def view(self, db: str, design: str, view: str, *, keys: list, **_: object) -> dict:
        rows = [{"key": j["pvt_status"], "doc": j} for j in self.jobs if j["pvt_status"] in keys]
        return {"rows": rows}

    async def get_doc(self, db: str, doc_id: str) -> dict:
        return next(j for j in self.jobs if j["_id"] == doc_id)


class Config:
    async def setting_int(self, category: str, key: str) -> int:
        return HOUR

    def forget(self, category: str | None = None) -> None:
        return None


class Jobs:
    node = "here@test"

    def __init__(self) -> None:
        self.recovered: list[str] = []

    async def recover(self, account_id: str, db: str, doc: dict) -> bool:
        self.recovered.append(doc["_id"])
        return True


def job(job_id: str, status: str, node: str | None, age_s: int) -> dict:
    doc = {"_id": job_id, "pvt_status": status, "pvt_modified": names.gregorian_now() - age_s}
    if node:
        doc["pvt_node"] = node
    return doc


JOBS = [
    job("own-fresh", "running", "here@test", 5),
    job("other-fresh", "running", "there@test", 5),
    job("pending-fresh", "pending", None, 5),
    job("other-stale", "running", "there@test", 2 * HOUR),
]


async def test_the_start_pass_resumes_this_nodes_running_jobs_at_once():
    jobs = Jobs()
    recovery = Recovery(FakeCouch(JOBS), Config(), jobs)  # type: ignore[arg-type]
    assert await recovery.run_pass(own_jobs=True) == 2
    assert jobs.recovered == ["own-fresh", "other-stale"]


async def test_later_passes_wait_for_the_threshold_for_every_job():
    jobs = Jobs()
    recovery = Recovery(FakeCouch(JOBS), Config(), jobs)  # type: ignore[arg-type]
    assert await recovery.run_pass() == 1
    assert jobs.recovered == ["other-stale"]


def test_own_means_running_under_this_nodes_name():
    assert is_own_running(JOBS[0], "here@test")
    assert not is_own_running(JOBS[1], "here@test")
    assert not is_own_running({**JOBS[0], "pvt_status": "complete"}, "here@test")
