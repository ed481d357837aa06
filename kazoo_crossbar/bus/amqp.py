"""The AMQP side of the service (aio-pika, publisher confirms on).

`NullBus` (base.py) when no broker is configured: the service works alone. `AmqpBus`
connects in the background and keeps trying with back-off while the broker
is away; HTTP never waits for it. A message is an optimisation, never the
only copy: CouchDB and the recovery loop are the source of truth, so a
publish that fails is logged and dropped (a job whose delegation could not
be published is run locally).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from ..storage import retry
from . import messages
from .base import OnJob

log = structlog.get_logger(__name__)
OnChange = Callable[[str], None]  # a doc change routing key
OnState = Callable[[bool], None]  # connected or not
PUBLISH_TIMEOUT_S = 5.0
CONNECT_BACKOFF = retry.Backoff(0.5, 2, 30.0)


class AmqpBus:
    def __init__(
        self, url: str, node: str, prefetch: int = 2, on_change: OnChange | None = None, on_state: OnState | None = None
    ):
        self.url, self.node, self.prefetch = url, node, prefetch
        self.on_job: OnJob | None = None
        self.on_change, self.on_state = on_change, on_state
        self._connection: AbstractRobustConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._exchanges: dict[str, aio_pika.abc.AbstractRobustExchange] = {}
        self._task: asyncio.Task | None = None
        self.connected = False

    async def start(self, on_job: OnJob) -> None:
        """Connect in the background; delegated jobs go to `on_job` (the job service)."""
        self.on_job = on_job
        self._task = asyncio.create_task(self._connect_loop(), name="amqp-connect")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._connection is not None:
            await self._connection.close()
        self._set_connected(False)

    async def _connect_loop(self) -> None:
        # Runs until the queues are declared: a refused declaration (PRECONDITION_FAILED from
        # a queue declared differently) is retried like a lost connection, never given up on.
        await retry.retrying(
            self._connect_once, tries=None, retry_on=(Exception,), backoff=CONNECT_BACKOFF, on_retry=_log_unavailable
        )
        log.info("amqp_connected", url=_redact(self.url))

    async def _connect_once(self) -> None:
        connection: AbstractRobustConnection | None = None
        try:
            connection = await aio_pika.connect_robust(self.url, timeout=5)
            await self._declare(connection)
            connection.close_callbacks.add(self._on_close)
            connection.reconnect_callbacks.add(self._on_reconnect)
            self._connection = connection
            self._set_connected(True)
        except asyncio.CancelledError:
            if connection is not None:
                await asyncio.shield(_close_quietly(connection))
            raise
        except Exception:
            if connection is not None:
                await _close_quietly(connection)
            self._exchanges.clear()
            raise

    async def _declare(self, connection: AbstractRobustConnection) -> None:
        channel = await connection.channel(publisher_confirms=True)
        # Kazoo declares these topic exchanges non-durable and not auto-deleted; ours must match.
        exchanges = {}
        for name in messages.EXCHANGES:
            exchanges[name] = await channel.declare_exchange(
                name, aio_pika.ExchangeType.TOPIC, durable=False, auto_delete=False
            )
        # The shared work queue of cb_jobs_listener: any Crossbar node may take a job. Its own
        # channel, so the prefetch bounds how many delegated jobs this node holds unacknowledged.
        # Declared as gen_listener declares it (kz_amqp_util:new_queue/2 with `exclusive` false:
        # not durable, auto-delete, Kazoo's default arguments), or one side is refused.
        consumer = await connection.channel()
        await consumer.set_qos(prefetch_count=self.prefetch)
        queue = await consumer.declare_queue(
            messages.JOBS_QUEUE, durable=False, exclusive=False, auto_delete=True, arguments=messages.queue_arguments()
        )
        await queue.bind(exchanges[messages.KAPPS], routing_key=messages.JOBS_ROUTING_KEY)
        await queue.consume(self._on_message, exclusive=False)
        if self.on_change is not None:
            # our own queue of resource change events, to keep cached documents fresh; a
            # server-named queue, declared with Kazoo's arguments like every queue of a Kazoo node
            changes = await consumer.declare_queue(
                "", exclusive=True, auto_delete=True, arguments=messages.queue_arguments()
            )
            await changes.bind(exchanges[messages.CONFIGURATION], routing_key="*.*.resource.*")
            await changes.consume(self._on_change_message, no_ack=True)
        self._channel, self._exchanges = channel, exchanges

    async def _on_change_message(self, message: AbstractIncomingMessage) -> None:
        if self.on_change is not None and message.routing_key:
            self.on_change(message.routing_key)

    def _set_connected(self, connected: bool) -> None:
        self.connected = connected
        if self.on_state is not None:
            self.on_state(connected)

    def _on_close(self, *_: Any) -> None:
        if self.connected:
            log.warning("amqp_disconnected")
        self._set_connected(False)

    def _on_reconnect(self, *_: Any) -> None:
        self._set_connected(True)
        log.info("amqp_reconnected")

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        async with message.process(ignore_processed=True):
            try:
                body = json.loads(message.body)
                delegate = body.get("Delegate-Message") or {}
                account_id, job_id = delegate.get("Account-ID"), delegate.get("Job-ID")
            except (ValueError, AttributeError):
                log.warning("amqp_bad_job_message")
                return
            if not (isinstance(account_id, str) and isinstance(job_id, str)):
                return
            if self.on_job is None:
                return
            log.info("job_delegated", job_id=job_id, account_id=account_id)
            outcome = await self.on_job(account_id, job_id)
            if outcome == "missing" and not message.redelivered:
                # not in our CouchDB (yet): give another consumer one chance before dropping it
                await message.nack(requeue=True)

    async def _publish(self, exchange: str, key: str, payload: dict) -> bool:
        target = self._exchanges.get(exchange)
        if not self.connected or target is None:
            return False
        message = aio_pika.Message(json.dumps(payload, separators=(",", ":")).encode(), content_type="application/json")
        try:
            await asyncio.wait_for(target.publish(message, routing_key=key), PUBLISH_TIMEOUT_S)
            return True
        except Exception as exc:  # broker away or refused: the write itself already happened
            log.warning("amqp_publish_failed", exchange=exchange, routing_key=key, error=str(exc) or type(exc).__name__)
            return False

    async def doc_changed(
        self, db: str, doc: dict, rev: str, *, hard_deleted: bool = False, msg_id: str | None = None
    ) -> None:
        built = messages.doc_change(db, doc, rev, self.node, hard_deleted=hard_deleted, msg_id=msg_id)
        if built is not None:
            await self._publish(messages.CONFIGURATION, *built)

    async def reload_switch(self) -> None:
        for what in ("reload_acls", "reload_gateways"):
            await self._publish(messages.SWITCH, *messages.switch_reload(what, self.node))

    async def delegate_job(self, account_id: str, job_id: str, msg_id: str | None) -> bool:
        return await self._publish(messages.KAPPS, *messages.delegate_job(account_id, job_id, self.node, msg_id))


async def _close_quietly(connection: AbstractRobustConnection) -> None:
    try:
        await connection.close()
    except Exception as exc:  # already broken: nothing left to release
        log.debug("amqp_close_failed", error=str(exc) or type(exc).__name__)


def _log_unavailable(exc: Exception | None, delay: float) -> None:
    log.warning("amqp_unavailable", error=(str(exc) or type(exc).__name__) if exc else "", retry_in_s=delay)


def _redact(url: str) -> str:
    head, sep, tail = url.rpartition("@")
    return (head.split("//")[0] + "//***@" + tail) if sep else url
