"""A small TTL cache: Kazoo reads accounts, keys and config through its cache too."""
from __future__ import annotations

import time
from typing import Generic, Hashable, TypeVar

V = TypeVar("V")


class TTLCache(Generic[V]):
    def __init__(self, ttl_s: float, max_entries: int = 10_000):
        self.ttl_s, self.max_entries = ttl_s, max_entries
        self._items: dict[Hashable, tuple[float, V]] = {}

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

    def clear(self) -> None:
        self._items.clear()


