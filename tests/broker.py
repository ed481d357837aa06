"""The real RabbitMQ on 127.0.0.1:5672, in a virtual host of this test run's own.

Test runs on one machine share the broker; Kazoo's queue names (`resource_jobs_listener`) are
fixed, so two runs in the same virtual host would take each other's jobs. Each run makes its own
vhost with `rabbitmqctl` (root on these machines) and removes it at the end; without rabbitmqctl
the default vhost is used, as a lone CI run can afford."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from urllib.parse import quote

import aio_pika

VHOST = f"kazoo-crossbar-test-{os.getpid()}"
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

    async def start(self) -> Listener:
        self.connection = await aio_pika.connect(amqp_url(), timeout=5)
        channel = await self.connection.channel()
        queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
        for exchange, key in (("configuration", "#"), ("switch", "switch.*"), ("kapps", "delegate.*")):
            ex = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=False)
            await queue.bind(ex, routing_key=key)
        await queue.consume(self._on_message, no_ack=True)
        return self

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        self.messages.append((message.exchange, message.routing_key, json.loads(message.body)))

    async def wait_for(self, predicate, timeout_s: float = 10.0) -> list[tuple[str, str, dict]]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = [m for m in self.messages if predicate(*m)]
            if found:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"no such message among {[(e, k) for e, k, _ in self.messages][-20:]}")

    async def close(self) -> None:
        await self.connection.close()
