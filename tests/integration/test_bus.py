"""The Kazoo bus against the real RabbitMQ on 127.0.0.1:5672: every message kind with its
routing key and payload, delegation between service processes, a broker that goes away."""

from __future__ import annotations

import json
import secrets

import aio_pika
from aiohttp.test_utils import TestClient, TestServer

from kazoo_crossbar.app import SERVICES, create_app
from kazoo_crossbar.config import Settings
from kazoo_crossbar.storage import names

from .. import broker
from ..conftest import NODE, free_port
from ..eventually import eventually
from ..kazoo import numbers_block, wait_for_job, wait_stored
from ..services import ServiceProcess
from ..tcp_proxy import CuttableProxy


async def test_global_resource_messages(bus_client, listener, master_token):
    headers = {"X-Auth-Token": master_token, "X-Request-ID": "bus-req-1"}
    resp = await bus_client.put("/v2/resources", json={"data": {"name": "Bus", "gateways": []}}, headers=headers)
    body = await resp.json()
    rid = body["data"]["id"]
    created = await listener.wait_for(lambda e, k, p: k == f"doc_created.offnet.resource.{rid}")
    exchange, _, payload = created[0]
    assert exchange == "configuration"
    assert payload["Event-Category"] == "configuration" and payload["Event-Name"] == "doc_created"
    assert payload["ID"] == rid and payload["Database"] == "offnet" and payload["Type"] == "resource"
    assert payload["Rev"] == body["revision"] and payload["Is-Soft-Deleted"] is False
    assert payload["App-Name"] == "datamgr" and payload["Msg-ID"] == "bus-req-1"
    assert payload["Date-Created"] <= payload["Date-Modified"] and "Account-ID" not in payload
    for what in ("reload_acls", "reload_gateways"):
        ((ex, _, p),) = await listener.wait_for(lambda e, k, p, w=what: k == f"switch.{w}")
        assert ex == "switch" and p["Event-Name"] == what and p["App-Name"] == "switch_event"
    listener.messages.clear()
    await bus_client.patch(f"/v2/resources/{rid}", json={"data": {"flags": ["x"]}}, headers=headers)
    await listener.wait_for(lambda e, k, p: k == f"doc_edited.offnet.resource.{rid}")
    await listener.wait_for(lambda e, k, p: k == "switch.reload_gateways")
    listener.messages.clear()
    await bus_client.delete(f"/v2/resources/{rid}", headers=headers)
    ((_, _, p),) = await listener.wait_for(lambda e, k, p: k == f"doc_deleted.offnet.resource.{rid}")
    assert p["Is-Soft-Deleted"] is True and p["Event-Name"] == "doc_deleted"
    await listener.wait_for(lambda e, k, p: k == "switch.reload_acls")


async def test_local_resource_and_sip_auth_messages(bus_client, listener, kazoo):
    account = await kazoo.account()
    headers = {"X-Auth-Token": await kazoo.token_for(account)}
    db = names.encode(names.account_db(account["_id"]))
    resp = await bus_client.put(
        f"/v2/accounts/{account['_id']}/resources",
        headers=headers,
        json={
            "data": {
                "name": "Reg",
                "gateways": [{"server": "s.example", "register": True, "username": "u", "password": "p"}],
            }
        },
    )
    rid = (await resp.json())["data"]["id"]
    ((_, _, p),) = await listener.wait_for(lambda e, k, p: k == f"doc_created.{db}.resource.{rid}")
    assert p["Account-ID"] == account["_id"] and p["Database"] == db
    await listener.wait_for(lambda e, k, p: k == f"doc_created.sip_auth.resource.{rid}")
    await listener.wait_for(lambda e, k, p: k == "switch.reload_gateways")
    listener.messages.clear()
    await bus_client.delete(f"/v2/accounts/{account['_id']}/resources/{rid}", headers=headers)
    await listener.wait_for(lambda e, k, p: k == f"doc_deleted.{db}.resource.{rid}")
    ((_, _, p),) = await listener.wait_for(lambda e, k, p: k == f"doc_deleted.sip_auth.resource.{rid}")
    assert p["Is-Soft-Deleted"] is False
    await listener.wait_for(lambda e, k, p: k == "switch.reload_acls")
    # reload_gateways follows reload_acls: wait for it too, or it may land after the clear below
    await listener.wait_for(lambda e, k, p: k == "switch.reload_gateways")
    # a local resource that never registered publishes no reloads
    listener.messages.clear()
    resp = await bus_client.put(
        f"/v2/accounts/{account['_id']}/resources", headers=headers, json={"data": {"name": "Plain", "gateways": []}}
    )
    rid2 = (await resp.json())["data"]["id"]
    await listener.wait_for(lambda e, k, p: k.endswith(f".resource.{rid2}"))
    await listener.barrier()  # whatever the PUT published has arrived
    assert not [k for _, k, _ in listener.messages if k.startswith("switch.")]


