"""OpenAPI document, fuzzing every operation with schemathesis, /metrics and /health."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate as validate_openapi

from kazoo_crossbar.app import create_app
from kazoo_crossbar.config import Settings

from ..conftest import free_port
from ..services import ServiceProcess

FUZZ_EXAMPLES = 8  # per operation and mode (valid and invalid input); bounded so CI stays short


async def test_openapi_document_is_served_and_valid(client):
    resp = await client.get("/openapi.json")
    doc = await resp.json()
    assert resp.status == 200
    validate_openapi(doc)
    paths = doc["paths"]
    for path, verbs in (
        ("/v2/resources", {"get", "put"}),
        ("/v2/resources/{resource_id}", {"get", "post", "patch", "delete"}),
        ("/v2/resources/collection", {"put", "post"}),
        ("/v2/resources/jobs", {"get", "put"}),
        ("/v2/resources/jobs/{job_id}", {"get"}),
        ("/v2/api_auth", {"put"}),
        ("/v2/user_auth", {"put"}),
        ("/v2/accounts/{account_id}/resources/jobs/{job_id}", {"get"}),
        ("/v2/accounts/{account_id}/local_resources/{resource_id}", {"get", "post", "patch", "delete"}),
    ):
        assert set(paths[path]) == verbs, path
    # generated from the route table: the operator routes are in it too
    assert set(paths["/health"]) == set(paths["/metrics"]) == set(paths["/openapi.json"]) == {"get"}
    # the request schemas are the shipped ones, not copies
    schemas = doc["components"]["schemas"]
    assert schemas["resources"]["required"] == ["name", "gateways"]
    assert schemas["resources"]["properties"]["gateways"]["items"]["$ref"] == "#/components/schemas/resources.gateways"


async def test_metrics(client, kazoo):
    account = await kazoo.account()
    headers = {"X-Auth-Token": await kazoo.token_for(account)}
    await client.get(f"/v2/accounts/{account['_id']}/resources", headers=headers)
    await client.get(f"/v2/accounts/{account['_id']}/resources/nope", headers=headers)
    resp = await client.get("/metrics")
    text = await resp.text()
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
    assert 'crossbar_requests_total{endpoint="accounts/resources",method="GET",status="200"}' in text
    assert 'crossbar_requests_total{endpoint="accounts/resources/{id}",method="GET",status="404"}' in text
    assert "crossbar_request_seconds_bucket" in text and "crossbar_recovery_passes_total" in text


async def test_health(client, settings):
    resp = await client.get("/health")
    assert resp.status == 200 and await resp.json() == {"status": "ok", "couchdb": "up"}
    dead = Settings(
        couchdb_url=f"http://127.0.0.1:{free_port()}",
        node_name="dead@h",
        amqp_url=f"amqp://guest:guest@127.0.0.1:{free_port()}/",
    )
    async with TestClient(TestServer(create_app(dead, background=False))) as c:
        resp = await c.get("/health")
        assert resp.status == 503
        assert await resp.json() == {"status": "degraded", "couchdb": "down", "amqp": "down"}


def fuzz(base_url: str, token: str, account_id: str, examples: int) -> list[str]:
    """Every operation of the OpenAPI document with generated input: no 5xx, always an envelope."""
    import schemathesis

    from kazoo_crossbar.openapi import document

    problems: list[str] = []
    schema = schemathesis.openapi.from_dict(document())
    # the Kazoo API; /health, /metrics and /openapi.json answer in their own formats
    operations = [op for op in (result.ok() for result in schema.get_all_operations()) if op.path.startswith("/v2/")]
    for operation, mode in [(op, mode) for op in operations for mode in schemathesis.GenerationMode]:

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case) -> None:
            if case.path_parameters and "account_id" in case.path_parameters:
                case.path_parameters["account_id"] = account_id  # reach the deeper checks too
            case.headers = {**(case.headers or {}), "X-Auth-Token": token}
            response = case.call(base_url=base_url, timeout=15)
            label = f"{case.method} {case.formatted_path} -> {response.status_code}"
            if response.status_code >= 500:
                problems.append(f"{label}: {response.text[:300]}")
                return
            ctype = {k.lower(): v for k, v in response.headers.items()}.get("content-type")
            ctype = ctype[0] if isinstance(ctype, list) else ctype
            if ctype != "application/json":
                problems.append(f"{label}: content type {ctype}")
                return
            body = response.json()
            keys = (
                ("status", "data", "request_id")
                if body.get("status") == "success"
                else ("status", "error", "message", "data", "request_id", "auth_token")
            )
            if body.get("status") not in ("success", "error") or any(k not in body for k in keys):
                problems.append(f"{label}: not a Kazoo envelope: {str(body)[:200]}")
            elif body["status"] == "error" and body["error"] != str(response.status_code):
                problems.append(f"{label}: error code {body['error']}")

        check()
    return problems


async def test_fuzz_every_operation(couchdb_url, kazoo, tmp_path):
    account = await kazoo.account()
    service = ServiceProcess(couchdb_url, "fuzz@test", tmp_path).start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.put(
                f"{service.url}/v2/api_auth", json={"data": {"api_key": account["pvt_api_key"]}}
            ) as resp:
                token = (await resp.json())["auth_token"]
        problems = await asyncio.to_thread(fuzz, service.url, token, account["_id"], FUZZ_EXAMPLES)
    finally:
        service.stop()
    assert problems == [], "\n".join(problems[:20])
