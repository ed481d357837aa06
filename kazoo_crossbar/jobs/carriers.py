"""Carrier modules a job can use (kazoo_number_manager carriers).

`knm_local` (a local or unknown resource) acquires nothing. `knm_other` (a
resource in `offnet`) orders each new number from the phonebook service in
system_config `number_manager.other` (`phonebook_url`, `default_country`,
`endpoints`); without a URL every new number fails, as in Kazoo.
"""
from __future__ import annotations

from typing import Any

import aiohttp

from ..storage.system_config import SystemConfig
from . import numbers

FAULT = numbers.error(500, "unspecified_fault", "fault by carrier")


async def acquire(config: SystemConfig, module: str, e164s: list[str]) -> dict[str, dict]:
    """For each number: {"ok": carrier data} or {"error": knm error}."""
    if module != numbers.OTHER or not e164s:
        return {n: {"ok": {}} for n in e164s}
    url = await config.get("number_manager.other", "phonebook_url")
    if not isinstance(url, str) or not url:
        return {n: {"error": numbers.error(500, "unspecified_fault", "missing_provider_url")} for n in e164s}
    country = await config.get("number_manager.other", "default_country", "US")
    endpoints = await config.get("number_manager.other", "endpoints") or []
    body = {"data": {"numbers": e164s, "gateways": endpoints if isinstance(endpoints, list) else [endpoints]}}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            async with session.put(f"{url.rstrip('/')}/numbers/{country}/order", json=body) as resp:
                answer: Any = await resp.json(content_type=None) if resp.status == 200 else {}
    except (aiohttp.ClientError, TimeoutError, ValueError):
        answer = {}
    data = answer.get("data") if isinstance(answer, dict) else None
    out = {}
    for n in e164s:
        item = data.get(n) if isinstance(data, dict) else None
        if isinstance(item, dict) and item.get("status") == "success":
            out[n] = {"ok": {"opaque": item.get("opaque"), "locality": item.get("locality")}}
        else:
            out[n] = {"error": {**FAULT, "cause": n}}
    return out
