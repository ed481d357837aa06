"""Hostile reads of the read-only accounts endpoints and system_configs: a tenant reads only its
own account and its descendants; ids that are not account ids and junk paging keys are
envelopes (never a 500, never CouchDB's own documents); system_configs is a 403 for a tenant
before anything is read."""

from __future__ import annotations

import json

import pytest

from .wire import envelope, raw_request, strict_json

SUFFIXES = ["", "/children", "/descendants"]


@pytest.fixture(scope="module")
async def tree(kazoo):
    """P ─┬─ A ── C
    └─ B ── D      (P under the master); each with its own token."""
    p = await kazoo.account(name="Hostile P")
    a = await kazoo.account(parent=p, name="Hostile A")
    b = await kazoo.account(parent=p, name="Hostile B")
    c = await kazoo.account(parent=a, name="Hostile C")
    d = await kazoo.account(parent=b, name="Hostile D")
    accounts = {"p": p, "a": a, "b": b, "c": c, "d": d}
    return accounts, {name: {"X-Auth-Token": await kazoo.token_for(doc)} for name, doc in accounts.items()}


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("target", ["b", "p", "d", "master"])
async def test_tenant_cannot_read_sibling_parent_master_or_sibling_descendant(client, tree, master, target, suffix):
    accounts, headers = tree
    target_id = master["master_account_id"] if target == "master" else accounts[target]["_id"]
    resp = await client.get(f"/v2/accounts/{target_id}{suffix}", headers=headers["a"])
    body = await envelope(resp, 403)
    assert "Hostile" not in json.dumps(body) and target_id not in json.dumps(body["data"])


@pytest.mark.parametrize("suffix", SUFFIXES)
async def test_tenant_reads_itself_and_its_descendant(client, tree, suffix):
    accounts, headers = tree
    for target in ("a", "c"):
        resp = await client.get(f"/v2/accounts/{accounts[target]['_id']}{suffix}", headers=headers["a"])
        assert resp.status == 200, await resp.text()


async def test_descendants_never_list_another_branch(client, tree):
    accounts, headers = tree
    resp = await client.get(f"/v2/accounts/{accounts['a']['_id']}/descendants?paginate=false", headers=headers["a"])
    names = [row["name"] for row in (await resp.json())["data"]]
    assert names == ["Hostile C"]


async def test_account_id_header_cannot_widen_the_token(client, tree):
    accounts, headers = tree
    resp = await client.get(
        f"/v2/accounts/{accounts['b']['_id']}", headers={**headers["a"], "X-Auth-Account-ID": accounts["b"]["_id"]}
    )
    await envelope(resp, 401)


NOT_ACCOUNT_IDS = [
    b".",
    b"..",
    b"%2E",
    b"%2E%2E",
    b"%252E%252E",
    b"_design%2Faccounts",
    b"_design%252Faccounts",
    b"_all_docs",
    b"_changes",
    b"_design",
    b"_local%2Fx",
    b"%ED%A0%80",
    b"%ff" * 16,
    b"0" * 32,
    b"f" * 32,
    b"A" * 32,
    b"x" * 8000,
    b"%00" * 32,
    b"%20" * 32,
]


@pytest.mark.parametrize("account_id", NOT_ACCOUNT_IDS, ids=lambda v: v[:24].decode())
@pytest.mark.parametrize("suffix", [s.encode() for s in SUFFIXES])
@pytest.mark.parametrize("who", ["a", "master"])
async def test_ids_that_are_not_accounts_are_envelopes(client, tree, master_token, account_id, suffix, who):
    _accounts, headers = tree
    token = (headers["a"]["X-Auth-Token"] if who == "a" else master_token).encode()
    request = (
        b"GET /v2/accounts/"
        + account_id
        + suffix
        + b" HTTP/1.1\r\nHost: t\r\nX-Auth-Token: "
        + token
        + b"\r\nConnection: close\r\n\r\n"
    )
    status, payload = await raw_request(client, request)
    assert status in (400, 401, 403, 404), payload[:300]
    body = strict_json(payload.decode())
    assert body["status"] == "error" and body["error"] == str(status)
    text = payload.decode().lower()
    assert "couchdb" not in text and "db_name" not in text and "total_rows" not in text and "views" not in text


async def test_ten_thousand_character_id_is_an_envelope(client, master_token):
    request = (
        b"GET /v2/accounts/"
        + b"a" * 10_000
        + b" HTTP/1.1\r\nHost: t\r\nX-Auth-Token: "
        + master_token.encode()
        + b"\r\nConnection: close\r\n\r\n"
    )
    status, payload = await raw_request(client, request)
    assert status == 400 and strict_json(payload.decode())["status"] == "error"


