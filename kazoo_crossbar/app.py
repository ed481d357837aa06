"""The application factory: settings in, an aiohttp app out. The services are built once
(services.py), the routes come from the one route table (routes.py), and every request goes
through the one middleware (http/middleware.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from .config import Settings
from .http.envelope import node_hash
from .http.middleware import request_middleware
from .http.pipeline import Pipeline
from .http.protocol import install as install_protocol_errors
from .openapi import document
from .routes import table
from .services import OPENAPI, SERVICES, make_services

__all__ = ["SERVICES", "create_app"]


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
    for plain in routes.plain:
        app.router.add_route(plain.method, plain.path, plain.handler)
    pipeline = Pipeline(routes.endpoints, config=services.config, accounts=services.accounts, tokens=services.tokens)
    # [\s\S]: every path reaches the pipeline, even one with an encoded newline in it
    app.router.add_route("*", r"/{tail:[\s\S]*}", pipeline.handle)
    return app
