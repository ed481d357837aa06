"""The application factory: settings in, an aiohttp app out. cleanup_ctx wires
the lifecycle: CouchDB client, the job executor and the recovery loop."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import AsyncIterator

from aiohttp import web

from .auth.keys import KeyStore
from .auth.tokens import Tokens
from .bus.amqp import AmqpBus, NullBus
from .config import Settings
from .endpoints.api_auth import ApiAuth
from .endpoints.base import Endpoint
from .endpoints.resource_jobs import ResourceJobs
from .endpoints.resources import Resources
from .endpoints.user_auth import UserAuth
from .http.envelope import node_hash
from .http.pipeline import Pipeline
from .http.ratelimit import TokenBuckets
from .jobs.executor import Executor
from .jobs.recovery import Recovery
from .metrics import CONTENT_TYPE_LATEST, Metrics
from .storage.accounts import Accounts
from .storage.couch import CouchClient
from .storage.doc_cache import DocCache
from .storage.system_config import SystemConfig

SERVICES = web.AppKey("services", "Services")
HEALTH_TIMEOUT_S = 1.5


@dataclass
class Services:
    settings: Settings
    couch: CouchClient
    config: SystemConfig
    accounts: Accounts
    keys: KeyStore
    tokens: Tokens
    executor: Executor
    recovery: Recovery
    bus: NullBus
    doc_cache: DocCache
    metrics: Metrics
    node_hash: str
    buckets: TokenBuckets


def make_services(settings: Settings) -> Services:
    couch = CouchClient(settings.couchdb_url)
    config = SystemConfig(couch, settings.node_name, settings.zone)
    keys = KeyStore(couch, config, settings.node_name)
    accounts = Accounts(couch)
    metrics = Metrics()

    async def on_delegated_job(account_id: str, job_id: str) -> str:
        # The message is acknowledged once the job has run here: a node dying mid-job leaves
        # it to be redelivered (and to the recovery loop once it is stale).
        return await executor.submit(account_id, job_id)

    doc_cache = DocCache()
    bus = AmqpBus(settings.amqp_url, settings.node_name, on_delegated_job, on_change=doc_cache.on_routing_key,
                  on_state=doc_cache.set_enabled) if settings.amqp_url else NullBus()
    executor = Executor(couch, config, accounts, settings.node_name, bus=bus, metrics=metrics)
    recovery = Recovery(couch, config, settings.node_name, executor.resume, bus.delegate_job, metrics)
    return Services(settings=settings, couch=couch, config=config, accounts=accounts, keys=keys,
                    tokens=Tokens(couch, config, keys), executor=executor, recovery=recovery, bus=bus,
                    doc_cache=doc_cache, metrics=metrics, node_hash=node_hash(settings.node_name),
                    buckets=TokenBuckets(config, settings.node_name, settings.zone))


def endpoints() -> list[Endpoint]:
    return [ApiAuth(), UserAuth(), Resources(jobs=ResourceJobs())]


def create_app(settings: Settings, *, background: bool = True) -> web.Application:
    """`background=False` leaves the executor and recovery loop stopped (tests drive them)."""
    # The body limit is Kazoo's crossbar.max_upload_size, enforced by the pipeline.
    app = web.Application(client_max_size=1024**3)
    services = make_services(settings)
    app[SERVICES] = services

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await services.bus.start()
        if background:
            services.recovery.start()
        yield
        # stop taking work first, then stop working
        await services.bus.stop()
        await services.recovery.stop()
        await services.executor.stop()
        await services.couch.close()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/metrics", metrics_view)
    app.router.add_get("/health", health_view)
    app.router.add_get("/openapi.json", openapi_view)
    # [\s\S]: every path reaches the pipeline, even one with an encoded newline in it
    app.router.add_route("*", r"/{tail:[\s\S]*}", Pipeline(services, endpoints()).handle)
    return app


async def metrics_view(request: web.Request) -> web.Response:
    body = request.app[SERVICES].metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def health_view(request: web.Request) -> web.Response:
    """200 when CouchDB answers (and the broker is connected, when one is configured), else 503."""
    services = request.app[SERVICES]
    try:  # a CouchDB that accepts connections but never answers must not hang the probe
        couchdb = await asyncio.wait_for(services.couch.up(), HEALTH_TIMEOUT_S)
    except asyncio.TimeoutError:
        couchdb = False
    checks = {"couchdb": "up" if couchdb else "down"}
    if services.settings.amqp_url:
        checks["amqp"] = "up" if services.bus.connected else "down"
    healthy = all(v == "up" for v in checks.values())
    return web.json_response({"status": "ok" if healthy else "degraded", **checks}, status=200 if healthy else 503)


async def openapi_view(request: web.Request) -> web.Response:
    from .openapi import document

    return web.json_response(document())
