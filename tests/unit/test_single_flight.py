"""TTLCache.get_or_load is single-flight: concurrent misses for one key do one load. The account,
system_config and token caches use it (tests/integration/test_single_flight_reads.py counts
CouchDB reads)."""

from __future__ import annotations

import asyncio

import pytest

from kazoo_crossbar.storage.cache import TTLCache
from kazoo_crossbar.storage.couch import Unreachable


class Loader:
    """A load that waits until released, counting its calls."""

    def __init__(self, value="v", error: Exception | None = None):
        self.calls, self.value, self.error = 0, value, error
        self.release = asyncio.Event()

    async def __call__(self):
        self.calls += 1
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return self.value


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_concurrent_misses_share_one_load_and_cache_it():
    cache: TTLCache[str] = TTLCache(60)
    load = Loader("doc")
    waiters = [asyncio.ensure_future(cache.get_or_load("k", load)) for _ in range(20)]
    await settle()
    load.release.set()
    assert await asyncio.gather(*waiters) == ["doc"] * 20
    assert load.calls == 1
    assert cache.get("k") == "doc"
    assert await cache.get_or_load("k", Loader("other")) == "doc"  # a hit loads nothing


async def test_different_keys_load_separately():
    cache: TTLCache[str] = TTLCache(60)
    a, b = Loader("a"), Loader("b")
    ta, tb = asyncio.ensure_future(cache.get_or_load("a", a)), asyncio.ensure_future(cache.get_or_load("b", b))
    await settle()
    a.release.set()
    b.release.set()
    assert (await ta, await tb) == ("a", "b") and a.calls == b.calls == 1


async def test_an_error_reaches_every_waiter_and_nothing_is_cached():
    cache: TTLCache[str] = TTLCache(60)
    load = Loader(error=Unreachable(0, "datastore_unreachable"))
    waiters = [asyncio.ensure_future(cache.get_or_load("k", load)) for _ in range(5)]
    await settle()
    load.release.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, Unreachable) for r in results) and load.calls == 1
    again = Loader("fresh")
    again.release.set()
    assert await cache.get_or_load("k", again) == "fresh" and again.calls == 1


async def test_none_is_shared_but_not_cached():
    cache: TTLCache[str] = TTLCache(60)
    load = Loader(None)
    waiters = [asyncio.ensure_future(cache.get_or_load("k", load)) for _ in range(3)]
    await settle()
    load.release.set()
    assert await asyncio.gather(*waiters) == [None] * 3 and load.calls == 1
    assert cache.get("k") is None and not cache._loading


async def test_drop_during_a_load_detaches_it():
    """A read that began before a write must not refill the cache after the write dropped the entry,
    and callers after the drop must not get the old read's answer."""
    cache: TTLCache[str] = TTLCache(60)
    old = Loader("before write")
    first = asyncio.ensure_future(cache.get_or_load("k", old))
    await settle()
    cache.drop("k")  # what Writes does after saving the document
    new = Loader("after write")
    second = asyncio.ensure_future(cache.get_or_load("k", new))
    await settle()
    old.release.set()
    assert await first == "before write"
    assert cache.get("k") is None  # the detached load is not cached
    new.release.set()
    assert await second == "after write" and cache.get("k") == "after write"
    assert old.calls == new.calls == 1


async def test_clear_during_a_load_detaches_it():
    cache: TTLCache[str] = TTLCache(60)
    load = Loader("v")
    waiter = asyncio.ensure_future(cache.get_or_load("k", load))
    await settle()
    cache.clear()
    load.release.set()
    assert await waiter == "v" and cache.get("k") is None


async def test_a_cancelled_waiter_does_not_cancel_the_others():
    cache: TTLCache[str] = TTLCache(60)
    load = Loader("v")
    first = asyncio.ensure_future(cache.get_or_load("k", load))
    second = asyncio.ensure_future(cache.get_or_load("k", load))
    await settle()
    first.cancel()
    await settle()
    load.release.set()
    assert await second == "v" and first.cancelled() and load.calls == 1
    assert cache.get("k") == "v"


async def test_all_waiters_cancelled_and_the_load_fails_leaves_no_unretrieved_error():
    cache: TTLCache[str] = TTLCache(60)
    load = Loader(error=RuntimeError("boom"))
    waiter = asyncio.ensure_future(cache.get_or_load("k", load))
    await settle()
    pending = cache._loading["k"]
    waiter.cancel()
    load.release.set()
    with pytest.raises(RuntimeError):
        await pending
    assert cache.get("k") is None and "k" not in cache._loading


class Clock:
    def __init__(self, monkeypatch):
        from kazoo_crossbar.storage import cache as cache_module

        self.now = 1000.0
        monkeypatch.setattr(cache_module.time, "monotonic", lambda: self.now)


async def test_a_hit_near_expiry_refreshes_in_the_background(monkeypatch):
    clock = Clock(monkeypatch)
    cache: TTLCache[str] = TTLCache(10, refresh_ahead=0.2)
    first = Loader("v1")
    first.release.set()
    assert await cache.get_or_load("k", first) == "v1"
    clock.now += 7  # 3 s left of 10: no refresh yet
    assert await cache.get_or_load("k", Loader("unused")) == "v1" and not cache._loading
    clock.now += 1.5  # 1.5 s left: answered from the entry, one refresh starts
    refresh = Loader("v2")
    assert await cache.get_or_load("k", refresh) == "v1"
    assert await cache.get_or_load("k", refresh) == "v1"  # the refresh in flight is not doubled
    await settle()
    assert refresh.calls == 1 and cache.get("k") == "v1"
    refresh.release.set()
    await settle()
    assert cache.get("k") == "v2"
    clock.now += 9  # the refreshed entry has its own full TTL
    assert await cache.get_or_load("k", Loader("unused")) == "v2"


async def test_a_failed_refresh_leaves_the_entry_to_expire(monkeypatch):
    clock = Clock(monkeypatch)
    cache: TTLCache[str] = TTLCache(10)
    first = Loader("v1")
    first.release.set()
    await cache.get_or_load("k", first)
    clock.now += 9
    failing = Loader(error=Unreachable(0, "datastore_unreachable"))
    failing.release.set()
    assert await cache.get_or_load("k", failing) == "v1"
    await settle()
    assert cache.get("k") == "v1" and not cache._loading
    clock.now += 2  # expired: a synchronous load, whose error the caller sees
    with pytest.raises(Unreachable):
        await cache.get_or_load("k", failing)


async def test_an_expired_entry_is_never_served(monkeypatch):
    clock = Clock(monkeypatch)
    cache: TTLCache[str] = TTLCache(10)
    first = Loader("v1")
    first.release.set()
    await cache.get_or_load("k", first)
    clock.now += 10.5
    fresh = Loader("v2")
    waiter = asyncio.ensure_future(cache.get_or_load("k", fresh))
    await settle()
    assert not waiter.done()  # waits for the load: no stale answer
    fresh.release.set()
    assert await waiter == "v2"
