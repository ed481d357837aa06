"""`crossbar_job_numbers_total` counts every number a job reports exactly once, whatever its
outcome (issue 22 item 7: `not_reconcilable` was never counted)."""

from __future__ import annotations

import re

from ..kazoo import numbers_block, wait_for_job

COUNTER = re.compile(r'^crossbar_job_numbers_total\{result="(success|error)"\} (\S+)$', re.M)


async def numbers_counter(client) -> dict[str, float]:
    text = await (await client.get("/metrics")).text()
    return {"success": 0.0, "error": 0.0} | {result: float(value) for result, value in COUNTER.findall(text)}


async def run_job(client, account, headers, rid, numbers) -> dict:
    url = f"/v2/accounts/{account['_id']}/resources/jobs"
    resp = await client.put(url, json={"data": {"numbers": numbers, "resource_id": rid}}, headers=headers)
    body = await resp.json()
    assert resp.status == 201, body
    return await wait_for_job(client, f"{url}/{body['data']['id']}", headers)


async def test_every_number_of_a_mixed_job_is_counted_once(client, tenant):
    account, headers, rid = tenant
    held = numbers_block(3)
    await run_job(client, account, headers, rid, held)  # these exist (reserved) before the mixed job
    good = numbers_block(4)
    unreconcilable = ["12", "+1555", "555", "abc", "x" * 64]
    duplicates = [good[0], good[1], good[1][2:]]  # the same E.164 number again, and without +1
    before = await numbers_counter(client)
    done = await run_job(client, account, headers, rid, good + unreconcilable + duplicates + held)
    after = await numbers_counter(client)

    assert set(done["successes"]) == set(good)
    assert {k: v["error"] if isinstance(v, dict) else v for k, v in done["errors"].items()} == {
        **dict.fromkeys(unreconcilable, "not_reconcilable"),
        **dict.fromkeys(held, "number_exists"),
    }
    assert after["success"] - before["success"] == len(done["successes"]) == 4
    assert after["error"] - before["error"] == len(done["errors"]) == len(unreconcilable) + len(held)
