"""The job's view warmer: one refresh per database at a time, batches that land meanwhile
covered by one more refresh, failures swallowed, nothing left running after `settle`."""

from __future__ import annotations

import asyncio

from kazoo_crossbar.jobs.view_warmer import ViewWarmer
from kazoo_crossbar.storage.couch import CouchError

DB = "account%2Faa%2Fbb%2Fcccc"


class CountingCouch:
    """Answers view queries after a gate opens and counts them (what a unit test of the
    scheduling needs; the real queries are covered by the integration suites)."""

    def __init__(self, fail: bool = False):
        self.calls: list[tuple[str, str, str, dict]] = []
        self.gate = asyncio.Event()
        self.fail = fail

    async def view(self, db: str, design: str, view: str, **params):
        self.calls.append((db, design, view, params))
        await self.gate.wait()
        if self.fail:
            raise CouchError(503, "timeout", "slow", db)
        return {"rows": []}


async def test_batches_landing_during_a_refresh_cost_one_more_refresh():
    couch = CountingCouch()
    warmer = ViewWarmer(couch)  # type: ignore[arg-type]
    warmer.touched(DB)
    await asyncio.sleep(0)
    for _ in range(5):  # five batches land while the first refresh runs
        warmer.touched(DB)
    couch.gate.set()
    await warmer.settle(DB)
    assert couch.calls == [(DB, "resources", "crossbar_listing", {"limit": 0})] * 2
    assert not warmer._running


async def test_databases_are_refreshed_independently():
    couch = CountingCouch()
    warmer = ViewWarmer(couch)  # type: ignore[arg-type]
    warmer.touched(DB)
    warmer.touched("account%2Fdd%2Fee%2Fffff")
    await asyncio.sleep(0)
    assert {c[0] for c in couch.calls} == {DB, "account%2Fdd%2Fee%2Fffff"}
    couch.gate.set()
    await warmer.settle(DB)
    await warmer.settle("account%2Fdd%2Fee%2Fffff")


async def test_a_failed_refresh_is_only_logged():
    couch = CountingCouch(fail=True)
    warmer = ViewWarmer(couch)  # type: ignore[arg-type]
    warmer.touched(DB)
    couch.gate.set()
    await warmer.settle(DB)  # does not raise
    assert len(couch.calls) == 1
    warmer.touched(DB)  # and the next batch tries again
    await warmer.settle(DB)
    assert len(couch.calls) == 2


async def test_settle_without_a_refresh_starts_none_and_waits_for_none():
    couch = CountingCouch()  # its gate stays shut: a settle that waited for a query would hang
    warmer = ViewWarmer(couch)  # type: ignore[arg-type]
    other = "account%2Fdd%2Fee%2Fffff"
    warmer.touched(other)  # another database's refresh, in flight
    await asyncio.wait_for(warmer.settle(DB), timeout=30)  # a hang guard, not a speed check
    assert [call[0] for call in couch.calls] == [other]  # settle itself queried nothing
    assert set(warmer._running) == {other} and not warmer._running[other].done()
    couch.gate.set()
    await warmer.settle(other)
    assert warmer._running == {}


async def test_close_cancels_the_refreshes_in_progress():
    couch = CountingCouch()  # the gate never opens: the refresh would wait for ever
    warmer = ViewWarmer(couch)  # type: ignore[arg-type]
    warmer.touched(DB)
    warmer.touched("account%2Fdd%2Fee%2Fffff")
    await asyncio.sleep(0)
    assert len(couch.calls) == 2
    tasks = list(warmer._running.values())
    await warmer.close()
    assert not warmer._running and all(t.cancelled() for t in tasks)
