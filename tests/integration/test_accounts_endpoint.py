"""Read-only accounts endpoints (cb_accounts 4.3 shapes) and system_configs GET."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
async def tree(kazoo):
    """reseller ─┬─ branch ── leaf
    └─ sibling            (under a top account that is not the master)"""
    top = await kazoo.account(name="Tree Top")
    branch = await kazoo.account(parent=top, name="Branch")
    sibling = await kazoo.account(parent=top, name="Another")
    leaf = await kazoo.account(parent=branch, name="Leaf")
    tokens = {
        name: {"X-Auth-Token": await kazoo.token_for(doc)}
        for name, doc in (("top", top), ("branch", branch), ("sibling", sibling), ("leaf", leaf))
    }
    return {"top": top, "branch": branch, "sibling": sibling, "leaf": leaf, "h": tokens}


async def get(client, path, headers):
    resp = await client.get(path, headers=headers)
    return resp.status, await resp.json()


async def test_own_account_in_kazoo_shape(client, tree):
    branch = tree["branch"]
    status, body = await get(client, f"/v2/accounts/{branch['_id']}", tree["h"]["branch"])
    assert status == 200, body
    data = body["data"]
    assert data["id"] == branch["_id"] and data["name"] == "Branch"
    assert data["enabled"] is True and data["superduper_admin"] is False
    assert data["wnm_allow_additions"] is (branch.get("pvt_wnm_allow_additions") is True)
    # the fixture's reseller is neither the caller nor the master account
    assert data["reseller_id"] == branch["pvt_reseller_id"] and data["billing_mode"] == "manual"
    assert data["is_reseller"] is (branch.get("pvt_reseller") is True)
    assert not any(k.startswith(("pvt_", "_")) for k in data), data
    assert body["revision"]


async def test_descendant_is_readable_by_ancestor(client, tree):
    status, body = await get(client, f"/v2/accounts/{tree['leaf']['_id']}", tree["h"]["top"])
    assert status == 200 and body["data"]["name"] == "Leaf"


async def test_children_one_level_sorted_by_name(client, tree):
    status, body = await get(client, f"/v2/accounts/{tree['top']['_id']}/children", tree["h"]["top"])
    assert status == 200, body
    assert [row["name"] for row in body["data"]] == ["Another", "Branch"]
    row = body["data"][1]
    assert row["id"] == tree["branch"]["_id"] and row["realm"] == tree["branch"]["realm"]
    assert row["descendants_count"] == tree["branch"]["descendants_count"] and row["flags"] == []
    assert body["page_size"] == 2 and "next_start_key" not in body


async def test_descendants_whole_subtree_with_tree(client, tree):
    status, body = await get(client, f"/v2/accounts/{tree['top']['_id']}/descendants", tree["h"]["top"])
    assert status == 200, body
    assert [row["name"] for row in body["data"]] == ["Another", "Branch", "Leaf"]
    leaf = body["data"][2]
    assert leaf["tree"] == [tree["top"]["_id"], tree["branch"]["_id"]]
    # the account itself is not its own descendant
    assert tree["top"]["_id"] not in [row["id"] for row in body["data"]]


async def test_descendants_paginate_by_name(client, tree):
    path = f"/v2/accounts/{tree['top']['_id']}/descendants"
    status, first = await get(client, path + "?page_size=2", tree["h"]["top"])
    assert status == 200 and [r["name"] for r in first["data"]] == ["Another", "Branch"]
    assert first["next_start_key"]
    status, second = await get(client, f"{path}?page_size=2&start_key={first['next_start_key']}", tree["h"]["top"])
    assert status == 200 and [r["name"] for r in second["data"]] == ["Leaf"], second
    assert second["start_key"] == first["next_start_key"] and "next_start_key" not in second


@pytest.mark.parametrize("suffix", ["", "/children", "/descendants"])
async def test_parent_and_sibling_are_forbidden(client, tree, suffix):
    h = tree["h"]["branch"]
    for other in ("top", "sibling"):
        status, body = await get(client, f"/v2/accounts/{tree[other]['_id']}{suffix}", h)
        assert status == 403 and body["error"] == "403" and body["request_id"], body


async def test_master_reads_any_account(client, tree, master_token):
    status, body = await get(client, f"/v2/accounts/{tree['leaf']['_id']}", {"X-Auth-Token": master_token})
    assert status == 200 and body["data"]["id"] == tree["leaf"]["_id"]


async def test_without_token_401(client, tree):
    status, body = await get(client, f"/v2/accounts/{tree['top']['_id']}", {})
    assert status == 401 and body["error"] == "401"


async def test_unknown_account_and_path(client, tree, master_token):
    h = {"X-Auth-Token": master_token}
    status, body = await get(client, "/v2/accounts/" + "0" * 32, h)
    assert status == 404 and body["message"] == "bad_identifier"
    status, body = await get(client, f"/v2/accounts/{tree['top']['_id']}/siblings_of_nothing", h)
    assert status == 404
    status, body = await get(client, "/v2/accounts/short", h)
    assert status == 404
    status, body = await get(client, "/v2/accounts", h)
    assert status == 404


async def test_writes_not_allowed(client, tree, master_token):
    resp = await client.post(
        f"/v2/accounts/{tree['top']['_id']}", json={"data": {"name": "x"}}, headers={"X-Auth-Token": master_token}
    )
    body = await resp.json()
    assert resp.status == 405 and body["error"] == "405", body


async def test_system_configs_for_superduper_admin_only(client, tree, master_token):
    status, body = await get(client, "/v2/system_configs/crossbar.resources", {"X-Auth-Token": master_token})
    assert status == 200, body
    assert body["data"]["id"] == "crossbar.resources" and "job_recovery_threshold_s" in body["data"]["default"]
    status, body = await get(client, "/v2/system_configs/crossbar.resources", tree["h"]["top"])
    assert status == 403 and body["error"] == "403"
    status, body = await get(client, "/v2/system_configs/no_such_category", {"X-Auth-Token": master_token})
    assert status == 404 and body["message"] == "bad_identifier"
    status, body = await get(client, "/v2/system_configs/_design%2Fanything", {"X-Auth-Token": master_token})
    assert status == 404
    status, body = await get(
        client, f"/v2/accounts/{tree['top']['_id']}/system_configs/crossbar.resources", {"X-Auth-Token": master_token}
    )
    assert status == 403


async def test_openapi_documents_accounts(client):
    doc = await (await client.get("/openapi.json")).json()
    for path in (
        "/v2/accounts/{account_id}",
        "/v2/accounts/{account_id}/children",
        "/v2/accounts/{account_id}/descendants",
        "/v2/system_configs/{config_id}",
    ):
        assert "get" in doc["paths"][path], path
