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
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import AbstractConnection, AbstractIncomingMessage
from pamqp.common import Arguments

from ..storage import retry
from . import messages
from .base import Bus, NullBus, OnJob

log = structlog.get_logger(__name__)
OnChange = Callable[[str], None]  # a doc change routing key
OnState = Callable[[bool], None]  # connected or not
PUBLISH_TIMEOUT_S = 5.0
CONNECT_BACKOFF = retry.Backoff(0.5, 2, 30.0)


class BrokerUnavailable(Exception):
    """A command's broker could not be reached (the message says why)."""


class AmqpBus:
    """`consume=False`: a publisher only (a command that writes): it declares the exchanges and
    takes no delegated jobs and no change events."""

    def __init__(
        self,
        url: str,
        node: str,
        prefetch: int = 2,
        on_change: OnChange | None = None,
        on_state: OnState | None = None,
        *,
        consume: bool = True,
    ):
        self.url, self.node, self.prefetch, self.consume = url, node, prefetch, consume
        self.on_job: OnJob | None = None
        self.on_change, self.on_state = on_change, on_state
        self._connection: AbstractConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._exchanges: dict[str, aio_pika.abc.AbstractExchange] = {}
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
            lambda: self._open(5.0),
            tries=None,
            retry_on=(Exception,),
            backoff=CONNECT_BACKOFF,
            on_retry=_log_unavailable,
        )

    async def connect(self, timeout_s: float) -> None:
        """One attempt, for a command: connected when it returns, BrokerUnavailable otherwise (its
        message is the command's one error line: aiormq's own log line of the failure is muted)."""
        transport_log = logging.getLogger("aiormq.connection")
        level, transport_log.level = transport_log.level, logging.CRITICAL
        try:
            # not robust: a command publishes and exits, nothing to reconnect (and no retry noise)
            await asyncio.wait_for(self._open(timeout_s, robust=False), timeout_s + 1.0)
        except (Exception, TimeoutError) as exc:
            raise BrokerUnavailable(
                f"the broker at {_redact(self.url)} is not answering ({str(exc) or type(exc).__name__})"
            ) from None
        finally:
            transport_log.setLevel(level)

    async def _open(self, timeout_s: float, *, robust: bool = True) -> None:
        connection: AbstractConnection | None = None
        try:
            if robust:
                connection = await aio_pika.connect_robust(self.url, timeout=timeout_s)
                connection.reconnect_callbacks.add(self._on_reconnect)
            else:
                connection = await aio_pika.connect(self.url, timeout=timeout_s)
            await self._declare(connection)
            connection.close_callbacks.add(self._on_close)
            self._connection = connection
            self._set_connected(True)
            log.info("amqp_connected", url=_redact(self.url))
        except asyncio.CancelledError:
            if connection is not None:
                await asyncio.shield(_close_quietly(connection))
            raise
        except Exception:
            if connection is not None:
                await _close_quietly(connection)
            self._exchanges.clear()
            raise

    async def _declare(self, connection: AbstractConnection) -> None:
        channel = await connection.channel(publisher_confirms=True)
        # Kazoo declares these topic exchanges non-durable and not auto-deleted; ours must match.
        exchanges: dict[str, aio_pika.abc.AbstractExchange] = {}
        for name in messages.EXCHANGES:
            exchanges[name] = await channel.declare_exchange(
                name, aio_pika.ExchangeType.TOPIC, durable=False, auto_delete=False
            )
        if not self.consume:
            self._channel, self._exchanges = channel, exchanges
            return
        # The shared work queue of cb_jobs_listener: any Crossbar node may take a job. Its own
        # channel, so the prefetch bounds how many delegated jobs this node holds unacknowledged.
        # Declared as gen_listener declares it (kz_amqp_util:new_queue/2 with `exclusive` false:
        # not durable, auto-delete, Kazoo's default arguments), or one side is refused.
        consumer = await connection.channel()
        await consumer.set_qos(prefetch_count=self.prefetch)
        arguments: Arguments = dict(messages.queue_arguments())
        queue = await consumer.declare_queue(
            messages.JOBS_QUEUE, durable=False, exclusive=False, auto_delete=True, arguments=arguments
        )
        await queue.bind(exchanges[messages.KAPPS], routing_key=messages.JOBS_ROUTING_KEY)
        await queue.consume(self._on_message, exclusive=False)
        if self.on_change is not None:
            # our own queue of resource change events, to keep cached documents fresh; a
            # server-named queue, declared with Kazoo's arguments like every queue of a Kazoo node
            changes = await consumer.declare_queue("", exclusive=True, auto_delete=True, arguments=arguments)
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
        self,
        db: str,
        doc: dict,
        rev: str,
        *,
        created: bool = False,
        hard_deleted: bool = False,
        msg_id: str | None = None,
    ) -> None:
        built = messages.doc_change(db, doc, rev, self.node, created=created, hard_deleted=hard_deleted, msg_id=msg_id)
        if built is not None:
            await self._publish(messages.CONFIGURATION, *built)

    async def db_created(self, db: str) -> None:
        await self._publish(messages.CONFIGURATION, *messages.db_change(db, "created", self.node))

    async def reload_switch(self) -> None:
        for what in ("reload_acls", "reload_gateways"):
            await self._publish(messages.SWITCH, *messages.switch_reload(what, self.node))

    async def delegate_job(self, account_id: str, job_id: str, msg_id: str | None) -> bool:
        return await self._publish(messages.KAPPS, *messages.delegate_job(account_id, job_id, self.node, msg_id))


@asynccontextmanager
async def publisher(url: str | None, node: str, timeout_s: float = 10.0) -> AsyncIterator[Bus]:
    """The bus of a command that writes (`setup`, `accounts`): with a URL, a publisher connected
    before the first write (BrokerUnavailable when it cannot be), so the command's writes publish
    like the service's; without one, `NullBus`."""
    if not url:
        yield NullBus()
        return
    bus = AmqpBus(url, node, consume=False)
    await bus.connect(timeout_s)
    try:
        yield bus
    finally:
        await bus.stop()


async def _close_quietly(connection: AbstractConnection) -> None:
    try:
        await connection.close()
    except Exception as exc:  # already broken: nothing left to release
        log.debug("amqp_close_failed", error=str(exc) or type(exc).__name__)


def _log_unavailable(exc: Exception | None, delay: float) -> None:
    log.warning("amqp_unavailable", error=(str(exc) or type(exc).__name__) if exc else "", retry_in_s=delay)


def _redact(url: str) -> str:
    head, sep, tail = url.rpartition("@")
    return (head.split("//")[0] + "//***@" + tail) if sep else url
