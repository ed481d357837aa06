"""The service beside a Kazoo 4.3 node on the real RabbitMQ: the test plays the Kazoo node.

It declares `resource_jobs_listener` as `cb_jobs_listener` does (gen_listener →
`kz_amqp_util:new_queue/2` with `exclusive` false: not durable, auto-delete, `x-max-length` 100,
`x-message-ttl` 60000), publishes delegation messages as `cb_jobs_listener:publish/3` does, and
listens on `configuration` as any Kazoo listener would."""

from __future__ import annotations

import json
import secrets

import aio_pika
import aiormq
import pytest
from aiohttp.test_utils import TestClient, TestServer

from kazoo_crossbar.app import SERVICES, create_app
from kazoo_crossbar.config import Settings
from kazoo_crossbar.storage import names

from .. import broker
from ..eventually import eventually
from ..kazoo import numbers_block, stale_job, wait_stored

pytestmark = pytest.mark.asyncio(loop_scope="session")

JOBS_QUEUE = "resource_jobs_listener"
# what kz_amqp_util:queue_arguments([]) yields (read from Kazoo 4.3, not from our code)
KAZOO_QUEUE_ARGS = {"x-max-length": 100, "x-message-ttl": 60000}


async def kazoo_declares_jobs_queue(arguments: dict | None = None) -> None:
    """Declare the jobs queue the way a Kazoo node does; raises when RabbitMQ refuses it."""
    connection = await aio_pika.connect(broker.amqp_url(), timeout=5)
    try:
        channel = await connection.channel()
        await channel.declare_queue(
            JOBS_QUEUE,
            durable=False,
            exclusive=False,
            auto_delete=True,
            arguments=KAZOO_QUEUE_ARGS if arguments is None else arguments,
        )
    finally:
        await connection.close()


async def delete_jobs_queue() -> None:
    connection = await aio_pika.connect(broker.amqp_url(), timeout=5)
    try:
        channel = await connection.channel()
        await channel.queue_delete(JOBS_QUEUE)
    finally:
        await connection.close()


async def kazoo_delegates(account_id: str, job_id: str) -> None:
    """cb_jobs_listener:publish/3 → kapi_delegate:publish_delegate(<<"cb_jobs_listener">>, API)."""
    payload = {
        "Delegate-Message": {"Account-ID": account_id, "Job-ID": job_id},
        "Msg-ID": secrets.token_hex(8),
        "Event-Category": "delegate",
        "Event-Name": "job",
        "App-Name": "crossbar",
        "App-Version": "4.3.0",
        "Node": "crossbar@kazoo-node.example",
        "Server-ID": "",
    }
    connection = await aio_pika.connect(broker.amqp_url(), timeout=5)
    try:
        channel = await connection.channel()
        kapps = await channel.declare_exchange("kapps", aio_pika.ExchangeType.TOPIC, durable=False)
        await kapps.publish(
            aio_pika.Message(json.dumps(payload).encode(), content_type="application/json"),
            routing_key="delegate.cb_jobs_listener",
        )
    finally:
        await connection.close()


