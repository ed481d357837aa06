"""Carrier modules a job can use (kazoo_number_manager carriers).

`knm_local` (a local or unknown resource) acquires nothing. `knm_other` (a
resource in `offnet`) orders each new number from the phonebook service in
system_config `number_manager.other` (`phonebook_url`, `default_country`,
`endpoints`); without a URL every new number fails, as in Kazoo.

Kazoo sends one order per number (`knm_other:acquire_number`). We send one
order per chunk of numbers, with a timeout that grows with the chunk; when a
chunk's order fails as a whole (an error status, a body that is not an answer,
a timeout, a lost connection) or leaves numbers unanswered, those numbers are
ordered one by one, each with its own timeout, so one bad number or one slow
answer fails only that number.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog

from ..storage.system_config import SystemConfig
from . import numbers

log = structlog.get_logger(__name__)

FAULT = numbers.error(500, "unspecified_fault", "fault by carrier")


@dataclass(frozen=True)
class OrderLimits:
    """How orders are cut and timed: a chunk of n numbers gets base_s + n * per_number_s."""

    chunk: int = 1000
    base_s: float = 10.0
    per_number_s: float = 0.01
    parallel: int = 8  # single-number orders in flight at once after a chunk failed

    def timeout(self, count: int) -> float:
        return self.base_s + count * self.per_number_s


async def acquire(
    config: SystemConfig, module: str, e164s: list[str], limits: OrderLimits = OrderLimits()
) -> dict[str, dict]:
    """For each number: {"ok": carrier data} or {"error": knm error}."""
    if module != numbers.OTHER or not e164s:
        return {n: {"ok": {}} for n in e164s}
    url = await config.get("number_manager.other", "phonebook_url")
    if not isinstance(url, str) or not url:
        return {n: {"error": numbers.error(500, "unspecified_fault", "missing_provider_url")} for n in e164s}
    country = await config.setting("number_manager.other", "default_country")
    endpoints = await config.get("number_manager.other", "endpoints") or []
    phonebook = Phonebook(
        f"{url.rstrip('/')}/numbers/{country}/order", endpoints if isinstance(endpoints, list) else [endpoints], limits
    )
    out: dict[str, dict] = {}
    async with aiohttp.ClientSession() as session:
        for start in range(0, len(e164s), limits.chunk):
            out.update(await phonebook.order_chunk(session, e164s[start : start + limits.chunk]))
    return out


@dataclass(frozen=True)
class Phonebook:
    url: str
    gateways: list
    limits: OrderLimits

    async def order_chunk(self, session: aiohttp.ClientSession, chunk: list[str]) -> dict[str, dict]:
        answer = await self._order(session, chunk)
        out = dict(answer or {})
        retry = [n for n in chunk if n not in out]
        if len(chunk) == 1 or not retry:
            return {**out, **{n: _fault(n) for n in retry}}
        log.warning("phonebook_order_fallback", numbers=len(retry), chunk=len(chunk), whole=answer is None)
        sem = asyncio.Semaphore(self.limits.parallel)

        async def one(n: str) -> tuple[str, dict]:
            async with sem:
                single = await self._order(session, [n])
            return n, (single or {}).get(n) or _fault(n)

        out.update(dict(await asyncio.gather(*(one(n) for n in retry))))
        return out

    async def _order(self, session: aiohttp.ClientSession, nums: list[str]) -> dict[str, dict] | None:
        """One order: {number: verdict} for the numbers the phonebook answered about, or None
        when the order failed as a whole."""
        body = {"data": {"numbers": nums, "gateways": self.gateways}}
        try:
            async with session.put(
                self.url, json=body, timeout=aiohttp.ClientTimeout(total=self.limits.timeout(len(nums)))
            ) as resp:
                if resp.status != 200:
                    return None
                answer: Any = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict):
            return None
        out = {}
        for n in nums:
            item = data.get(n)
            if isinstance(item, dict) and item.get("status") == "success":
                out[n] = {"ok": {"opaque": item.get("opaque"), "locality": item.get("locality")}}
            elif isinstance(item, dict):
                out[n] = _fault(n)  # the phonebook refused this number: not asked again
        return out


def _fault(e164: str) -> dict:
    return {"error": {**FAULT, "cause": e164}}
