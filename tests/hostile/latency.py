"""Latency under attack, judged as a ratio to an idle probe measured in the same test.

A round: the p95 of `probes` sequential probes (`GET /health` by default) while nothing else
runs, then the p95 of as many probes (and more, until at least one attack request has finished
while they ran) while `concurrency` workers send the attack back to back.
The ratio of a test is the median over rounds, so one slow moment of a shared machine does not
decide it. Rounds stop as soon as a majority of them agrees (pass or fail), and a round stops
probing once its time budget is spent, so a service that freezes fails in one slow round instead
of hanging the run. Nothing here asserts a duration: only the ratio is compared.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

Attack = Callable[[], Awaitable[Any]]
Probe = Callable[[], Awaitable[Any]]


def p95(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


@dataclass
class Measurement:
    limit: float
    rounds: list[tuple[float, float]] = field(default_factory=list)  # (idle p95, attack p95) in seconds
    attacks: int = 0

    @property
    def ratios(self) -> list[float]:
        return [busy / idle for idle, busy in self.rounds]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    def __str__(self) -> str:
        shown = ", ".join(f"{idle * 1000:.1f} ms idle / {busy * 1000:.1f} ms attacked" for idle, busy in self.rounds)
        return f"ratio {self.ratio:.1f} (limit {self.limit:g}; rounds: {shown}; {self.attacks} attack requests)"


async def timed(probe: Probe) -> float:
    started = time.perf_counter()
    await probe()
    return time.perf_counter() - started


async def _attacker(attack: Attack, stop: asyncio.Event, in_flight: asyncio.Event, result: Measurement) -> None:
    while not stop.is_set():
        in_flight.set()
        await attack()
        result.attacks += 1


async def measure(
    probe: Probe,
    attack: Attack,
    *,
    limit: float,
    rounds: int = 3,
    probes: int = 12,
    concurrency: int = 1,
    round_budget_s: float = 30.0,
) -> Measurement:
    """The probe's p95 under attack over its idle p95, as a median over up to `rounds` rounds."""
    result = Measurement(limit)
    needed = rounds // 2 + 1
    for _ in range(rounds):
        for _ in range(3):  # warm-up: connections, caches
            await probe()
        idle = [await timed(probe) for _ in range(probes)]
        stop, in_flight = asyncio.Event(), asyncio.Event()
        workers = [asyncio.create_task(_attacker(attack, stop, in_flight, result)) for _ in range(concurrency)]
        try:
            await in_flight.wait()
            await asyncio.sleep(0)  # let the first attack requests leave
            busy: list[float] = []
            started, attacks_before = time.monotonic(), result.attacks
            # probe until `probes` samples and at least one whole attack request overlapped them
            while (len(busy) < probes or result.attacks == attacks_before) and (
                not busy or time.monotonic() - started < round_budget_s
            ):
                busy.append(await timed(probe))
        finally:
            stop.set()
            await asyncio.gather(*workers, return_exceptions=True)
        result.rounds.append((p95(idle), p95(busy)))
        passed = sum(r <= limit for r in result.ratios)
        if passed >= needed or len(result.ratios) - passed >= needed:
            break
    return result
