"""A small TTL cache: Kazoo reads accounts, keys and config through its cache too.

`get_or_load` is single-flight: concurrent misses for one key share one load (one CouchDB read
for a burst of requests naming the same account, config category or token). A `drop` or
`clear` while a load is in flight detaches it: its result still answers the callers that were
waiting for it, but is not cached, and later callers start a fresh load (so a read that began
before a write never refills the cache after the write dropped the entry).

`get_or_load` also refreshes ahead: a hit on an entry in the last fifth of its lifetime starts
one background load (single-flight too) and answers from the entry, which is still within its
TTL. A key read all the time is then never a synchronous miss (no request waits for CouchDB on
the account or config read every few seconds, which showed in P5's p95), and nothing is served
older than before: the entry's TTL is unchanged. A failed refresh leaves the entry to expire."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TTLCache(Generic[V]):
    def __init__(self, ttl_s: float, max_entries: int = 10_000, refresh_ahead: float = 0.2):
        self.ttl_s, self.max_entries = ttl_s, max_entries
        self.refresh_s = ttl_s * refresh_ahead  # remaining lifetime under which a hit refreshes
        self._items: dict[Hashable, tuple[float, V]] = {}
        self._loading: dict[Hashable, asyncio.Future[V | None]] = {}

    def get(self, key: Hashable) -> V | None:
        hit = self._items.get(key)
        if hit is None:
            return None
        if hit[0] < time.monotonic():
            self._items.pop(key, None)
            return None
        return hit[1]

    def put(self, key: Hashable, value: V) -> V:
        if len(self._items) >= self.max_entries:
            self._items.clear()  # crude but bounded: a burst of distinct keys cannot grow memory
        self._items[key] = (time.monotonic() + self.ttl_s, value)
        return value

    def drop(self, key: Hashable) -> None:
        self._items.pop(key, None)
        self._loading.pop(key, None)

    def clear(self) -> None:
        self._items.clear()
        self._loading.clear()

    async def get_or_load(self, key: Hashable, load: Callable[[], Awaitable[V | None]]) -> V | None:
        """The cached value, else the result of `load()` (cached unless None), one load per key at a
        time: callers arriving while it runs wait for it. Its exception reaches every waiter.
        A waiter that is cancelled does not cancel the load for the others."""
        item = self._items.get(key)
        if item is not None:
            left = item[0] - time.monotonic()
            if left >= 0:
                if left < self.refresh_s and key not in self._loading:
                    self._start(key, load)  # refresh ahead, in the background
                return item[1]
            self._items.pop(key, None)
        pending = self._loading.get(key) or self._start(key, load)
        return await asyncio.shield(pending)

    def _start(self, key: Hashable, load: Callable[[], Awaitable[V | None]]) -> asyncio.Future[V | None]:
        pending = asyncio.ensure_future(self._load(key, load))
        pending.add_done_callback(_consume)
        self._loading[key] = pending
        return pending

    async def _load(self, key: Hashable, load: Callable[[], Awaitable[V | None]]) -> V | None:
        me = asyncio.current_task()
        try:
            value = await load()
        finally:
            mine = self._loading.get(key) is me
            if mine:
                del self._loading[key]
        if value is not None and mine:  # not dropped meanwhile
            self.put(key, value)
        return value


def _consume(future: asyncio.Future) -> None:
    """Nobody may be left waiting (all cancelled): mark the exception as seen."""
    if not future.cancelled():
        future.exception()
