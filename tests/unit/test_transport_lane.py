"""How the keep-alive transport shares its places in flight out (storage/transport.py, PARTY): a
party with nothing in flight goes at once on one of `limit` extra places; a place freed while
every regular one is taken goes to the waiting party with the fewest in flight, the earliest
among equals; extra places are not handed on. A lane that gives way to another transport keeps
to one regular place while that one sends interactive requests (which requests mark it busy:
tests/integration/test_lanes.py). No connection is opened: only the places."""

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


async def test_a_lane_keeps_to_one_place_while_the_transport_it_gives_way_to_is_busy():
    busy = transport.Activity()
    lane = transport.KeepAliveTransport("http://127.0.0.1:9", limit=3)
    lane.gives_way_to = busy
    busy.touch("another-account")
    await take(lane, "a")
    a2, a3, a4 = (asyncio.create_task(take(lane, "a")) for _ in range(3))
    await settle()
    assert not (a2.done() or a3.done() or a4.done()) and lane._in_flight == 1  # one place, not three
    b1 = asyncio.create_task(take(lane, "b"))
    await settle()
    assert b1.done()  # an account with nothing in flight still goes at once (extra place)
    lane._give_slot("b")
    lane._give_slot("a")  # still busy: the one place goes to A's next
    await settle()
    assert a2.done() and not (a3.done() or a4.done()) and lane._in_flight == 1
    busy.until.clear()  # quiet: the next freed place widens the lane to three at once
    lane._give_slot("a")
    await settle()
    assert a3.done() and a4.done() and lane._in_flight == 2


async def test_requests_about_the_jobs_own_account_do_not_narrow_the_lane():
    busy = transport.Activity()
    lane = transport.KeepAliveTransport("http://127.0.0.1:9", limit=3)
    lane.gives_way_to = busy
    busy.touch("a")  # e.g. the CLI polling A's import
    await take(lane, "a")
    assert lane._places() == 3
    busy.touch("")  # a request about no account (a login, the global resources)
    assert lane._places() == 1


def test_activity_forgets_the_account_heard_from_longest_ago_only():
    busy = transport.Activity()
    for i in range(transport.Activity.KEEP + 5):
        busy.touch(f"account-{i}")
    assert len(busy.until) == transport.Activity.KEEP
    assert "account-0" not in busy.until and f"account-{transport.Activity.KEEP + 4}" in busy.until
    assert busy.busy_besides({"account-40"})
