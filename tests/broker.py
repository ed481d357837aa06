"""The real RabbitMQ on 127.0.0.1:5672, in a virtual host of this test run's own.

Test runs on one machine share the broker; Kazoo's queue names (`resource_jobs_listener`) are
fixed, so two runs in the same virtual host would take each other's jobs. Each run makes its own
vhost with `rabbitmqctl` (root on these machines) and removes it at the end; without rabbitmqctl
the default vhost is used, as a lone CI run can afford."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import threading
import time
from urllib.parse import quote

import aio_pika

from .eventually import eventually, eventually_blocking
from .kazoo_api import check_message

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


class SessionValidator:
    """One queue for the whole test run, bound to everything on Kazoo's three exchanges in this
    run's virtual host: every message anyone publishes there (the test app, `bus_client` apps,
    service subprocesses, the CLI, `setup`) is kept and checked with Kazoo's validators
    (tests/kazoo_api.py) when the run ends. It runs on its own thread and event loop, so it
    neither depends on nor disturbs the tests' loop."""

    QUIET_S = 1.0  # the run is over when nothing arrived for this long (bounded by DRAIN_S)
    DRAIN_S = 15.0

    def __init__(self) -> None:
        self.messages: list[tuple[str, str, bytes]] = []
        self.error: str | None = None
        self._ready = threading.Event()
        self._last = time.monotonic()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="kazoo-bus-validator", daemon=True)

    def start(self, timeout_s: float = 20.0) -> SessionValidator:
        self._thread.start()
        if not self._ready.wait(timeout_s) and self.error is None:
            self.error = f"the validator's queue was not bound within {timeout_s:.0f} s"
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._listen())
        except Exception as exc:  # reported at the end of the run: the validator saw nothing
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._ready.set()
            loop.close()

    async def _listen(self) -> None:
        self._stop = asyncio.Event()
        connection = await aio_pika.connect(amqp_url(), timeout=10)
        try:
            channel = await connection.channel()
            queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
            for exchange in ("configuration", "switch", "kapps"):
                ex = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=False)
                await queue.bind(ex, routing_key="#")
            await queue.consume(self._on_message, no_ack=True)
            self._ready.set()
            await self._stop.wait()
        finally:
            await connection.close()

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        self._last = time.monotonic()
        self.messages.append((message.exchange, message.routing_key or "", message.body))

    def stop(self) -> None:
        """Wait until the last messages of the run have arrived (quiet for QUIET_S), then close."""
        try:
            eventually_blocking(
                lambda: not self._thread.is_alive() or time.monotonic() - self._last >= self.QUIET_S,
                what="the bus goes quiet at the end of the run",
                timeout_s=self.DRAIN_S,
                interval_s=0.1,
            )
        except AssertionError:
            pass  # still busy after DRAIN_S (a subprocess left running): check what arrived
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def invalid(self) -> list[tuple[str, str, str, list[str]]]:
        """(exchange, routing key, body, problems) of every message a Kazoo node would drop."""
        out = []
        for exchange, key, body in self.messages:
            try:
                payload = json.loads(body)
            except ValueError:
                out.append((exchange, key, body.decode(errors="replace"), ["the body is not JSON"]))
                continue
            problems = check_message(exchange, key, payload)
            if problems:
                out.append((exchange, key, body.decode(errors="replace"), problems))
        return out
