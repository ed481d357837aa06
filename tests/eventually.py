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


async def _poll(
    attempt: Callable[[], Awaitable[Any]],
    pause: Callable[[float], Awaitable[None]],
    until: Callable[[Any], object],
    *,
    what: str = "the condition",
    timeout_s: float = 30.0,
    interval_s: float = 0.05,
    retry_on: tuple[type[BaseException], ...] = (),
) -> Any:
    deadline = time.monotonic() + timeout_s
    last: Any = _NOTHING
    while True:
        try:
            value = await attempt()
        except retry_on as exc:
            last = exc
        else:
            if until(value):
                return value
            last = value
        if time.monotonic() >= deadline:
            raise _failure(what, timeout_s, last)
        await pause(interval_s)


async def eventually(
    probe: Callable[[], Awaitable[T]] | Callable[[], T], until: Callable[[T], object] = bool, **options: Any
) -> T:
    """The first value of `probe()` (a function or a coroutine function) for which `until` holds.
    Options: `what` (named in the failure), `timeout_s` (30), `interval_s` (0.05), `retry_on`."""

    async def attempt() -> Any:
        value = probe()
        return await value if inspect.isawaitable(value) else value

    return await _poll(attempt, asyncio.sleep, until, **options)


def eventually_blocking(probe: Callable[[], T], until: Callable[[T], object] = bool, **options: Any) -> T:
    """`eventually` for code that is not async, with the same options: the same loop, driven here
    without an event loop (nothing in it suspends: the probe is called directly, the pauses are
    time.sleep)."""

    async def attempt() -> Any:
        return probe()

    async def pause(seconds: float) -> None:
        time.sleep(seconds)  # noqa: ASYNC251 - no event loop runs this coroutine: it is driven below

    loop = _poll(attempt, pause, until, **options)
    try:
        loop.send(None)
    except StopIteration as done:
        return done.value
    loop.close()
    raise AssertionError("eventually_blocking: the polling loop suspended")  # nothing in it can
