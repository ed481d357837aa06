"""Bulk number jobs through the API: documents, number-manager rules, listing."""

from __future__ import annotations

import re
import secrets

import pytest
from aiohttp import web

from kazoo_crossbar.storage import names
from kazoo_crossbar.storage.couch import NotFound

from ..kazoo import fixture, numbers_block, wait_for_job


@pytest.fixture(scope="module")
async def tenant(kazoo, client):
    account = await kazoo.account()  # the fixture account has pvt_wnm_allow_additions
    headers = {"X-Auth-Token": await kazoo.token_for(account)}
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources", json={"data": {"name": "BYOC", "gateways": []}}, headers=headers
    )
    return account, headers, (await resp.json())["data"]["id"]


async def submit(client, account, headers, numbers, resource_id, **extra):
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources/jobs",
        json={"data": {"numbers": numbers, "resource_id": resource_id, **extra}},
        headers=headers,
    )
    body = await resp.json()
    assert resp.status == 201, body
    return body


async def test_job_lifecycle_and_documents(client, couch, tenant):
    account, headers, rid = tenant
    nums = numbers_block(3)
    body = await submit(client, account, headers, nums, rid, name="Batch One")
    job = body["data"]
    assert re.fullmatch(r"\d{6}-[0-9a-f]{16}", job["id"])
    assert job == {
        "numbers": nums,
        "resource_id": rid,
        "name": "Batch One",
        "errors": {},
        "success": {},
        "successes": {},
        "id": job["id"],
    }
    url = f"/v2/accounts/{account['_id']}/resources/jobs/{job['id']}"
    done = await wait_for_job(client, url, headers)
    assert set(done["successes"]) == set(nums) and done["errors"] == {}
    # 4.3's code answers `success`, its API documentation `successes`: both, the same object
    assert done["success"] == done["successes"]
    assert done["timestamp"] > 63_000_000_000 and done["status"] == "complete"
    entry = done["successes"][nums[0]]
    # knm_phone_number:to_public_json: no `id` (the number is the key)
    assert "id" not in entry and entry["resource_id"] == rid and entry["state"] == "reserved"
    assert entry["features"] == ["local"] and entry["_read_only"]["carrier_module"] == "local"

    modb = names.modb(account["_id"], int(job["id"][:4]), int(job["id"][4:6]))
    stored = await couch.get_doc(modb, job["id"])
    assert stored["pvt_type"] == "resource_job" and stored["pvt_status"] == "complete"
    assert set(stored["success"]) == set(nums) and "successes" not in stored
    assert stored["pvt_account_id"] == account["_id"] and stored["pvt_account_db"] == names.encode(modb)
    assert stored["pvt_auth_account_id"] == account["_id"] and stored["pvt_alphanum_name"] == "batchone"

    for number in nums:
        ndb = names.numbers_db(number)
        doc = await couch.get_doc(ndb, number)
        assert doc["pvt_type"] == "number" and doc["pvt_state"] == "reserved"
        assert doc["pvt_db_name"] == names.encode(ndb) == "numbers%2F%2B1" + number[2:5]
        assert doc["pvt_assigned_to"] == account["_id"] and doc["pvt_reserve_history"] == [account["_id"]]
        assert doc["pvt_module_name"] == "knm_local" and doc["pvt_features"] == {"local": {}}
        assert doc["pvt_ported_in"] is False and doc["resource_id"] == rid
        copy = await couch.get_doc(names.account_db(account["_id"]), number)
        assert {k: v for k, v in copy.items() if k != "_rev"} == {k: v for k, v in doc.items() if k != "_rev"}
        rows = (await couch.view(ndb, "numbers", "assigned_to", key=[account["_id"], number]))["rows"]
        assert len(rows) == 1


