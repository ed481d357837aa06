"""How the keep-alive transport shares its places in flight out (storage/transport.py, PARTY): a
party with nothing in flight goes at once on one of `limit` extra places; a place freed while
every regular one is taken goes to the waiting party with the fewest in flight, the earliest
among equals; extra places are not handed on. No connection is opened: only the places."""

from __future__ import annotations

import asyncio

from kazoo_crossbar.storage import transport


async def take(lane: transport.KeepAliveTransport, party: str | None) -> None:
    await lane._take_slot(party, asyncio.get_running_loop().time() + 30)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_an_idle_party_goes_at_once_and_a_freed_place_goes_to_the_fewest_in_flight():
    lane = transport.KeepAliveTransport("http://127.0.0.1:9", limit=2)
    await take(lane, "a")
    await take(lane, "a")  # A holds both places
    a3, a4 = asyncio.create_task(take(lane, "a")), asyncio.create_task(take(lane, "a"))
    await settle()
    assert not a3.done() and not a4.done()  # A waits for its own places
    b1 = asyncio.create_task(take(lane, "b"))
    await settle()
    assert b1.done()  # B has nothing in flight: an extra place, at once
    b2 = asyncio.create_task(take(lane, "b"))
    await settle()
    assert not b2.done() and lane._in_flight == 3

    lane._give_slot("a")  # an extra place is in use: the freed one is not handed on
    await settle()
    assert not (a3.done() or a4.done() or b2.done()) and lane._in_flight == 2
    lane._give_slot("a")  # A has none in flight now, B one: A's earliest waiter
    await settle()
    assert a3.done() and not a4.done() and not b2.done()
    lane._give_slot("b")  # B has none in flight, A one: B's waiter, though A's came first
    await settle()
    assert b2.done() and not a4.done()
    assert lane._in_flight == 2 and dict(lane._flying) == {"a": 1, "b": 1}
    a4.cancel()


async def test_requests_of_no_party_keep_arrival_order_and_the_limit():
    lane = transport.KeepAliveTransport("http://127.0.0.1:9", limit=1)
    await take(lane, None)
    first, second = asyncio.create_task(take(lane, None)), asyncio.create_task(take(lane, None))
    await settle()
    assert not first.done() and not second.done() and lane._in_flight == 1  # no extra place
    lane._give_slot(None)
    await settle()
    assert first.done() and not second.done()
    second.cancel()
