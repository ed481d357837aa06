"""`_design/services` in account databases, as kazoo_services_maintenance:register_views/0 registers
it (classification account), and the services recount it makes possible: on an account made by
`setup` or `accounts create`, a job's numbers are counted into the account's services document
(created as kz_services:fetch creates a missing one), the way Kazoo's kz_services:commit reads it."""

from __future__ import annotations

import secrets

from kazoo_crossbar.storage import names, provision

from ..kazoo import numbers_block, wait_for_job


def number_doc(e164: str, module: str, features: dict) -> dict:
    """A number document as knm_phone_number:to_json stores it in the account database."""
    return {
        "_id": e164,
        "pvt_type": "number",
        "pvt_module_name": module,
        "pvt_state": "in_service",
        "pvt_features": features,
        "pvt_db_name": names.encode(names.numbers_db(e164)),
    }


async def test_quantify_gives_kazoos_rows_for_kazoo_documents(couch, kazoo):
    """The `services/quantify` contract (key [category, item], value a count, `_sum`): numbers by
    carrier module and feature, phone numbers by knm_converters' default classifiers (first match;
    none for a number with the `local` feature), users by priv_level, devices by type, mailboxes."""
    account = await kazoo.plain_account(f"Quantify {secrets.token_hex(3)}")
    db = names.account_db(account["_id"])
    docs = [
        number_doc("+18005550100", "knm_other", {}),  # tollfree_us
        number_doc("+19005550100", "knm_other", {"cnam": {}}),  # toll_us
        number_doc("+18095550100", "knm_other", {}),  # caribbean (before did_us)
        number_doc("+14155550100", "knm_other", {"e911": {}}),  # did_us
        number_doc("+442079460000", "knm_bandwidth2", {}),  # international
        number_doc("+14155550101", "knm_local", {"local": {}}),  # local: not a phone_numbers billable
        {**number_doc("+14155550102", "knm_other", {}), "pvt_deleted": True},
        {"_id": secrets.token_hex(16), "pvt_type": "user", "priv_level": "admin"},
        {"_id": secrets.token_hex(16), "pvt_type": "user", "priv_level": "user", "enabled": False},
        {"_id": secrets.token_hex(16), "pvt_type": "device"},
        {"_id": secrets.token_hex(16), "pvt_type": "device", "device_type": "softphone"},
        {"_id": secrets.token_hex(16), "pvt_type": "vmbox", "transcribe": True},
    ]
    for doc in docs:
        await couch.save_doc(db, doc)
    res = await couch.view(db, "services", "quantify", group=True)
    rows = {tuple(r["key"]): r["value"] for r in res["rows"]}
    users = {k: v for k, v in rows.items() if k[0] == "users"}  # the account's own admin (setup/accounts) aside
    assert users.get(("users", "user")) is None and users[("users", "admin")] >= 1
    assert {k: v for k, v in rows.items() if k[0] != "users"} == {
        ("number_carriers", "knm_other"): 4,
        ("number_carriers", "knm_bandwidth2"): 1,
        ("number_carriers", "knm_local"): 1,
        ("number_services", "cnam"): 1,
        ("number_services", "e911"): 1,
        ("number_services", "local"): 1,
        ("phone_numbers", "tollfree_us"): 1,
        ("phone_numbers", "toll_us"): 1,
        ("phone_numbers", "caribbean"): 1,
        ("phone_numbers", "did_us"): 1,
        ("phone_numbers", "international"): 1,
        ("devices", "sip_device"): 1,
        ("devices", "softphone"): 1,
        ("voicemails", "mailbox"): 1,
        ("voicemails", "transcription"): 1,
    }


async def test_the_recount_happens_on_fresh_accounts(client, couch, kazoo, master):
    """Accounts made by `accounts create` and by `setup` (the master account): a job's numbers are
    counted into `services/<account>.quantities.account`, the document made as kz_services:create
    makes it when the account had none."""
    master_doc = await provision.get_account(couch, master["master_account_id"])
    fresh = await kazoo.plain_account(f"Recount {secrets.token_hex(3)}", allow_additions=True)
    for account in (fresh, master_doc):
        headers = {"X-Auth-Token": await kazoo.token_for(account)}
        resp = await client.put(
            f"/v2/accounts/{account['_id']}/resources",
            json={"data": {"name": "Count", "gateways": []}},
            headers=headers,
        )
        rid = (await resp.json())["data"]["id"]
        try:
            before = (await couch.get_doc("services", account["_id"]))["quantities"]["account"]
        except Exception:
            before = {}
        nums = numbers_block(3)
        resp = await client.put(
            f"/v2/accounts/{account['_id']}/resources/jobs",
            json={"data": {"numbers": nums, "resource_id": rid}},
            headers=headers,
        )
        job_id = (await resp.json())["data"]["id"]
        done = await wait_for_job(client, f"/v2/accounts/{account['_id']}/resources/jobs/{job_id}", headers)
        assert set(done["successes"]) == set(nums)
        services = await couch.get_doc("services", account["_id"])
        counted = services["quantities"]["account"]
        assert counted["number_carriers"]["knm_local"] == before.get("number_carriers", {}).get("knm_local", 0) + 3
        assert counted["number_services"]["local"] == before.get("number_services", {}).get("local", 0) + 3
        # kz_services:create's shape, so Kazoo's kz_services:fetch reads it as its own
        assert services["pvt_type"] == "service" and services["pvt_status"] == "good_standing"
        assert services["pvt_tree"] == account.get("pvt_tree", [])
        assert services["pvt_account_db"] == names.encode(names.account_db(account["_id"]))
        assert services["pvt_reseller_id"] == master["master_account_id"]
        assert "cascade" in services["quantities"]
