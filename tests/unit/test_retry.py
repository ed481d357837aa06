"""storage/retry.py: the one retry helper (pure: the sleeps are recorded, never slept)."""

from __future__ import annotations

import asyncio
import math

import pytest

from kazoo_crossbar.storage import retry
from kazoo_crossbar.storage.errors import Conflict, CouchError, Unreachable


class Script:
    """An attempt that plays a script of outcomes (an exception is raised, anything else returned)."""

    def __init__(self, *outcomes: object):
        self.outcomes, self.calls = list(outcomes), 0

    async def __call__(self) -> object:
        self.calls += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


class Sleeps(list):
    async def __call__(self, delay: float) -> None:
        self.append(delay)


def test_backoff_doubles_up_to_its_cap():
    backoff = retry.Backoff(0.5, 2, 10.0)
    assert [backoff.delay(n) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 10, 10]
    assert [retry.Backoff(0.1, factor=1).delay(n) for n in (1, 5, 20)] == [0.1, 0.1, 0.1]
    assert retry.NO_WAIT.delay(3) == 0 and retry.Backoff(1).max_s == math.inf


async def test_a_listed_error_is_tried_again_with_the_backoff_between():
    attempt, sleeps = Script(Unreachable(0, "x"), Unreachable(0, "x"), "done"), Sleeps()
    seen: list[tuple[object, float]] = []
    result = await retry.retrying(
        attempt,
        tries=None,
        retry_on=(Unreachable,),
        backoff=retry.Backoff(0.5, 2, 1.0),
        on_retry=lambda exc, delay: seen.append((type(exc), delay)),
        sleep=sleeps,
    )
    assert result == "done" and attempt.calls == 3
    assert sleeps == [0.5, 1.0] and seen == [(Unreachable, 0.5), (Unreachable, 1.0)]


async def test_an_error_not_listed_is_raised_at_once():
    attempt, sleeps = Script(Conflict(409, "conflict"), "never"), Sleeps()
    with pytest.raises(Conflict):
        await retry.retrying(attempt, tries=5, retry_on=(Unreachable,), sleep=sleeps)
    assert attempt.calls == 1 and sleeps == []


async def test_the_last_try_raises_its_own_error():
    attempt, sleeps = Script(Unreachable(0, "a"), Unreachable(0, "b"), Unreachable(0, "c")), Sleeps()
    with pytest.raises(Unreachable, match="c"):
        await retry.retrying(attempt, tries=3, retry_on=(Unreachable,), backoff=retry.Backoff(1), sleep=sleeps)
    assert attempt.calls == 3 and sleeps == [1, 2]  # no wait after the last try


async def test_a_test_function_decides_and_may_keep_a_budget():
    budget = {"left": 1}

    def wants(exc: Exception) -> bool:
        if isinstance(exc, Unreachable):
            return True
        budget["left"] -= 1
        return budget["left"] >= 0

    attempt = Script(Unreachable(0, "x"), CouchError(500, "nodedown"), Unreachable(0, "x"), CouchError(500, "again"))
    with pytest.raises(CouchError, match="again"):
        await retry.retrying(attempt, tries=None, retry_on=wants, sleep=Sleeps())
    assert attempt.calls == 4


async def test_a_result_may_ask_for_another_try_and_the_last_one_is_returned():
    attempt, sleeps = Script(None, None, None), Sleeps()
    result = await retry.retrying(
        attempt, tries=3, retry_result=lambda r: r is None, backoff=retry.Backoff(0.1, factor=1), sleep=sleeps
    )
    assert result is None and attempt.calls == 3 and sleeps == [0.1, 0.1]
    seen: list[object] = []
    attempt = Script(503, 200)
    result = await retry.retrying(
        attempt, tries=5, retry_result=lambda r: r == 503, on_retry=lambda e, d: seen.append(e), sleep=Sleeps()
    )
    assert result == 200 and seen == [None]  # a result asked for it: no error to report


async def test_no_wait_never_sleeps():
    attempt, sleeps = Script(Conflict(409, "c"), "ok"), Sleeps()
    assert await retry.retrying(attempt, tries=2, retry_on=(Conflict,), sleep=sleeps) == "ok"
    assert sleeps == []


async def test_cancellation_is_never_retried():
    attempt = Script(asyncio.CancelledError(), "never")
    with pytest.raises(asyncio.CancelledError):
        await retry.retrying(attempt, tries=None, retry_on=lambda exc: True, sleep=Sleeps())
    assert attempt.calls == 1


async def test_tries_of_one_is_one_try():
    attempt = Script(Unreachable(0, "x"))
    with pytest.raises(Unreachable):
        await retry.retrying(attempt, tries=1, retry_on=(Unreachable,), sleep=Sleeps())
    assert attempt.calls == 1


async def test_read_modify_write_starts_over_on_a_conflict_then_gives_up():
    reads: list[int] = []

    async def read() -> dict:
        reads.append(1)
        return {"_id": "d", "n": len(reads)}

    async def write_conflicting(doc: dict) -> dict:
        raise Conflict(409, "conflict")

    with pytest.raises(Conflict, match="d kept changing"):
        await retry.read_modify_write(read, lambda s: s, write_conflicting, what="d")
    assert len(reads) == retry.RETRIES

    written: list[dict] = []

    async def write_second_time(doc: dict) -> dict:
        written.append(doc)
        if len(written) == 1:
            raise Conflict(409, "conflict")
        return doc

    reads.clear()
    assert await retry.read_modify_write(read, lambda s: s, write_second_time) == {"_id": "d", "n": 2}
    reads.clear()
    assert await retry.read_modify_write(read, lambda s: None, write_second_time) == {"_id": "d", "n": 1}