async def test_job_and_number_messages(bus_client, listener, kazoo):
    account = await kazoo.account()
    headers = {"X-Auth-Token": await kazoo.token_for(account)}
    resp = await bus_client.put(
        f"/v2/accounts/{account['_id']}/resources", headers=headers, json={"data": {"name": "J", "gateways": []}}
    )
    rid = (await resp.json())["data"]["id"]
    nums = numbers_block(2)
    resp = await bus_client.put(
        f"/v2/accounts/{account['_id']}/resources/jobs",
        headers=headers,
        json={"data": {"numbers": nums, "resource_id": rid}},
    )
    job_id = (await resp.json())["data"]["id"]
    modb = names.encode(names.modb(account["_id"], int(job_id[:4]), int(job_id[4:6])))
    ((_, _, p),) = await listener.wait_for(lambda e, k, p: k == f"doc_created.{modb}.resource_job.{job_id}")
    assert p["Account-ID"] == account["_id"]
    ((ex, _, p),) = await listener.wait_for(
        lambda e, k, p: k == "delegate.cb_jobs_listener" and p["Delegate-Message"]["Job-ID"] == job_id
    )
    assert ex == "kapps" and p["Delegate-Message"]["Account-ID"] == account["_id"]
    assert p["Event-Category"] == "delegate" and p["Event-Name"] == "job" and p["App-Name"] == "crossbar"
    await wait_for_job(bus_client, f"/v2/accounts/{account['_id']}/resources/jobs/{job_id}", headers)
    for n in nums:
        ndb = names.encode(names.numbers_db(n))
        enc = "%2B" + n[1:]
        ((_, _, p),) = await listener.wait_for(lambda e, k, p, ndb=ndb, enc=enc: k == f"doc_created.{ndb}.number.{enc}")
        assert p["Database"] == ndb and p["Type"] == "number"
        adb = names.encode(names.account_db(account["_id"]))
        await listener.wait_for(lambda e, k, p, adb=adb, enc=enc: k == f"doc_created.{adb}.number.{enc}")
    await listener.wait_for(lambda e, k, p: k == f"doc_edited.{modb}.resource_job.{job_id}")


async def test_broker_down_at_start_still_serves_and_runs_jobs(settings, master, kazoo):
    dead = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    app = create_app(Settings(couchdb_url=settings.couchdb_url, node_name=NODE, amqp_url=dead), background=False)
    async with TestClient(TestServer(app)) as c:
        account = await kazoo.account()
        headers = {"X-Auth-Token": await kazoo.token_for(account)}
        resp = await c.put(
            f"/v2/accounts/{account['_id']}/resources", headers=headers, json={"data": {"name": "NB", "gateways": []}}
        )
        assert resp.status == 201
        rid = (await resp.json())["data"]["id"]
        resp = await c.put(
            f"/v2/accounts/{account['_id']}/resources/jobs",
            headers=headers,
            json={"data": {"numbers": numbers_block(3), "resource_id": rid}},
        )
        job_id = (await resp.json())["data"]["id"]
        done = await wait_for_job(c, f"/v2/accounts/{account['_id']}/resources/jobs/{job_id}", headers)
        assert len(done["successes"]) == 3
        assert not app[SERVICES].bus.connected