async def test_every_per_number_error(client, couch, kazoo, tenant):
    account, headers, rid = tenant
    npa_numbers = numbers_block(6)
    taken, aging, available, fresh = npa_numbers[0], npa_numbers[1], npa_numbers[2], npa_numbers[3]
    in_service = fixture("numbers-db.number-doc.json")
    for number, state in ((taken, "in_service"), (aging, "aging"), (available, "available")):
        db = names.numbers_db(number)
        await couch.create_db(db)
        # assigned in the caller's own account: another hierarchy's number would be a 403 (handle_fetch)
        await couch.save_doc(db, {**in_service, "_id": number, "pvt_state": state, "pvt_assigned_to": account["_id"]})
    raw_fresh = fresh[2:]  # 10 digits: normalised to +1…
    body = await submit(client, account, headers, [taken, "123", aging, available, raw_fresh, raw_fresh], rid)
    done = await wait_for_job(client, f"/v2/accounts/{account['_id']}/resources/jobs/{body['data']['id']}", headers)
    errors = done["errors"]
    assert errors[taken] == {
        "code": 409,
        "error": "number_exists",
        "cause": taken,
        "message": f"number {taken} already exists",
        "assigned_to": account["_id"],  # ours, not Kazoo's: the holder, the job's own account
    }
    assert errors["123"] == "not_reconcilable"
    assert errors[aging] == {
        "code": 400,
        "error": "invalid_state_transition",
        "cause": "from aging to reserved",
        "message": "invalid state transition",
    }
    assert set(done["successes"]) == {available, fresh}  # the duplicate entry is processed once
    took = await couch.get_doc(names.numbers_db(available), available)
    assert took["pvt_assigned_to"] == account["_id"] and took["pvt_state"] == "reserved"
    assert took["pvt_reserve_history"][0] == account["_id"]


async def test_account_without_additions_is_forbidden(client, kazoo):
    account = await kazoo.account(pvt_wnm_allow_additions=False)
    headers = {"X-Auth-Token": await kazoo.token_for(account)}
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources", json={"data": {"name": "x", "gateways": []}}, headers=headers
    )
    rid = (await resp.json())["data"]["id"]
    nums = numbers_block(2)
    body = await submit(client, account, headers, nums, rid)
    done = await wait_for_job(client, f"/v2/accounts/{account['_id']}/resources/jobs/{body['data']['id']}", headers)
    assert done["successes"] == {}
    assert done["errors"][nums[0]] == {
        "code": 403,
        "error": "forbidden",
        "cause": "state_for_create",
        "message": "requestor is unauthorized to perform operation",
    }


async def test_global_resource_uses_the_other_carrier(client, couch, kazoo, tenant, master_token, aiohttp_server):
    account, headers, _ = tenant
    admin = {"X-Auth-Token": master_token}
    resp = await client.put("/v2/resources", json={"data": {"name": "Global", "gateways": []}}, headers=admin)
    global_rid = (await resp.json())["data"]["id"]
    nums = numbers_block(3)
    # no phonebook configured: every new number fails as in Kazoo
    body = await submit(client, account, headers, nums[:1], global_rid)
    done = await wait_for_job(client, f"/v2/accounts/{account['_id']}/resources/jobs/{body['data']['id']}", headers)
    assert done["errors"][nums[0]]["message"] == "missing_provider_url"
    with pytest.raises(NotFound):
        await couch.get_doc(names.numbers_db(nums[0]), nums[0])

    orders = []

    async def order(request):
        payload = await request.json()
        orders.append((request.match_info["country"], payload))
        return web.json_response(
            {
                "data": {
                    n: {"status": "success", "opaque": {"ref": n[-4:]}, "locality": {"city": "Testville"}}
                    if n != nums[2]
                    else {"status": "error", "message": "sold out"}
                    for n in payload["data"]["numbers"]
                }
            }
        )

    app = web.Application()
    app.router.add_put("/numbers/{country}/order", order)
    phonebook = await aiohttp_server(app)
    async with kazoo.system_config(
        "number_manager.other", phonebook_url=str(phonebook.make_url("")), default_country="US", endpoints=[]
    ):
        body = await submit(client, account, headers, nums[1:], global_rid)
        done = await wait_for_job(client, f"/v2/accounts/{account['_id']}/resources/jobs/{body['data']['id']}", headers)
    assert list(done["successes"]) == [nums[1]], done
    assert done["errors"][nums[2]] == {
        "code": 500,
        "error": "unspecified_fault",
        "message": "fault by carrier",
        "cause": nums[2],
    }
    assert orders and orders[0][0] == "US" and orders[0][1]["data"]["numbers"] == nums[1:]
    with pytest.raises(NotFound):  # a number the carrier refused is not written
        await couch.get_doc(names.numbers_db(nums[2]), nums[2])
    doc = await couch.get_doc(names.numbers_db(nums[1]), nums[1])
    assert doc["pvt_module_name"] == "knm_other" and doc["pvt_carrier_data"] == {"ref": nums[1][-4:]}
    assert doc["pvt_features"] == {"locality": {"city": "Testville"}}


@pytest.mark.parametrize(
    "data,key,code",
    [
        ({"numbers": [], "resource_id": "x"}, "numbers", "minItems"),
        ({"numbers": [5], "resource_id": "x"}, "numbers.0", "type"),
        ({"numbers": ["+12223334444"]}, "resource_id", "required"),
        ({"resource_id": "x"}, "numbers", "required"),
        ({"numbers": ["+12223334444"], "resource_id": "no-such-resource"}, "resource_id", "not_found"),
    ],
)
async def test_job_validation(client, tenant, data, key, code):
    account, headers, _ = tenant
    resp = await client.put(f"/v2/accounts/{account['_id']}/resources/jobs", json={"data": data}, headers=headers)
    body = await resp.json()
    assert resp.status == 400 and body["message"] == "validation error"
    assert code in body["data"][key], body["data"]


