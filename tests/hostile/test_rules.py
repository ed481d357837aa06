"""Issue 22 item 9 (server side): rules stepswitch cannot compile and gateway ports outside
1-65535 are a 400 on the field, in Kazoo's shape (`kazoo-regexp`: code `error`), and nothing
is saved. stepswitch compiles rules with Erlang's `re` (PCRE): a bad one silently never matches."""

from __future__ import annotations

import pytest

from kazoo_crossbar import validation

BAD = "^(+44"
MESSAGE = {"error": {"message": f"invalid regular expression: '{BAD}'", "value": BAD}}


@pytest.fixture(scope="module")
async def tenant(kazoo):
    account = await kazoo.account()
    return account, {"X-Auth-Token": await kazoo.token_for(account)}


CASES = [
    ({"rules": ["^\\+1(\\d{10})$", BAD]}, "rules.1"),
    ({"cid_rules": [BAD]}, "cid_rules.0"),
    ({"rules_test": [BAD]}, "rules_test.0"),
    ({"flat_rate_whitelist": BAD}, "flat_rate_whitelist"),
    ({"flat_rate_blacklist": BAD}, "flat_rate_blacklist"),
    ({"classifiers": {"tollfree_us": {"regex": BAD}}}, "classifiers.tollfree_us.regex"),
]
# formatters are a oneOf: jesse (and so Kazoo) reports the combinator at the formatter's path
ONE_OF = {"not_one_schema_valid": {"message": "failed to validate", "value": [{"regex": BAD}]}}


async def listing_ids(client, url, headers) -> set[str]:
    return {row["id"] for row in (await (await client.get(url, headers=headers)).json())["data"]}


@pytest.mark.parametrize("extra,key", CASES)
async def test_invalid_regex_is_a_400_on_its_field_and_nothing_is_saved(client, tenant, extra, key):
    account, headers = tenant
    url = f"/v2/accounts/{account['_id']}/resources"
    before = await listing_ids(client, url, headers)
    resp = await client.put(url, json={"data": {"name": "bad rule", "gateways": [], **extra}}, headers=headers)
    body = await resp.json()
    assert resp.status == 400, body
    assert body["message"] == "validation error" and body["data"] == {key: MESSAGE}
    assert await listing_ids(client, url, headers) == before


async def test_invalid_formatter_regex_is_a_400(client, tenant):
    account, headers = tenant
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources",
        json={"data": {"name": "bad formatter", "gateways": [], "formatters": {"from": [{"regex": BAD}]}}},
        headers=headers,
    )
    assert resp.status == 400
    assert (await resp.json())["data"] == {"formatters.from": ONE_OF}
    good = {"name": "good formatter", "gateways": [], "formatters": {"from": [{"regex": "^\\+?1?(\\d{10})$"}]}}
    resp = await client.put(f"/v2/accounts/{account['_id']}/resources", json={"data": good}, headers=headers)
    assert resp.status == 201, await resp.text()


async def test_rules_are_checked_on_every_write(client, tenant):
    account, headers = tenant
    url = f"/v2/accounts/{account['_id']}/resources"
    resp = await client.put(
        url, json={"data": {"name": "good", "gateways": [], "rules": ["^\\+?1?(\\d{10})$"]}}, headers=headers
    )
    assert resp.status == 201, await resp.text()
    rid = (await resp.json())["data"]["id"]
    for method, data in (
        ("POST", {"name": "good", "gateways": [], "rules": [BAD]}),
        ("PATCH", {"cid_rules": [BAD]}),
    ):
        resp = await client.request(method, f"{url}/{rid}", json={"data": data}, headers=headers)
        assert resp.status == 400, await resp.text()
    stored = (await (await client.get(f"{url}/{rid}", headers=headers)).json())["data"]
    assert stored["rules"] == ["^\\+?1?(\\d{10})$"] and "cid_rules" not in stored
    resp = await client.put(
        f"{url}/collection",
        json={"data": [{"id": "bad-rule-item", "name": "x", "gateways": [], "rules": [BAD]}]},
        headers=headers,
    )
    assert (await resp.json())["data"]["errors"] == {"bad-rule-item": {"rules.0": MESSAGE}}


@pytest.mark.parametrize("port,code", [(99999, "maximum"), (65536, "maximum"), (0, "minimum"), (-1, "minimum")])
async def test_gateway_port_out_of_range_is_a_400(client, tenant, port, code):
    account, headers = tenant
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources",
        json={"data": {"name": "bad port", "gateways": [{"server": "sip.example.com", "port": port}]}},
        headers=headers,
    )
    body = await resp.json()
    assert resp.status == 400, body
    assert list(body["data"]) == ["gateways.0.port"] and code in body["data"]["gateways.0.port"]


async def test_edge_ports_are_accepted(client, tenant):
    account, headers = tenant
    gateways = [{"server": "sip.example.com", "port": 1}, {"server": "sip.example.com", "port": 65535}]
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources",
        json={"data": {"name": "edge ports", "gateways": gateways}},
        headers=headers,
    )
    assert resp.status == 201, await resp.text()


@pytest.mark.parametrize(
    "pattern",
    [
        "^\\+?1?(\\d{10})$",
        "^\\+(\\d*)$",
        "^(?:\\+?1)?(8(00|33|44|55|66|77|88)[2-9]\\d{6})$",
        "^(?<number>\\d+)$",  # named groups
        "(?<=\\+)44\\d+",  # lookbehind
        "^\\d++$",  # possessive
        "[[:digit:]]{4}",  # POSIX classes
        "^café$",  # non-ASCII bytes, as Erlang compiles a binary without `unicode`
        "",
    ],
)
def test_pcre_accepts_what_stepswitch_compiles(pattern):
    assert validation.pcre_error(pattern) is None


@pytest.mark.parametrize("pattern", [BAD, "[0-9", "a{2,1}", "(?<n>a)(?<n>b)", "\\", "*1", "(?P<1>x)"])
def test_pcre_refuses_what_stepswitch_cannot_compile(pattern):
    assert validation.pcre_error(pattern)