class ConfigListener:
    """A Kazoo listener's own queue on the `configuration` exchange (kapi_conf bindings: every doc event)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []

    async def start(self) -> ConfigListener:
        self.connection = await aio_pika.connect(broker.amqp_url(), timeout=5)
        channel = await self.connection.channel()
        queue = await channel.declare_queue("", exclusive=True, auto_delete=True, arguments={"x-max-length": 100_000})
        exchange = await channel.declare_exchange("configuration", aio_pika.ExchangeType.TOPIC, durable=False)
        for action in ("doc_created", "doc_edited", "doc_deleted"):
            await queue.bind(exchange, routing_key=f"{action}.#")
        await queue.consume(self._on, no_ack=True)
        return self

    async def _on(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        self.events.append((message.routing_key or "", json.loads(message.body)))

    def revs(self, db: str, doc_id: str) -> set[str]:
        return {p["Rev"] for _, p in self.events if p.get("Database") == names.encode(db) and p.get("ID") == doc_id}

    async def wait_revs(self, db: str, doc_id: str, wanted: set[str], timeout_s: float = 15.0) -> None:
        await eventually(
            lambda: sorted(wanted - self.revs(db, doc_id)),
            lambda missing: not missing,
            what=f"{db}/{doc_id}: a change event for each revision (seen: the revisions still without one)",
            timeout_s=timeout_s,
        )

    async def close(self) -> None:
        await self.connection.close()


async def all_revs(couch, db: str, doc_id: str) -> list[str]:
    """Every revision the document went through, oldest last (CouchDB's `revs=true`)."""
    doc = await couch.get_doc(db, doc_id, revs="true")
    start, ids = doc["_revisions"]["start"], doc["_revisions"]["ids"]
    return [f"{start - i}-{rev_id}" for i, rev_id in enumerate(ids)]


async def wait_connected(app, timeout_s: float = 20.0) -> None:
    await eventually(lambda: app[SERVICES].bus.connected, what="the service is on the bus", timeout_s=timeout_s)


def bus_app(settings: Settings):
    node = f"kznode_{secrets.token_hex(3)}@test"
    return create_app(
        Settings(couchdb_url=settings.couchdb_url, node_name=node, amqp_url=broker.amqp_url()), background=False
    )


async def local_resource(c: TestClient, account: dict, headers: dict) -> str:
    resp = await c.put(
        f"/v2/accounts/{account['_id']}/resources",
        headers=headers,
        json={"data": {"name": "Kazoo node carrier", "gateways": []}},
    )
    assert resp.status == 201
    return (await resp.json())["data"]["id"]


async def test_jobs_queue_declared_as_kazoo_before_and_after_and_delegation_runs(settings, master, kazoo, couch):
    await kazoo_declares_jobs_queue()  # a Kazoo node is up first
    app = bus_app(settings)
    async with TestClient(TestServer(app)) as c:
        await wait_connected(app)
        body = await (await c.get("/health")).json()
        assert body["amqp"] == "up", body
        await kazoo_declares_jobs_queue()  # ... and a Kazoo node (re)starting later is not refused
        account = await kazoo.account()
        rid = await local_resource(c, account, {"X-Auth-Token": await kazoo.token_for(account)})
        nums = numbers_block(3)
        db, job_id = await stale_job(couch, account, rid, nums, age_s=0)  # a Kazoo node saved it
        await kazoo_delegates(account["_id"], job_id)
        doc = await wait_stored(couch, db, job_id)
        assert set(doc["success"]) == set(nums) and doc["errors"] == {}
        assert doc["pvt_node"] == app[SERVICES].settings.node_name


async def test_refused_declaration_is_retried_until_it_is_accepted(settings, master, monkeypatch):
    # a queue declared with other arguments (a node configured otherwise) makes RabbitMQ refuse ours
    await delete_jobs_queue()
    await kazoo_declares_jobs_queue({"x-max-length": 5})
    with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed):
        await kazoo_declares_jobs_queue()  # RabbitMQ does refuse the other set of arguments
    attempts = []
    connect = aio_pika.connect_robust

    async def counted_connect(*args, **kwargs):
        attempts.append(args)
        return await connect(*args, **kwargs)

    monkeypatch.setattr(aio_pika, "connect_robust", counted_connect)
    app = bus_app(settings)
    async with TestClient(TestServer(app)) as c:
        # refused, and tried again: a connection after the odd queue goes away is a retry
        await eventually(lambda: len(attempts), lambda n: n >= 2, what="the service tries again after a refusal")
        assert not app[SERVICES].bus.connected
        resp = await c.get("/health")
        assert resp.status == 503 and (await resp.json())["amqp"] == "down"
        await delete_jobs_queue()  # the odd declaration goes away; the service must keep trying
        await wait_connected(app, timeout_s=30)
        assert (await (await c.get("/health")).json())["amqp"] == "up"
        await kazoo_declares_jobs_queue()  # and what it declared is Kazoo's queue


async def test_kazoo_listener_sees_every_document_a_job_writes(settings, master, kazoo, couch):
    listener = await ConfigListener().start()
    app = bus_app(settings)
    try:
        async with TestClient(TestServer(app)) as c:
            await wait_connected(app)
            account = await kazoo.account()
            headers = {"X-Auth-Token": await kazoo.token_for(account)}
            rid = await local_resource(c, account, headers)
            nums = numbers_block(4)
            resp = await c.put(
                f"/v2/accounts/{account['_id']}/resources/jobs",
                headers=headers,
                json={"data": {"numbers": nums, "resource_id": rid}},
            )
            assert resp.status == 201
            job_id = (await resp.json())["data"]["id"]
            db = names.modb(account["_id"], int(job_id[:4]), int(job_id[4:6]))
            await wait_stored(couch, db, job_id)
            # every revision of the job: created, claimed, checkpoints, complete
            revs = await all_revs(couch, db, job_id)
            assert len(revs) >= 3
            await listener.wait_revs(db, job_id, set(revs))
            for n in nums:
                for ndb in (names.numbers_db(n), names.account_db(account["_id"])):
                    await listener.wait_revs(ndb, n, set(await all_revs(couch, ndb, n)))
            keys = {k for k, _ in listener.events}
            enc = names.encode(names.numbers_db(nums[0]))
            assert f"doc_created.{enc}.number.%2B{nums[0][1:]}" in keys

            # a recovery claim of a job another (dead) node left running is an edit Kazoo hears of
            stale_db, stale_id = await stale_job(couch, account, rid, numbers_block(2), status="running")
            first = (await all_revs(couch, stale_db, stale_id))[0]
            assert await app[SERVICES].recovery.run_pass() >= 1
            await wait_stored(couch, stale_db, stale_id)
            revs = await all_revs(couch, stale_db, stale_id)
            await listener.wait_revs(stale_db, stale_id, set(revs) - {first})
            claim = [p for _, p in listener.events if p.get("ID") == stale_id and p["Rev"].startswith("2-")]
            assert claim and claim[0]["Event-Name"] == "doc_edited" and claim[0]["Type"] == "resource_job"
    finally:
        await listener.close()
