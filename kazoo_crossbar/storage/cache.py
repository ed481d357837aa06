"""A small TTL cache: Kazoo reads accounts, keys and config through its cache too.

`get_or_load` is single-flight: concurrent misses for one key share one load (one CouchDB read
for a burst of requests naming the same account, config category or token). A `drop` or
`clear` while a load is in flight detaches it: its result still answers the callers that were
waiting for it, but is not cached, and later callers start a fresh load (so a read that began
before a write never refills the cache after the write dropped the entry)."""
from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable, Generic, Hashable, TypeVar

V = TypeVar("V")


class TTLCache(Generic[V]):
    def __init__(self, ttl_s: float, max_entries: int = 10_000):
        self.ttl_s, self.max_entries = ttl_s, max_entries
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
        hit = self.get(key)
        if hit is not None:
            return hit
        pending = self._loading.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._load(key, load))
            pending.add_done_callback(_consume)
            self._loading[key] = pending
        return await asyncio.shield(pending)

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