async def test_fetch_errors(client, tenant):
    account, headers, _ = tenant
    base = f"/v2/accounts/{account['_id']}/resources/jobs/"
    for bad in ("nope", "2024-abc", "abcdef-1234"):
        resp = await client.get(base + bad, headers=headers)
        body = await resp.json()
        assert resp.status == 404 and body["message"] == "bad identifier" and body["data"] == [bad]
    resp = await client.get(base + "202401-" + secrets.token_hex(8), headers=headers)
    body = await resp.json()
    assert resp.status == 404 and body["message"] == "bad_identifier"
    resp = await client.post(base + "202401-" + secrets.token_hex(8), headers=headers, json={"data": {}})
    assert resp.status == 405


async def test_global_jobs_endpoint(client, couch, kazoo, master, master_token, tenant):
    _account, headers, rid = tenant
    resp = await client.put(
        "/v2/resources/jobs", json={"data": {"numbers": ["+12223334444"], "resource_id": rid}}, headers=headers
    )
    assert resp.status == 403
    resp = await client.put(
        "/v2/resources", json={"data": {"name": "G", "gateways": []}}, headers={"X-Auth-Token": master_token}
    )
    grid = (await resp.json())["data"]["id"]
    resp = await client.put(
        "/v2/resources/jobs",
        json={"data": {"numbers": ["123"], "resource_id": grid}},
        headers={"X-Auth-Token": master_token},
    )
    body = await resp.json()
    assert resp.status == 201
    job_id = body["data"]["id"]
    modb = names.modb(master["master_account_id"], int(job_id[:4]), int(job_id[4:6]))
    assert (await couch.get_doc(modb, job_id))["pvt_account_id"] == master["master_account_id"]


async def test_listing_counts_and_ranges(client, couch, kazoo):
    account = await kazoo.account()
    headers = {"X-Auth-Token": await kazoo.token_for(account)}
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources", json={"data": {"name": "L", "gateways": []}}, headers=headers
    )
    rid = (await resp.json())["data"]["id"]
    base = f"/v2/accounts/{account['_id']}/resources/jobs"
    resp = await client.get(base, headers=headers)
    assert resp.status == 200 and (await resp.json())["data"] == []
    ids = []
    for i in range(3):
        body = await submit(client, account, headers, numbers_block(2) + ["bad"], rid, name=f"job{i}")
        ids.append(body["data"]["id"])
        await wait_for_job(client, f"{base}/{ids[-1]}", headers)
    body = await (await client.get(base, headers=headers)).json()
    rows = {r["id"]: r for r in body["data"]}
    assert set(rows) == set(ids)
    row = rows[ids[0]]
    assert row["successes"] == 2 and row["failures"] == 1 and row["status"] == "complete"
    assert row["resource_id"] == rid and row["name"] == "job0" and isinstance(row["timestamp"], int)
    seen, start = [], None
    for _ in range(5):
        body = await (
            await client.get(base + "?page_size=2" + (f"&start_key={start}" if start else ""), headers=headers)
        ).json()
        assert body["page_size"] == len(body["data"]) >= 1
        seen += [r["id"] for r in body["data"]]
        start = body.get("next_start_key")
        if not start:
            break
    assert sorted(seen) == sorted(ids)
    now = names.gregorian_now()
    body = await (
        await client.get(base + f"?created_from={now - 10000000}&created_to={now - 9999000}", headers=headers)
    ).json()
    assert body["data"] == []
    for q, msg in (
        (f"created_from={now}&created_to={now - 10}", "is prior to"),
        (f"created_from={now - 3000000}&created_to={now}", "more than 2682000 seconds"),
    ):
        resp = await client.get(base + "?" + q, headers=headers)
        body = await resp.json()
        assert resp.status == 400 and msg in body["data"]["created_from"]["date_range"]["message"]
    resp = await client.get(base + "?page_size=0", headers=headers)
    body = await resp.json()
    assert resp.status == 404 and body["message"] == "faulty_request"
    ascending = await (await client.get(base + "?ascending=true", headers=headers)).json()
    descending = await (await client.get(base, headers=headers)).json()
    assert sorted(r["id"] for r in ascending["data"]) == sorted(ids)
    assert [r["id"] for r in ascending["data"]] == [r["id"] for r in descending["data"]][::-1]


