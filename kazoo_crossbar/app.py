"""The application factory: settings in, an aiohttp app out. The services are built once
(services.py), the routes come from the one route table (routes.py), and every request goes
through the one middleware (http/middleware.py). Connection limits are the per-connection
handler's (`handler_options`, http/protocol.py); `/metrics` may have an address of its own."""

from __future__ import annotations

import resource
from collections.abc import AsyncIterator
from typing import Any

import structlog
from aiohttp import web

from .config import Settings
from .http.envelope import node_hash
from .http.middleware import request_middleware
from .http.pipeline import Pipeline
from .http.protocol import ConnectionLimits
from .http.protocol import install as install_protocol_errors
from .openapi import document
from .ops import metrics_view, other_method
from .routes import table
from .services import OPENAPI, SERVICES, Services, make_services

__all__ = ["SERVICES", "create_app", "handler_options", "raise_fd_limit"]

log = structlog.get_logger(__name__)

# File descriptors kept out of the connection budget: CouchDB and broker connections, files.
FD_RESERVE = 64


def create_app(settings: Settings, *, background: bool = True) -> web.Application:
    """`background=False` leaves the recovery loop stopped (tests drive it)."""
    services = make_services(settings)
    routes = table(services)
    # The body limit is Kazoo's crossbar.max_upload_size, enforced by the pipeline.
    app = web.Application(
        client_max_size=1024**3, middlewares=[request_middleware(services.metrics, node_hash(settings.node_name))]
    )
    install_protocol_errors(node_hash(settings.node_name))  # malformed HTTP: envelopes too
    app[SERVICES] = services
    app[OPENAPI] = document(routes)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await services.start(background=background)
        yield
        await services.stop()

    app.cleanup_ctx.append(lifecycle)
    if settings.metrics_address is not None:
        app.cleanup_ctx.append(_metrics_site(services, settings.metrics_address))
    for plain in routes.plain:
        app.router.add_route(plain.method, plain.path, plain.handler)
    pipeline = Pipeline(routes.endpoints, config=services.config, accounts=services.accounts, tokens=services.tokens)
    # [\s\S]: every path reaches the pipeline, even one with an encoded newline in it
    app.router.add_route("*", r"/{tail:[\s\S]*}", pipeline.handle)
    return app


def _metrics_site(services: Services, address: tuple[str, int]) -> Any:
    """`/metrics` alone on its own address (the API's address then answers 404 there): job
    volumes are for the operator's scraper, not for whoever reaches the API."""

    async def site(app: web.Application) -> AsyncIterator[None]:
        metrics_app = web.Application(
            middlewares=[request_middleware(services.metrics, node_hash(services.settings.node_name))]
        )
        metrics_app[SERVICES] = services
        metrics_app.router.add_route("GET", "/metrics", metrics_view)
        metrics_app.router.add_route("*", "/metrics", other_method)
        runner = web.AppRunner(metrics_app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, address[0], address[1]).start()
        try:
            yield
        finally:
            await runner.cleanup()

    return site


def raise_fd_limit() -> int:
    """Raise the soft limit on open files to the hard limit where allowed; the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        wanted = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as exc:
            log.warning("fd_limit_not_raised", soft=soft, hard=hard, reason=str(exc))
    return soft


def handler_options(settings: Settings, fd_limit: int) -> dict[str, Any]:
    """Keyword arguments for `web.run_app`/`AppRunner`, handed to every connection's handler."""
    return {
        "connection_limits": ConnectionLimits(
            per_address=settings.max_connections_per_ip, total=max(fd_limit - FD_RESERVE - fd_limit // 10, 1)
        ),
        "header_timeout": settings.header_timeout_s,
        "body_timeout": settings.body_timeout_s,
    }
