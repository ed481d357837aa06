"""Waiting in tests: poll until something holds, bounded, instead of sleeping and hoping.

    doc = await eventually(lambda: couch.get_doc(db, job_id), lambda d: d["pvt_status"] == "complete",
                           what=f"job {job_id} completes", timeout_s=JOB_HANG_GUARD_S)

The bound is a hang guard (a hung test fails instead of the run), never a speed check: a slow,
shared machine only takes longer. The failure names what was awaited and the last value seen
(or the last error, for the exceptions `retry_on` lets through). `eventually_blocking` is the
same for code that is not async (starting a subprocess, a thread)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

_NOTHING = object()


def _failure(what: str, timeout_s: float, last: Any) -> AssertionError:
    seen = "nothing (no attempt finished)" if last is _NOTHING else repr(last)
    if len(seen) > 600:
        seen = seen[:600] + "…"
    return AssertionError(
        f"{what}: still not so after {timeout_s:g} s (a hang guard, not a speed check); last seen: {seen}"
    )


async def eventually(
    probe: Callable[[], Awaitable[T]] | Callable[[], T],
    until: Callable[[T], object] = bool,
    *,
    what: str = "the condition",
    timeout_s: float = 30.0,
    interval_s: float = 0.05,
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """The first value of `probe()` (a function or a coroutine function) for which `until` holds."""
    deadline = time.monotonic() + timeout_s
    last: Any = _NOTHING
    while True:
        try:
            value: Any = probe()
            if inspect.isawaitable(value):
                value = await value
        except retry_on as exc:
            last = exc
        else:
            if until(value):
                return value
            last = value
        if time.monotonic() >= deadline:
            raise _failure(what, timeout_s, last)
        await asyncio.sleep(interval_s)


def eventually_blocking(
    probe: Callable[[], T],
    until: Callable[[T], object] = bool,
    *,
    what: str = "the condition",
    timeout_s: float = 30.0,
    interval_s: float = 0.1,
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """`eventually` for code that is not async: the same bound, the same failure."""
    deadline = time.monotonic() + timeout_s
    last: Any = _NOTHING
    while True:
        try:
            value = probe()
        except retry_on as exc:
            last = exc
        else:
            if until(value):
                return value
            last = value
        if time.monotonic() >= deadline:
            raise _failure(what, timeout_s, last)
        time.sleep(interval_s)
