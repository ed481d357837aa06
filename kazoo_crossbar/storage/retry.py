"""The one way this service tries something again.

`retrying` runs an attempt until it succeeds, its error is not one to retry, or the tries are
used up; between tries it waits as a `Backoff` says. Every loop that tries again goes through
it (the CouchDB client's stale connection, the AMQP connect loop, the worker pool's run
through outages, the signing key another node is creating, the jobs CLI's API calls, a number
copy that lost a race), and so does `read_modify_write`: read, change, write; a conflict
(someone saved in between) starts over with a fresh read, a bounded number of times.

Written here rather than taken from tenacity: the callers need exactly three knobs (which
errors, which results, how long to wait) and a sleep the unit tests can replace.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from .errors import Conflict

T = TypeVar("T")
RETRIES = 5


@dataclass(frozen=True)
class Backoff:
    """The wait before try n+1: `first_s` × `factor`^(n-1), never more than `max_s`."""

    first_s: float = 0.0
    factor: float = 2.0
    max_s: float = math.inf

    def delay(self, failed_tries: int) -> float:
        return min(self.first_s * self.factor ** (failed_tries - 1), self.max_s)


NO_WAIT = Backoff(0.0)

ErrorTest = Callable[[Exception], bool]
OnRetry = Callable[[Exception | None, float], None]


async def retrying(
    attempt: Callable[[], Awaitable[T]],
    *,
    tries: int | None,
    retry_on: ErrorTest | tuple[type[Exception], ...] = (),
    retry_result: Callable[[T], bool] | None = None,
    backoff: Backoff = NO_WAIT,
    on_retry: OnRetry | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """`await attempt()` up to `tries` times (None: no limit).

    An exception is tried again when `retry_on` says so (a tuple of classes, or a test that may
    keep its own count), otherwise it is raised; on the last try it is raised as it is. A result
    for which `retry_result` is true is tried again, and returned as it is from the last try.
    Cancellation is never retried (it is not an `Exception`). `on_retry(error or None, delay_s)`
    is called before each wait (None when a result asked for the retry); a zero delay does not
    sleep at all."""
    wants = retry_on if callable(retry_on) else _is_instance(retry_on)
    failed = 0
    while True:
        last = tries is not None and failed + 1 >= tries
        error: Exception | None = None
        try:
            result = await attempt()
        except Exception as exc:
            if last or not wants(exc):
                raise
            error = exc
        else:
            if last or retry_result is None or not retry_result(result):
                return result
        failed += 1
        delay = backoff.delay(failed)
        if on_retry is not None:
            on_retry(error, delay)
        if delay > 0:
            await sleep(delay)


def _is_instance(classes: tuple[type[Exception], ...]) -> ErrorTest:
    return lambda exc: isinstance(exc, classes)


async def read_modify_write(
    read: Callable[[], Awaitable[dict | None]],
    change: Callable[[dict | None], dict | None],
    write: Callable[[dict], Awaitable[dict]],
    *,
    what: str = "document",
    tries: int = RETRIES,
) -> dict | None:
    """`change(stored or None)` returns the document to write, or None to leave the stored one
    (which is then returned). Raises Conflict when every try lost the race."""

    async def attempt() -> dict | None:
        stored = await read()
        wanted = change(stored)
        if wanted is None:
            return stored
        return await write(wanted)

    try:
        return await retrying(attempt, tries=tries, retry_on=(Conflict,))
    except Conflict:
        raise Conflict(409, "conflict", f"{what} kept changing") from None
