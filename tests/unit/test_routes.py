"""Routes are declared once (each endpoint's `routes` and `mounts`, http/endpoint.py): the
pipeline's routing and /openapi.json must agree. Every documented operation is served with
exactly the documented methods, and every path the pipeline serves is documented, but for
the few listed below."""

from __future__ import annotations

import re
from typing import Any, cast

import pytest
from aiohttp.test_utils import make_mocked_request

from kazoo_crossbar import routes
from kazoo_crossbar.config import Settings
from kazoo_crossbar.http import errors
from kazoo_crossbar.http.context import Context
from kazoo_crossbar.http.endpoint import Endpoint, Route
from kazoo_crossbar.http.operations import OBJECT, Operation, path_param
from kazoo_crossbar.http.pipeline import Pipeline, UnknownPath, split_path
from kazoo_crossbar.openapi import document
from kazoo_crossbar.services import make_services

ACCOUNT = "a" * 32
# Served, deliberately not in the API document (what Kazoo answers there, no client asks it).
UNDOCUMENTED = {
    # the deprecated aliases without an account: global resources, as in 4.3
    r"/v2/(global|local)_resources(/.*)?": "deprecated alias without an account",
    # 4.3 routes them, then refuses: system_configs only as the first noun (403)
    rf"/v2/accounts/{ACCOUNT}/system_configs/[^/]+": "403 under an account, as in 4.3",
    # 4.3 routes a login under an account too; the account in the URL plays no part
    rf"/v2/accounts/{ACCOUNT}/(api|user)_auth": "a login under an account, as in 4.3",
}


@pytest.fixture(scope="module")
def endpoints() -> list[Endpoint[Any]]:
    return routes.endpoints(make_services(Settings(couchdb_url="http://127.0.0.1:5984")))  # nothing connects


@pytest.fixture(scope="module")
def documented(endpoints) -> dict[str, frozenset[str]]:
    """{path template: methods} of the Kazoo API in /openapi.json."""
    paths = document(routes.RouteTable(endpoints))["paths"]
    return {path: frozenset(m.upper() for m in item) for path, item in paths.items() if path.startswith("/v2/")}


def allowed(endpoints: list[Endpoint[Any]], path: str) -> frozenset[str]:
    """The methods the pipeline's own routing allows on a path (empty: 404)."""
    pipeline = Pipeline(endpoints, config=cast(Any, None), accounts=cast(Any, None), tokens=cast(Any, None))
    ctx = Context(make_mocked_request("GET", path), "test", "GET")
    ctx.path_tokens = split_path(path)[1]
    try:
        pipeline._route(ctx)
    except (UnknownPath, errors.ApiError):
        return frozenset()
    return ctx.allowed


def concrete(template: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ACCOUNT if m[1] == "account_id" else f"some-{m[1]}", template)


def template_of(path: str, templates: list[str]) -> str | None:
    """The documented template a concrete path falls under; a literal segment wins over a parameter."""
    segments = path.split("/")
    found = [
        t
        for t in templates
        if len(t.split("/")) == len(segments)
        and all(s.startswith("{") or s == p for s, p in zip(t.split("/"), segments, strict=True))
    ]
    return max(found, key=lambda t: sum(not s.startswith("{") for s in t.split("/")), default=None)


def candidates(endpoints: list[Endpoint[Any]]) -> set[str]:
    """Paths to ask the router: every noun at the root and under an account, followed by each
    declared route (sub-nouns' too), one segment more, and a value no route names."""
    out: set[str] = set()
    for endpoint in endpoints:
        tails: list[list[str]] = [["unknown"]]
        for name, sub in [("", endpoint), *endpoint.subnouns.items()]:
            for route in sub.routes:
                args = [name] * bool(name) + [seg if isinstance(seg, str) else "x1" for seg in route.args]
                tails += [args, [*args, "extra"]]
        for noun in endpoint.nouns:
            prefixes = ["/v2/accounts", f"/v2/accounts/{ACCOUNT}"]
            if noun != "accounts":
                prefixes = [f"/v2/{noun}", f"/v2/accounts/{ACCOUNT}/{noun}"]
            out |= {"/".join([prefix, *tail]) for prefix in prefixes for tail in [[], *tails]}
    return out


def test_every_documented_operation_is_served_with_its_methods(endpoints, documented):
    assert len(documented) > 20  # the whole API, not an empty document
    wrong = {t: (documented[t], allowed(endpoints, concrete(t))) for t in documented}
    assert {t: pair for t, pair in wrong.items() if pair[0] != pair[1]} == {}


def test_every_served_path_is_documented(endpoints, documented):
    served = {path: methods for path in candidates(endpoints) if (methods := allowed(endpoints, path))}
    assert len(served) > 20
    undocumented, disagreeing = [], {}
    for path, methods in sorted(served.items()):
        template = template_of(path, list(documented))
        if template is None:
            if not any(re.fullmatch(pattern, path) for pattern in UNDOCUMENTED):
                undocumented.append(path)
        elif documented[template] != methods:
            disagreeing[path] = (template, documented[template], methods)
    assert undocumented == [], "served, not in /openapi.json"
    assert disagreeing == {}, "(template, documented methods, served methods)"
    # every exception still names something served (a stale entry would hide nothing)
    assert all(any(re.fullmatch(p, path) for path in served) for p in UNDOCUMENTED)


def test_a_literal_segment_wins_over_a_parameter():
    class Example(Endpoint[None]):
        routes = (
            Route((path_param("id"),), {"GET": Operation("get", "", "200", OBJECT)}),
            Route(("collection",), {"PUT": Operation("put", "", "201", OBJECT)}),
        )

    example = Example()
    assert [example.route(args) for args in (["collection"], ["x"], [], ["x", "y"])] == [
        Example.routes[1],
        Example.routes[0],
        None,
        None,
    ]


def test_an_operation_is_rendered_under_each_mount_and_sub_noun(endpoints, documented):
    # the jobs sub-noun appears under every resources prefix, with the prefix's own parameters
    jobs = [t for t in documented if t.endswith("/jobs/{job_id}")]
    assert len(jobs) == 4
    item = document(routes.RouteTable(endpoints))["paths"]["/v2/accounts/{account_id}/local_resources/jobs/{job_id}"]
    assert item["get"]["operationId"] == "get_job_local_alias" and item["get"]["deprecated"] is True
    assert [p["name"] for p in item["get"]["parameters"]] == ["account_id", "job_id"]
