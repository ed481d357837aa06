"""tests/eventually.py: the value that satisfied is returned; a bound that runs out fails with what
was awaited and the last value (or error) seen; only the errors named are retried."""

from __future__ import annotations

import re

import pytest

from ..eventually import eventually, eventually_blocking


class Counter:
    def __init__(self, fail_first: int = 0):
        self.n, self.fail_first = 0, fail_first

    def __call__(self) -> int:
        self.n += 1
        if self.n <= self.fail_first:
            raise ConnectionError(f"refused {self.n}")
        return self.n

    async def later(self) -> int:
        return self()


async def test_returns_the_first_value_that_holds():
    counter = Counter()
    assert await eventually(counter.later, lambda n: n >= 3, interval_s=0) == 3
    assert eventually_blocking(Counter(), lambda n: n >= 3, interval_s=0) == 3
    assert await eventually(lambda: "ready") == "ready"  # a plain function, truthiness by default


async def test_a_bound_that_runs_out_names_what_and_the_last_value():
    counter = Counter()
    with pytest.raises(AssertionError) as failure:
        await eventually(counter, lambda n: n < 0, what="a negative count", timeout_s=0.05, interval_s=0.01)
    message = str(failure.value)
    last = int(re.search(r"last seen: (\d+)$", message)[1])  # type: ignore[index]
    assert message.startswith("a negative count: still not so after 0.05 s") and last == counter.n >= 2
    with pytest.raises(AssertionError, match=r"^a negative count: .* last seen: \d+$"):
        eventually_blocking(Counter(), lambda n: n < 0, what="a negative count", timeout_s=0.05, interval_s=0.01)


async def test_named_errors_are_retried_and_shown_others_escape():
    assert await eventually(Counter(fail_first=2), retry_on=(ConnectionError,), interval_s=0) == 3
    with pytest.raises(AssertionError, match=r"last seen: ConnectionError\('refused \d+'\)$"):
        await eventually(Counter(fail_first=10**6), retry_on=(OSError,), timeout_s=0.02, interval_s=0.01)
    with pytest.raises(ConnectionError, match="refused 1"):
        await eventually(Counter(fail_first=1), interval_s=0)


async def test_the_last_value_is_shortened():
    with pytest.raises(AssertionError) as failure:
        await eventually(lambda: "x" * 10_000, lambda s: False, timeout_s=0, interval_s=0)
    assert len(str(failure.value)) < 800 and str(failure.value).endswith("…")
