"""The one route table: the pipeline dispatches the Kazoo API from its endpoints, the app
registers its plain routes, and /openapi.json is generated from both.

A new Kazoo noun: write its endpoint (http/endpoint.py contract) and add it to `endpoints`.
A new route outside /v2 (an operator page, the console's files): add a `Plain`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from . import ops
from .console import UI_FILE, UI_REDIRECT, UI_ROOT, Console
from .endpoints.accounts import AccountsEndpoint
from .endpoints.api_auth import ApiAuth
from .endpoints.crud import Docs
from .endpoints.resource_jobs import ResourceJobs
from .endpoints.resources import Resources
from .endpoints.system_configs import SystemConfigs
from .endpoints.user_auth import UserAuth
from .http.endpoint import Endpoint
from .http.ratelimit import TokenBuckets
from .services import Services
from .storage.login_info import LoginInfo

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Plain:
    method: str
    path: str
    handler: Handler
    operation: dict | None  # its OpenAPI operation (None: a fallback route, not in the API document)


@dataclass
class RouteTable:
    endpoints: list[Endpoint[Any]]
    plain: list[Plain] = field(default_factory=list)


def endpoints(services: Services) -> list[Endpoint[Any]]:
    """Every Kazoo endpoint, each given only the dependencies it uses."""
    s = services
    jobs = ResourceJobs(s.jobs, s.couch, s.config)
    login_info = LoginInfo(s.couch)
    # one per client for both logins; X-Forwarded-For believed from the trusted proxies only
    buckets = TokenBuckets(s.config, s.settings.node_name, s.settings.zone, s.settings.trusted_proxies)
    return [
        ApiAuth(s.accounts, s.tokens, s.config, buckets, login_info),
        UserAuth(s.accounts, s.tokens, s.config, buckets, login_info),
        Resources(Docs(s.writes, s.doc_cache), s.config, s.bus, jobs=jobs),
        AccountsEndpoint(s.couch, s.config),
        SystemConfigs(s.couch),
    ]


def table(services: Services) -> RouteTable:
    console = Console()
    # /metrics on an address of its own (app.py) answers a 404 envelope here
    metrics = (
        [Plain("*", "/metrics", ops.elsewhere, None)]
        if services.settings.metrics_address is not None
        else [Plain("GET", "/metrics", ops.metrics_view, ops.METRICS), Plain("*", "/metrics", ops.other_method, None)]
    )
    return RouteTable(
        endpoints=endpoints(services),
        # each GET route is followed by its other-methods fallback (same aiohttp resource):
        # a 405/501 envelope, never the API's root banner
        plain=[
            Plain("GET", "/health", ops.health_view, ops.HEALTH),
            Plain("*", "/health", ops.other_method, None),
            *metrics,
            Plain("GET", "/openapi.json", ops.openapi_view, ops.OPENAPI_DOC),
            Plain("*", "/openapi.json", ops.other_method, None),
            Plain("GET", "/ui", console.index_redirect, UI_REDIRECT),
            Plain("GET", "/ui/", console.serve, UI_ROOT),
            Plain("GET", "/ui/{path}", console.serve, UI_FILE),
            # every other method and path under /ui: an envelope, never the API's banner
            Plain("*", r"/ui{rest:(/[\s\S]*)?}", console.fallback, None),
        ],
    )
