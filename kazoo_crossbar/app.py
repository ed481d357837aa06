"""The application factory: settings in, an aiohttp app out. cleanup_ctx wires
the lifecycle: CouchDB client, the job executor and the recovery loop."""
from __future__ import annotations

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
from .jobs.executor import Executor
from .jobs.recovery import Recovery
from .storage.accounts import Accounts
from .storage.couch import CouchClient
from .storage.system_config import SystemConfig

SERVICES = web.AppKey("services", "Services")


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
    node_hash: str


def make_services(settings: Settings) -> Services:
    couch = CouchClient(settings.couchdb_url)
    config = SystemConfig(couch, settings.node_name, settings.zone)
    keys = KeyStore(couch, config, settings.node_name)
    accounts = Accounts(couch)
    executor = Executor(couch, config, accounts, settings.node_name)

    async def on_delegated_job(account_id: str, job_id: str) -> str:
        # The message is acknowledged once the job has run here: a node dying mid-job leaves
        # it to be redelivered (and to the recovery loop once it is stale).
        return await executor.submit(account_id, job_id)

    bus = AmqpBus(settings.amqp_url, settings.node_name, on_delegated_job) if settings.amqp_url else NullBus()
    executor.bus = bus
    recovery = Recovery(couch, config, settings.node_name, executor.resume, bus.delegate_job)
    return Services(settings=settings, couch=couch, config=config, accounts=accounts, keys=keys,
                    tokens=Tokens(couch, config, keys), executor=executor, recovery=recovery, bus=bus,
                    node_hash=node_hash(settings.node_name))


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
    app.router.add_route("*", "/{tail:.*}", Pipeline(services, endpoints()).handle)
    return app
