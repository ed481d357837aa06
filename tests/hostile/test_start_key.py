"""Issue 21 item 1: a `start_key` is decoded only as far as this service encodes keys. A
compressed term, a huge integer, an over-long key or any other term is a 400 envelope on every
listing (resources, jobs, children, descendants), at once, and no request waits for it."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest

from kazoo_crossbar.http import startkey

from .latency import measure


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def compressed(term: bytes) -> str:
    return b64(b"\x83P" + struct.pack(">I", len(term)) + zlib.compress(term, 9))


# The issue's reproduction: a 200,000-byte integer, zlib-compressed into ~300 characters.
FREEZER = compressed(b"o" + struct.pack(">I", 200_000) + b"\0" + b"\xff" * 200_000)
BAD_KEYS = {
    "compressed integer": FREEZER,
    "compressed binary": compressed(b"m" + struct.pack(">I", 1 << 20) + b"\0" * (1 << 20)),
    "integer of 4,300 digits": b64(b"\x83o" + struct.pack(">I", 1786) + b"\0" + b"\x11" * 1786),
    "integer over 64 bits": b64(b"\x83n\x09\x00" + b"\x01" * 9),
    "a pid": b64(b"\x83gd\x00\x0dnonode@nohost\x00\x00\x00\x01\x00\x00\x00\x00\x00"),
    "trailing bytes": startkey.encode(["abc", 5]) + "AAAA",
    "truncated list": "g2wAAAAC",
    "too long": b64(b"\x83m" + struct.pack(">I", 4000) + b"a" * 4000),  # 5,336 characters
}


@pytest.fixture(scope="module")
async def tenant(kazoo):
    parent = await kazoo.account()
    await kazoo.account(parent=parent, name="child one")
    return parent, {"X-Auth-Token": await kazoo.token_for(parent)}


def listings(account_id: str) -> list[str]:
    base = f"/v2/accounts/{account_id}"
    return [f"{base}/resources", f"{base}/resources/jobs", f"{base}/children", f"{base}/descendants"]


@pytest.mark.parametrize("name", BAD_KEYS)
async def test_refused_start_keys_are_a_400_on_every_listing(client, tenant, name):
    account, headers = tenant
    for url in listings(account["_id"]):
        resp = await client.get(url, params={"start_key": BAD_KEYS[name]}, headers=headers)
        body = await resp.json()
        assert resp.status == 400, (url, body)
        assert body["status"] == "error" and body["message"] == "validation error"
        assert set(body["data"]) == {"start_key"} and "invalid" in body["data"]["start_key"], body
        assert len(await resp.read()) < 2000


async def test_keys_this_service_issues_and_raw_strings_still_page(client, tenant):
    account, headers = tenant
    url = f"/v2/accounts/{account['_id']}/children"
    first = await client.get(url, params={"page_size": "1"}, headers=headers)
    assert first.status == 200
    for key in (startkey.encode("child one"), "child one", "g2wAAAACbgUAvn1W1A5tAAAACDk4MDE2ODAwag"):
        resp = await client.get(url, params={"start_key": key, "page_size": "1"}, headers=headers)
        assert resp.status == 200, await resp.text()


async def test_a_start_key_never_holds_the_event_loop(client, tenant):
    """The issue's key froze every request for 25 s; now /health under a stream of them stays
    within a small multiple of its idle latency."""
    account, headers = tenant
    url = f"/v2/accounts/{account['_id']}/resources"

    async def probe() -> None:
        assert (await client.get("/health")).status == 200

    async def attack() -> None:
        resp = await client.get(url, params={"start_key": FREEZER}, headers=headers)
        await resp.read()

    result = await measure(probe, attack, limit=20, round_budget_s=20)
    print(result)  # the figure for the issue's closing table (pytest -s)
    assert result.ratio <= result.limit, str(result)
