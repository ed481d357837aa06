"""The worker pool after a failed try (jobs/pool.py): on a CouchDB cluster a claim answered
`500 nodedown` may have been stored or not, and a read during the outage may answer 404 for a
job that exists. The pool tries again from the job as stored, and never leaves a job it was
handed with nobody working on it."""

from __future__ import annotations

import pytest

from kazoo_crossbar.jobs import pool as pool_mod
from kazoo_crossbar.jobs.pool import WorkerPool, is_outage, rerun_after_failure
from kazoo_crossbar.metrics import Metrics
from kazoo_crossbar.storage import retry
from kazoo_crossbar.storage.couch import Conflict, CouchError, NotFound, Unreachable

NODEDOWN = CouchError(500, "nodedown", "progress not possible")


def test_outages_are_unreachable_and_a_cluster_that_cannot_make_progress():
    assert is_outage(Unreachable(0, "datastore_unreachable", "refused"))
    assert is_outage(NODEDOWN)
    assert is_outage(CouchError(503, "service_unavailable"))
    assert not is_outage(CouchError(400, "bad_request"))
    assert not is_outage(Conflict(409, "conflict"))
    assert not is_outage(NotFound(404, "not_found", "missing"))
    assert not is_outage(ValueError("bug"))


@pytest.mark.parametrize("outcome", ["missing", "lost"])
def test_missing_or_lost_after_a_failure_is_tried_again(outcome):
    assert rerun_after_failure(outcome, 1)
    assert not rerun_after_failure(outcome, 0)  # on a first try they are the answer


@pytest.mark.parametrize("outcome", ["complete", "skipped"])
def test_settled_outcomes_end_the_run(outcome):
    assert not rerun_after_failure(outcome, 3)


class ScriptedRunner:
    """Answers (or raises) one scripted result per run; records the `claimed` flag of each."""

    def __init__(self, *script: object):
        self.script = list(script)
        self.claimed: list[bool] = []
        self.metrics = Metrics()

    async def run(self, account_id: str, job_id: str, *, claimed: bool = False) -> str:
        self.claimed.append(claimed)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        assert isinstance(step, str)
        return step


@pytest.fixture(autouse=True)
def no_waits(monkeypatch):
    monkeypatch.setattr(pool_mod, "OUTAGE_BACKOFF", retry.NO_WAIT)


async def run(runner: ScriptedRunner) -> str:
    return await WorkerPool(runner).submit("acct", "202612-0000000000000000")  # type: ignore[arg-type]


async def test_a_claim_answered_nodedown_then_a_404_read_is_tried_until_it_runs():
    """The issue's job that stayed `pending`: the claim's 500, then the job read as missing."""
    runner = ScriptedRunner(NODEDOWN, "missing", "missing", "complete")
    assert await run(runner) == "complete"
    assert runner.claimed == [False, True, True, True]  # after a failure the job as stored decides


async def test_a_claim_lost_to_our_own_stored_write_is_tried_again():
    runner = ScriptedRunner(NODEDOWN, "lost", "complete")
    assert await run(runner) == "complete"


async def test_a_job_another_node_has_is_left_to_it():
    runner = ScriptedRunner(NODEDOWN, "skipped")
    assert await run(runner) == "skipped"
    assert len(runner.claimed) == 2


async def test_outages_are_waited_out_without_limit():
    runner = ScriptedRunner(*[NODEDOWN] * 20, "complete")
    assert await run(runner) == "complete"


async def test_a_job_missing_on_its_first_read_is_not_waited_for():
    runner = ScriptedRunner("missing")
    assert await run(runner) == "missing"


async def test_refusals_get_a_few_tries_then_recovery_has_the_job():
    runner = ScriptedRunner(*[CouchError(400, "bad_request")] * (pool_mod.OTHER_ERROR_RETRIES + 1))
    assert await run(runner) == "failed"
    assert len(runner.claimed) == pool_mod.OTHER_ERROR_RETRIES + 1


async def test_a_job_that_stays_missing_is_given_up_after_a_bound():
    runner = ScriptedRunner(NODEDOWN, *["missing"] * (pool_mod.UNSETTLED_RETRIES + 5))
    assert await run(runner) == "missing"
    assert len(runner.claimed) == pool_mod.UNSETTLED_RETRIES + 2


class NoWrites:
    async def save(self, db: str, doc: dict, **_: object) -> dict:
        raise AssertionError("a job this node runs is not claimed again")


async def test_recovery_never_claims_a_job_this_node_is_running():
    """Checkpoints slower than the recovery threshold: a claim would make the live run lose it."""
    from kazoo_crossbar.bus.base import NullBus
    from kazoo_crossbar.jobs.service import JobService

    pool = WorkerPool(ScriptedRunner())  # type: ignore[arg-type]
    pool._active.add("202612-0000000000000000")
    service = JobService(NoWrites(), NullBus(), pool, "here@test")  # type: ignore[arg-type]
    doc = {"_id": "202612-0000000000000000", "pvt_status": "running", "pvt_node": "here@test"}
    assert await service.recover("acct", "db", doc) is False
