"""The long-lived parts of one service instance, built once from the settings in dependency
order (no part refers to one built after it). HTTP, endpoints and the app take what they need
from here; nothing here imports them (aiohttp only for the keys the app keeps the services and
its API document under)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .auth.keys import KeyStore
from .auth.tokens import Tokens
from .bus.amqp import AmqpBus
from .bus.base import Bus, NullBus
from .config import Settings
from .jobs.pool import WorkerPool
from .jobs.recovery import Recovery
from .jobs.runner import JobRunner
from .jobs.service import JobService
from .metrics import Metrics
from .storage.accounts import Accounts
from .storage.couch import CouchClient
from .storage.doc_cache import DocCache
from .storage.recent import RecentWrites
from .storage.system_config import SystemConfig
from .storage.writes import Writes

# The jobs' lane to CouchDB: requests in flight at once for every job of this node together, on
# connections of their own. A job keeps up to 4 requests in flight (the next batch's reads, a
# batch's numbers, the previous batch's copies, a fold), so this caps bulk work without slowing
# one job much; interactive requests keep the main client's 64 connections and never queue
# behind a bulk write for one, and while they come about other accounts than its jobs' the lane
# keeps to one place (give_way_to; docs/decisions.md, "Performance and benchmarks").
BULK_LANE = 4


@dataclass
class Services:
    settings: Settings
    couch: CouchClient
    bulk_couch: CouchClient  # the jobs' lane (BULK_LANE)
    writes: Writes
    config: SystemConfig
    accounts: Accounts
    keys: KeyStore
    tokens: Tokens
    bus: Bus
    jobs: JobService
    recovery: Recovery
    doc_cache: DocCache
    metrics: Metrics

    async def start(self, *, background: bool = True) -> None:
        await self.bus.start(self.jobs.on_delegated)
        if background:
            self.recovery.start()

    async def stop(self) -> None:
        # stop taking work first, then stop working
        await self.bus.stop()
        await self.recovery.stop()
        await self.jobs.stop()
        await self.couch.close()
        await self.bulk_couch.close()


def make_services(settings: Settings) -> Services:
    node = settings.node_name
    couch = CouchClient(settings.couchdb_url)
    bulk_couch = CouchClient(settings.couchdb_url, limit=BULK_LANE)
    bulk_couch.give_way_to(couch)
    metrics = Metrics()
    hits, misses = metrics.doc_cache.labels("hit"), metrics.doc_cache.labels("miss")
    doc_cache = DocCache(on_lookup=lambda hit: (hits if hit else misses).inc())
    bus: Bus = (
        AmqpBus(settings.amqp_url, node, on_change=doc_cache.on_routing_key, on_state=doc_cache.set_enabled)
        if settings.amqp_url
        else NullBus()
    )
    # listings show this process's own resource writes at once, also on a cluster (storage/recent.py)
    writes = Writes(couch, bus, doc_cache, node, settings.zone, recent=RecentWrites({"resource"}))
    config = SystemConfig(writes)
    accounts = Accounts(couch)
    keys = KeyStore(config, writes)
    # the job path writes through the bulk lane; its change events and cache drops are the same
    runner = JobRunner(Writes(bulk_couch, bus, doc_cache, node, settings.zone), config, accounts, node, metrics)
    jobs = JobService(writes, bus, WorkerPool(runner, metrics=metrics), node)
    return Services(
        settings=settings,
        couch=couch,
        bulk_couch=bulk_couch,
        writes=writes,
        config=config,
        accounts=accounts,
        keys=keys,
        tokens=Tokens(config, keys, writes),
        bus=bus,
        jobs=jobs,
        recovery=Recovery(couch, config, jobs, metrics),
        doc_cache=doc_cache,
        metrics=metrics,
    )


SERVICES = web.AppKey("services", Services)
OPENAPI = web.AppKey("openapi", dict[str, Any])
