"""Read-your-own-writes on the resources listing (storage/recent.py, docs/decisions.md
"Listings on a CouchDB cluster"). On one server the view always has the write; here the view is
made to lag as a cluster's copy can (the document written back behind the service's back), and
the listing served by the node that wrote still shows that node's writes."""

from __future__ import annotations

import pytest

from kazoo_crossbar.app import SERVICES
from kazoo_crossbar.storage import names

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def listed(client, base: str, headers: dict) -> dict[str, str]:
    resp = await client.get(base, headers=headers)
    assert resp.status == 200
    return {row["id"]: row.get("name") for row in (await resp.json())["data"]}


async def test_a_listing_after_create_update_delete_shows_this_nodes_writes(client, couch, tenant):
    account, headers, _ = tenant
    base = f"/v2/accounts/{account['_id']}/resources"
    db = names.account_db(account["_id"])
    resp = await client.put(base, json={"data": {"name": "Doomed", "gateways": []}}, headers=headers)
    doomed = (await resp.json())["data"]["id"]
    resp = await client.put(base, json={"data": {"name": "Old name", "gateways": []}}, headers=headers)
    renamed = (await resp.json())["data"]["id"]
    stale = {doomed: await couch.get_doc(db, doomed), renamed: await couch.get_doc(db, renamed)}

    resp = await client.post(f"{base}/{renamed}", json={"data": {"name": "New name", "gateways": []}}, headers=headers)
    assert resp.status == 200
    assert (await client.delete(f"{base}/{doomed}", headers=headers)).status == 200
    assert client.app[SERVICES].writes.recent.docs(db).keys() >= {doomed, renamed}

    # a copy a write behind: the deleted resource back, the renamed one with its old name
    for doc_id, doc in stale.items():
        current = await couch.get_doc(db, doc_id)
        await couch.save_doc(db, {**doc, "_rev": current["_rev"]})
    assert (await couch.get_doc(db, doomed)).get("pvt_deleted") is not True

    rows = await listed(client, base, headers)
    assert doomed not in rows
    assert rows[renamed] == "New name"


async def test_a_listing_shows_a_resource_created_here_before_the_view_has_it(client, couch, tenant):
    account, headers, _ = tenant
    base = f"/v2/accounts/{account['_id']}/resources"
    db = names.account_db(account["_id"])
    resp = await client.put(base, json={"data": {"name": "Fresh", "gateways": []}}, headers=headers)
    fresh = (await resp.json())["data"]["id"]
    current = await couch.get_doc(db, fresh)
    await couch.save_doc(db, {**current, "pvt_type": "not_yet_replicated"})  # the view lacks it
    assert (await listed(client, base, headers))[fresh] == "Fresh"