async def test_listing_pages_over_equal_keys(client, couch, kazoo):
    """Jobs created in the same second share their view key; pages never split such a run."""
    from kazoo_crossbar.jobs.store import new_job_id

    account = await kazoo.account()
    headers = {"X-Auth-Token": await kazoo.token_for(account)}
    now = names.gregorian_now()
    modb = names.current_modb(account["_id"])
    from kazoo_crossbar.storage import views

    await views.ensure_db(couch, modb)
    ids = []
    for _i, stamp in enumerate([now - 50] * 3 + [now - 40] + [now - 30] * 4):
        job_id = new_job_id()
        ids.append(job_id)
        await couch.save_doc(
            modb,
            {
                "_id": job_id,
                "numbers": ["1"],
                "resource_id": "r",
                "errors": {},
                "success": {},
                "pvt_type": "resource_job",
                "pvt_status": "complete",
                "pvt_created": stamp,
                "pvt_modified": stamp,
            },
        )
    base = f"/v2/accounts/{account['_id']}/resources/jobs"
    for page_size in (1, 2, 3, 5):
        seen, start = [], None
        for _ in range(20):
            q = f"?page_size={page_size}" + (f"&start_key={start}" if start else "")
            body = await (await client.get(base + q, headers=headers)).json()
            seen += [r["id"] for r in body["data"]]
            start = body.get("next_start_key")
            if not start:
                break
        assert sorted(seen) == sorted(ids), page_size  # nothing lost, nothing twice


async def test_private_keys_in_a_job_are_dropped(client, couch, tenant):
    account, headers, rid = tenant
    body = await submit(client, account, headers, ["123"], rid, _weird="x", pvt_status="complete")
    job_id = body["data"]["id"]
    stored = await couch.get_doc(names.modb(account["_id"], int(job_id[:4]), int(job_id[4:6])), job_id)
    assert "_weird" not in stored and stored["pvt_status"] in ("pending", "running", "complete")
    assert "pvt_status" not in body["data"]


async def test_job_data_must_be_an_object(client, tenant):
    account, headers, _ = tenant
    resp = await client.put(
        f"/v2/accounts/{account['_id']}/resources/jobs", json={"data": ["+12223334444"]}, headers=headers
    )
    assert resp.status == 400


async def test_stale_account_copy_of_a_new_number_is_replaced(client, couch, tenant):
    """A new number whose copy already sits in the account DB (left there earlier): the optimistic
    copy write conflicts, is retried with the stored revision, and the copy is the job's."""
    account, headers, rid = tenant
    number = numbers_block(1)[0]
    adb = names.account_db(account["_id"])
    await couch.save_doc(adb, {"_id": number, "pvt_type": "number", "pvt_state": "deleted"})
    body = await submit(client, account, headers, [number], rid)
    done = await wait_for_job(client, f"/v2/accounts/{account['_id']}/resources/jobs/{body['data']['id']}", headers)
    assert list(done["successes"]) == [number]
    copy = await couch.get_doc(adb, number)
    assert copy["_rev"].startswith("2-") and copy["pvt_state"] == "reserved" and copy["resource_id"] == rid


async def test_jobs_under_the_deprecated_nouns(client, couch, kazoo, master_token, tenant):
    """cb_resources binds allowed_methods for local_resources and global_resources: their jobs answer too."""
    account, headers, rid = tenant
    base = f"/v2/accounts/{account['_id']}/local_resources/jobs"
    resp = await client.put(base, json={"data": {"numbers": numbers_block(1), "resource_id": rid}}, headers=headers)
    body = await resp.json()
    assert resp.status == 201, body
    job_id = body["data"]["id"]
    assert resp.headers["Location"].endswith(f"/local_resources/jobs/{job_id}")
    done = await wait_for_job(client, f"{base}/{job_id}", headers)
    assert len(done["successes"]) == 1
    modb = names.modb(account["_id"], int(job_id[:4]), int(job_id[4:6]))
    assert (await couch.get_doc(modb, job_id))["pvt_account_id"] == account["_id"]
    resp = await client.get(base, headers=headers)
    assert resp.status == 200 and job_id in {row["id"] for row in (await resp.json())["data"]}
    # the same job seen through resources/jobs
    resp = await client.get(f"/v2/accounts/{account['_id']}/resources/jobs/{job_id}", headers=headers)
    assert resp.status == 200
    # global_resources needs a super-duper admin (cb_resources:authorize → maybe_authorize_admin)
    gbase = f"/v2/accounts/{account['_id']}/global_resources/jobs"
    resp = await client.get(gbase, headers=headers)
    assert resp.status == 403 and (await resp.json())["error"] == "403"
    master = {"X-Auth-Token": master_token}
    resp = await client.get(f"{gbase}/{job_id}", headers=master)
    assert resp.status == 200 and (await resp.json())["data"]["status"] == "complete"
    resp = await client.put(gbase, json={"data": {"numbers": numbers_block(1), "resource_id": rid}}, headers=master)
    assert resp.status == 201
    gjob = (await resp.json())["data"]["id"]
    assert (await couch.get_doc(names.modb(account["_id"], int(gjob[:4]), int(gjob[4:6])), gjob))[
        "pvt_account_id"
    ] == account["_id"]
    resp = await client.get(f"/v2/accounts/{account['_id']}/local_resources/jobs/{job_id}/extra", headers=headers)
    assert resp.status == 404