async def test_broker_goes_away_mid_job(settings, master, kazoo, listener):
    proxy = await CuttableProxy("127.0.0.1", 5672).start()
    url = broker.amqp_url(proxy.port)
    app = create_app(Settings(couchdb_url=settings.couchdb_url, node_name=NODE, amqp_url=url), background=False)
    try:
        async with TestClient(TestServer(app)) as c:
            bus = app[SERVICES].bus
            await eventually(lambda: bus.connected, what="the service is on the bus")
            account = await kazoo.account()
            headers = {"X-Auth-Token": await kazoo.token_for(account)}
            resp = await c.put(
                f"/v2/accounts/{account['_id']}/resources",
                headers=headers,
                json={"data": {"name": "Cut", "gateways": []}},
            )
            rid = (await resp.json())["data"]["id"]
            nums = numbers_block(3000)
            resp = await c.put(
                f"/v2/accounts/{account['_id']}/resources/jobs",
                headers=headers,
                json={"data": {"numbers": nums, "resource_id": rid}},
            )
            job_id = (await resp.json())["data"]["id"]
            job_url = f"/v2/accounts/{account['_id']}/resources/jobs/{job_id}"

            async def status() -> str:
                return (await (await c.get(job_url, headers=headers)).json())["data"]["status"]

            await eventually(status, lambda s: s != "pending", what="the job has started")
            await proxy.cut()  # the broker "restarts": connections dropped, nothing listening
            resp = await c.get(f"/v2/accounts/{account['_id']}/resources", headers=headers)
            assert resp.status == 200  # HTTP keeps answering
            await eventually(lambda: not bus.connected, what="the service notices the broker is gone")
            await proxy.restore()
            done = await wait_for_job(c, job_url, headers)
            assert len(done["successes"]) == 3000 and done["errors"] == {}
            await eventually(lambda: bus.connected, what="the service reconnects")
            resp = await c.put(
                f"/v2/accounts/{account['_id']}/resources",
                headers=headers,
                json={"data": {"name": "After", "gateways": []}},
            )
            rid2 = (await resp.json())["data"]["id"]
            await listener.wait_for(lambda e, k, p: k.endswith(f".resource.{rid2}"), timeout_s=15)
    finally:
        await proxy.stop()


async def test_delegation_between_two_processes(couchdb_url, kazoo, tmp_path):
    account = await kazoo.account()
    headers = {"X-Auth-Token": await kazoo.token_for(account)}
    nodes = [f"deleg{i}{secrets.token_hex(2)}@test" for i in range(2)]
    procs = [ServiceProcess(couchdb_url, n, tmp_path, KAZOO_AMQP_URL=broker.amqp_url()).start() for n in nodes]
    try:
        import aiohttp

        async with aiohttp.ClientSession() as http:
            for p in procs:
                await eventually(lambda p=p: p.events("amqp_connected"), what=f"{p.node} is on the bus")
            async with http.put(
                f"{procs[0].url}/v2/accounts/{account['_id']}/resources",
                headers=headers,
                json={"data": {"name": "D", "gateways": []}},
            ) as resp:
                rid = (await resp.json())["data"]["id"]
            job_ids = []
            for _ in range(6):  # all submitted to the first node
                async with http.put(
                    f"{procs[0].url}/v2/accounts/{account['_id']}/resources/jobs",
                    headers=headers,
                    json={"data": {"numbers": numbers_block(20), "resource_id": rid}},
                ) as resp:
                    job_ids.append((await resp.json())["data"]["id"])
            ran_on = {}
            for job_id in job_ids:
                db = names.modb(account["_id"], int(job_id[:4]), int(job_id[4:6]))
                doc = await wait_stored(kazoo.couch, db, job_id)
                ran_on[job_id] = doc["pvt_node"]
                assert len(doc["success"]) == 20 and doc["errors"] == {}
    finally:
        for p in procs:
            p.stop()
    assert nodes[1] in ran_on.values()  # the second node took work from the shared queue
    started = [e["job_id"] for p in procs for e in p.events("job_started")]
    # each job ran exactly once: on the node that completed it (other consumers of the shared
    # queue, such as this test run's in-process service, may take some too)
    assert len(started) == len(set(started))
    assert sorted(started) == sorted(j for j, node in ran_on.items() if node in nodes)


