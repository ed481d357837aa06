"""Issue 21 item 10: what a caller without valid credentials learns.

- `/metrics` (job volumes) can be served on an address of its own (`--metrics-address`,
  `KAZOO_CROSSBAR_METRICS_ADDRESS`); the API's address then answers 404 there.
- Whether an account id exists: 4.3 checks the URL's account (`api_resource:malformed_request`,
  `cb_accounts:validate_resource/2`) before authentication (`is_authorized`), so a caller
  **without** a token learns it (404 vs 401), and we keep that order; but a caller **with** a
  token that does not verify is stopped before, by `cb_token_auth:early_authenticate` (in
  `allowed_methods`), with a 401 whatever the account (docs/decisions.md)."""

from __future__ import annotations

import secrets

import aiohttp
import pytest

from kazoo_crossbar.cli import _settings, parser

from ..conftest import free_port
from ..services import ServiceProcess


@pytest.fixture(scope="module")
def service(couchdb_url, master, tmp_path_factory):
    metrics_port = free_port()
    proc = ServiceProcess(
        couchdb_url,
        f"disclosure{secrets.token_hex(3)}@test",
        tmp_path_factory.mktemp("disclosure"),
        KAZOO_CROSSBAR_METRICS_ADDRESS=f"127.0.0.1:{metrics_port}",
    )
    proc.start()
    yield proc, f"http://127.0.0.1:{metrics_port}/metrics"
    proc.stop()


async def test_metrics_move_to_their_own_address(service):
    service, metrics_url = service
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{service.url}/metrics") as resp:
            body = await resp.json()
            assert resp.status == 404 and body["message"] == "not_found"
        async with http.get(metrics_url) as resp:
            text = await resp.text()
            assert resp.status == 200 and "crossbar_jobs_total" in text and "crossbar_job_numbers_total" in text
        async with http.get(f"{service.url}/openapi.json") as resp:
            assert "/metrics" not in (await resp.json())["paths"]
        async with http.get(f"{service.url}/health") as resp:
            assert resp.status == 200  # the API's other operator routes stay where they were


def test_serve_takes_the_metrics_address_as_an_option():
    args = parser().parse_args(["serve", "--metrics-address", "127.0.0.2:9100", "--couchdb-url", "http://c:5984"])
    assert _settings(args).metrics_address == ("127.0.0.2", 9100)
    args = parser().parse_args(["serve", "--couchdb-url", "http://c:5984"])
    assert _settings(args).metrics_address is None


async def test_without_a_token_the_account_check_comes_first_as_in_kazoo(client, kazoo):
    account = await kazoo.account()
    missing = secrets.token_hex(16)
    existing = await client.get(f"/v2/accounts/{account['_id']}/resources")
    absent = await client.get(f"/v2/accounts/{missing}/resources")
    assert existing.status == 401
    assert absent.status == 404 and (await absent.json())["message"] == "bad_identifier"


@pytest.mark.parametrize("token", ["not-a-token", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"])
async def test_a_token_that_does_not_verify_learns_nothing(client, kazoo, token):
    account = await kazoo.account()
    missing = secrets.token_hex(16)
    headers = {"X-Auth-Token": token}
    for path in (
        f"/v2/accounts/{account['_id']}/resources",
        f"/v2/accounts/{missing}/resources",
        f"/v2/accounts/{missing[:10]}/resources",  # malformed id
        "/v2/no_such_noun",
    ):
        resp = await client.get(path, headers=headers)
        body = await resp.json()
        assert resp.status == 401 and body["message"] == "invalid_credentials", (path, body)
    resp = await client.delete("/v2/api_auth", headers=headers)  # before the method check too
    assert resp.status == 401