PAGING = [
    "start_key=%7B",
    "start_key=%5B",
    "start_key=" + "z" * 5000,
    "start_key=%ED%A0%80",
    "start_key=null",
    "start_key=%5B%22x%22%2C%7B%7D%5D",
    "start_key=g2wAAAABYQFq",
    "start_key=%00",
    "page_size=99999999999999999999999",
    "page_size=1e999",
    "page_size=-1",
    "page_size=0",
    "page_size=abc",
    "page_size=",
    "page_size=1.5",
    "page_size=%ED%A0%80",
    "paginate=maybe",
    "page_size=1&start_key=" + "%5B" * 100,
    "filter_name=%ED%A0%80",
    "filter_" + "x" * 3000 + "=1",
    "created_from=99999999999999",
    "created_to=-1",
]


@pytest.mark.parametrize("query", PAGING)
@pytest.mark.parametrize("suffix", ["/children", "/descendants"])
async def test_junk_paging_keys_are_a_page_or_a_400(client, tree, query, suffix):
    accounts, headers = tree
    resp = await client.get(f"/v2/accounts/{accounts['p']['_id']}{suffix}?{query}", headers=headers["p"])
    text = await resp.text()
    assert resp.status in (200, 400), text[:300]
    body = strict_json(text)
    if resp.status == 200:
        assert isinstance(body["data"], list) and len(text) < 100_000
        names = {row["name"] for row in body["data"]}
        assert names <= {"Hostile A", "Hostile B", "Hostile C", "Hostile D"}, names
    else:
        assert body["status"] == "error"


async def test_paging_walks_without_leaving_the_subtree(client, tree):
    accounts, headers = tree
    url = f"/v2/accounts/{accounts['p']['_id']}/descendants?page_size=1"
    seen, start = [], None
    for _ in range(10):
        resp = await client.get(url + (f"&start_key={start}" if start else ""), headers=headers["p"])
        body = await resp.json()
        assert resp.status == 200, body
        seen += [row["name"] for row in body["data"]]
        start = body.get("next_start_key")
        if not start:
            break
    assert seen == ["Hostile A", "Hostile B", "Hostile C", "Hostile D"]


CONFIG_IDS = [
    b"crossbar.resources",
    b"accounts",
    b"_design%2Fx",
    b"_design%252Fx",
    b"..",
    b".",
    b"%2E%2E",
    b"%252E%252E",
    b"_all_docs",
    b"_local%2Fx",
    b"%ED%A0%80",
    b"no-such-category",
    b"a%2Fb",
    b"a%252Fb",
    b"token_buckets",
    b"x" * 5000,
]


@pytest.mark.parametrize("config_id", CONFIG_IDS, ids=lambda v: v[:24].decode())
async def test_tenant_gets_403_on_any_system_config(client, tree, config_id):
    _accounts, headers = tree
    request = (
        b"GET /v2/system_configs/"
        + config_id
        + b" HTTP/1.1\r\nHost: t\r\nX-Auth-Token: "
        + headers["p"]["X-Auth-Token"].encode()
        + b"\r\nConnection: close\r\n\r\n"
    )
    status, payload = await raw_request(client, request)
    # the same 403 whether the category exists or not (no existence oracle); `accounts` is a noun,
    # so /system_configs/accounts is no route at all (404 for everyone, before any read)
    assert status == (404 if config_id == b"accounts" else 403), payload[:300]
    assert strict_json(payload.decode())["status"] == "error"


@pytest.mark.parametrize(
    "config_id",
    [c for c in CONFIG_IDS if c not in (b"crossbar.resources", b"token_buckets")],
    ids=lambda v: v[:24].decode(),
)
async def test_superduper_admin_never_reads_couchdb_internals(client, master_token, config_id):
    request = (
        b"GET /v2/system_configs/"
        + config_id
        + b" HTTP/1.1\r\nHost: t\r\nX-Auth-Token: "
        + master_token.encode()
        + b"\r\nConnection: close\r\n\r\n"
    )
    status, payload = await raw_request(client, request)
    assert status in (400, 404), payload[:300]
    body = strict_json(payload.decode())
    assert body["status"] == "error"
    text = payload.decode().lower()
    assert "couchdb" not in text and "db_name" not in text and "total_rows" not in text


@pytest.mark.parametrize(
    "path",
    [
        "/v2/accounts/{a}/system_configs/crossbar.resources",
        "/v2/system_configs",
        "/v2/system_configs/crossbar.resources/x",
    ],
)
async def test_system_configs_other_paths(client, tree, master_token, path):
    accounts, _headers = tree
    resp = await client.get(path.format(a=accounts["a"]["_id"]), headers={"X-Auth-Token": master_token})
    assert resp.status in (403, 404), await resp.text()
    assert strict_json(await resp.text())["status"] == "error"