async def test_cached_documents_follow_change_events(bus_client, couch, master_token):
    """With a broker, GET serves from a cache that doc-change events invalidate (Kazoo's open_cache_doc)."""
    headers = {"X-Auth-Token": master_token}
    resp = await bus_client.put("/v2/resources", json={"data": {"name": "Cached", "gateways": []}}, headers=headers)
    rid = (await resp.json())["data"]["id"]
    assert (await (await bus_client.get(f"/v2/resources/{rid}", headers=headers)).json())["data"]["name"] == "Cached"
    # a write that announces nothing is not seen: the document really came from the cache
    doc = await couch.get_doc("offnet", rid)
    doc["name"] = "Changed elsewhere"
    await couch.save_doc("offnet", doc)
    assert (await (await bus_client.get(f"/v2/resources/{rid}", headers=headers)).json())["data"]["name"] == "Cached"
    # the change event another node publishes after its write invalidates it
    connection = await aio_pika.connect(broker.amqp_url())
    channel = await connection.channel()
    exchange = await channel.declare_exchange("configuration", aio_pika.ExchangeType.TOPIC, durable=False)
    # as kzs_publish:publish/3 sends it (its Date-* swap included)
    kazoo_payload = {
        "ID": rid,
        "Origin-Cache": "kazoo_data_cache",
        "Type": "resource",
        "Database": "offnet",
        "Rev": doc["_rev"],
        "Date-Modified": doc.get("pvt_created"),
        "Date-Created": doc.get("pvt_modified"),
        "Is-Soft-Deleted": False,
        "Event-Category": "configuration",
        "Event-Name": "doc_edited",
        "App-Name": "datamgr",
        "App-Version": "4.0.0",
        "Node": "ecallmgr@kazoo1.example",
        "Msg-ID": "5f1e0c6d2b8a4e7f9c3d1a2b3c4d5e6f",
    }
    await exchange.publish(
        aio_pika.Message(json.dumps(kazoo_payload).encode(), content_type="application/json"),
        routing_key=f"doc_edited.offnet.resource.{rid}",
    )
    await connection.close()

    async def name() -> str:
        return (await (await bus_client.get(f"/v2/resources/{rid}", headers=headers)).json())["data"]["name"]

    await eventually(name, lambda n: n == "Changed elsewhere", what="the change event reaches the cache")
    # our own writes are seen at once
    await bus_client.patch(f"/v2/resources/{rid}", json={"data": {"name": "Patched"}}, headers=headers)
    body = await (await bus_client.get(f"/v2/resources/{rid}", headers=headers)).json()
    assert body["data"]["name"] == "Patched"
    await bus_client.delete(f"/v2/resources/{rid}", headers=headers)
    assert (await bus_client.get(f"/v2/resources/{rid}", headers=headers)).status == 404


async def test_no_cache_without_a_broker(client, couch, master_token):
    headers = {"X-Auth-Token": master_token}
    resp = await client.put("/v2/resources", json={"data": {"name": "Uncached", "gateways": []}}, headers=headers)
    rid = (await resp.json())["data"]["id"]
    await client.get(f"/v2/resources/{rid}", headers=headers)
    doc = await couch.get_doc("offnet", rid)
    doc["name"] = "Changed elsewhere"
    await couch.save_doc("offnet", doc)
    body = await (await client.get(f"/v2/resources/{rid}", headers=headers)).json()
    assert body["data"]["name"] == "Changed elsewhere"