async def masquerading_token(client, token: str, original_account_id: str, original_owner_id: str) -> str:
    """The token a Kazoo node issues to a super-duper admin impersonating someone: the same claims
    plus `original_account_id` / `original_owner_id`, signed with the cluster's key."""
    import jwt

    from kazoo_crossbar.app import SERVICES

    keys = client.app[SERVICES].tokens.keys
    kid = jwt.get_unverified_header(token)["kid"]
    claims = jwt.decode(token, options={"verify_signature": False})
    claims.update(original_account_id=original_account_id, original_owner_id=original_owner_id)
    return jwt.encode(claims, await keys.private_key(kid), algorithm="RS256", headers={"kid": kid})


async def test_job_keeps_ui_metadata_and_impersonation(client, couch, kazoo, master, tenant):
    account, headers, rid = tenant
    ui = {"origin": "numbers", "ui": "monster-ui", "version": "4.3-1"}
    body = await submit(client, account, headers, numbers_block(1), rid, ui_metadata=ui)
    job_id = body["data"]["id"]
    assert body["data"]["ui_metadata"] == ui
    db = names.modb(account["_id"], int(job_id[:4]), int(job_id[4:6]))
    stored = await couch.get_doc(db, job_id)
    assert stored["ui_metadata"] == ui
    assert "pvt_original_auth_account_id" not in stored and "pvt_original_auth_owner_id" not in stored
    done = await wait_for_job(client, f"/v2/accounts/{account['_id']}/resources/jobs/{job_id}", headers)
    assert done["ui_metadata"] == ui  # the runner's saves keep it too
    original_owner = secrets.token_hex(16)
    token = await masquerading_token(client, headers["X-Auth-Token"], master["master_account_id"], original_owner)
    body = await submit(client, account, {"X-Auth-Token": token}, numbers_block(1), rid)
    stored = await couch.get_doc(db, body["data"]["id"])
    assert stored["pvt_original_auth_account_id"] == master["master_account_id"]
    assert stored["pvt_original_auth_owner_id"] == original_owner
    assert stored["pvt_auth_account_id"] == account["_id"]
    assert not any(k.startswith("pvt_") for k in body["data"])


async def job_revisions(couch, db: str, job_id: str) -> list[dict]:
    """Every stored revision of a job document, oldest first."""
    info = await couch.get_doc(db, job_id, revs_info="true")
    revs = [r["rev"] for r in info["_revs_info"] if r["status"] == "available"]
    return [await couch.get_doc(db, job_id, rev=rev) for rev in reversed(revs)]


@pytest.mark.parametrize(
    "config,folded",
    [
        ({"job_fold_batches": 2}, [500]),  # four batches of 250: one fold after the second
        ({"job_fold_batches": 1}, [250, 500, 750]),
        # (a job none of whose folds fits job_document_max_bytes is now refused at creation:
        # tests/hostile/test_job_too_big.py)
    ],
)
async def test_results_are_folded_every_n_batches_within_the_size_bound(client, couch, kazoo, tenant, config, folded):
    account, headers, rid = tenant
    nums = numbers_block(1000)
    async with kazoo.system_config("crossbar.resources", **config):
        job = (await submit(client, account, headers, nums, rid))["data"]
        await wait_for_job(client, f"/v2/accounts/{account['_id']}/resources/jobs/{job['id']}", headers)
    db = names.modb(account["_id"], int(job["id"][:4]), int(job["id"][4:6]))
    revisions = await job_revisions(couch, db, job["id"])
    running = [r for r in revisions if r["pvt_status"] == "running"]
    # the claim (nothing yet), then one revision per fold, each holding the batches before it
    assert [len(r["success"]) for r in running] == [0, *folded]
    assert revisions[-1]["pvt_status"] == "complete" and set(revisions[-1]["success"]) == set(nums)
