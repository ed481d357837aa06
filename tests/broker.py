"""The real RabbitMQ on 127.0.0.1:5672, in a virtual host of this test run's own.

Test runs on one machine share the broker; Kazoo's queue names (`resource_jobs_listener`) are
fixed, so two runs in the same virtual host would take each other's jobs. Each run makes its own
vhost with `rabbitmqctl` (root on these machines) and removes it at the end; without rabbitmqctl
the default vhost is used, as a lone CI run can afford."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from urllib.parse import quote

import aio_pika

from .eventually import eventually

VHOST = f"kazoo-crossbar-test-{os.getpid()}"
BARRIER = "kazoo-crossbar-test-barrier"  # the type of Listener.barrier's marker, never a Kazoo message
_created = False


def _ctl(*args: str) -> bool:
    ctl = shutil.which("rabbitmqctl")
    if not ctl:
        return False
    try:
        return (
            subprocess.run([ctl, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def create_vhost() -> None:
    global _created
    _created = _ctl("add_vhost", VHOST) and _ctl("set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*")


def delete_vhost() -> None:
    if _created:
        _ctl("delete_vhost", VHOST)


def amqp_url(port: int = 5672) -> str:
    vhost = quote(VHOST, safe="") if _created else ""
    return f"amqp://guest:guest@127.0.0.1:{port}/{vhost}"


class Listener:
    """A test queue bound to the three Kazoo exchanges, collecting what the service publishes."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str, dict]] = []
        self._barriers: set[str] = set()

    async def start(self) -> Listener:
        self.connection = await aio_pika.connect(amqp_url(), timeout=5)
        channel = await self.connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
        self._channel, self._queue = channel, queue
        for exchange, key in (("configuration", "#"), ("switch", "switch.*"), ("kapps", "delegate.*")):
            ex = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=False)
            await queue.bind(ex, routing_key=key)
        await queue.consume(self._on_message, no_ack=True)
        return self

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        if message.type == BARRIER and message.correlation_id:
            self._barriers.add(message.correlation_id)
            return
        self.messages.append((message.exchange, message.routing_key, json.loads(message.body)))

    async def barrier(self) -> None:
        """Returns once every message already routed to this listener has been received (a
        publish the service has had confirmed, as it has before its HTTP answer): a marker sent to
        our own queue now arrives after them. For asserting that something was *not* published."""
        token = secrets.token_hex(8)
        marker = aio_pika.Message(b"", type=BARRIER, correlation_id=token)
        await self._channel.default_exchange.publish(marker, routing_key=self._queue.name)
        await eventually(lambda: token in self._barriers, what="the listener's own marker arrives")

    async def wait_for(self, predicate, timeout_s: float = 10.0) -> list[tuple[str, str, dict]]:
        """The messages received so far that match, once there is one."""
        try:
            return await eventually(
                lambda: [m for m in self.messages if predicate(*m)], what="a matching message", timeout_s=timeout_s
            )
        except AssertionError as exc:
            received = [(e, k) for e, k, _ in self.messages][-20:]
            raise AssertionError(f"{exc}; the last messages received: {received}") from None

    async def close(self) -> None:
        await self.connection.close()
