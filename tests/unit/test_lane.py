"""How the keep-alive transport shares its places in flight out (storage/lane.py, PARTY): a
party with nothing in flight goes at once on one of `limit` extra places; a place freed while
every regular one is taken goes to the waiting party with the fewest in flight, the earliest
among equals; extra places are not handed on. A lane that gives way to another transport keeps
to one regular place while that one sends API requests about other accounts. No connection is
opened: only the places."""

from __future__ import annotations

import asyncio

from kazoo_crossbar.storage import lane


async def take(places: lane.Places, party: str | None) -> None:
    await places.take(party, asyncio.get_running_loop().time() + 30)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_an_idle_party_goes_at_once_and_a_freed_place_goes_to_the_fewest_in_flight():
    places = lane.Places(2)
    await take(places, "a")
    await take(places, "a")  # A holds both places
    a3, a4 = asyncio.create_task(take(places, "a")), asyncio.create_task(take(places, "a"))
    await settle()
    assert not a3.done() and not a4.done()  # A waits for its own places
    b1 = asyncio.create_task(take(places, "b"))
    await settle()
    assert b1.done()  # B has nothing in flight: an extra place, at once
    b2 = asyncio.create_task(take(places, "b"))
    await settle()
    assert not b2.done() and places.in_flight == 3

    places.give("a")  # an extra place is in use: the freed one is not handed on
    await settle()
    assert not (a3.done() or a4.done() or b2.done()) and places.in_flight == 2
    places.give("a")  # A has none in flight now, B one: A's earliest waiter
    await settle()
    assert a3.done() and not a4.done() and not b2.done()
    places.give("b")  # B has none in flight, A one: B's waiter, though A's came first
    await settle()
    assert b2.done() and not a4.done()
    assert places.in_flight == 2 and dict(places.flying) == {"a": 1, "b": 1}
    a4.cancel()


async def test_requests_of_no_party_keep_arrival_order_and_the_limit():
    places = lane.Places(1)
    await take(places, None)
    first, second = asyncio.create_task(take(places, None)), asyncio.create_task(take(places, None))
    await settle()
    assert not first.done() and not second.done() and places.in_flight == 1  # no extra place
    places.give(None)
    await settle()
    assert first.done() and not second.done()
    second.cancel()


async def test_a_lane_keeps_to_one_place_while_the_transport_it_gives_way_to_is_busy():
    busy = lane.Activity()
    places = lane.Places(3)
    places.gives_way_to = busy
    busy.touch("another-account")
    await take(places, "a")
    a2, a3, a4 = (asyncio.create_task(take(places, "a")) for _ in range(3))
    await settle()
    assert not (a2.done() or a3.done() or a4.done()) and places.in_flight == 1  # one place, not three
    b1 = asyncio.create_task(take(places, "b"))
    await settle()
    assert b1.done()  # an account with nothing in flight still goes at once (extra place)
    places.give("b")
    places.give("a")  # still busy: the one place goes to A's next
    await settle()
    assert a2.done() and not (a3.done() or a4.done()) and places.in_flight == 1
    busy.until.clear()  # quiet: the next freed place widens the lane to three at once
    places.give("a")
    await settle()
    assert a3.done() and a4.done() and places.in_flight == 2


async def test_requests_about_the_jobs_own_account_do_not_narrow_the_lane():
    busy = lane.Activity()
    places = lane.Places(3)
    places.gives_way_to = busy
    busy.touch("a")  # e.g. the CLI polling A's import
    await take(places, "a")
    assert places.regular() == 3
    busy.touch("")  # a request about no account (a login, the global resources)
    assert places.regular() == 1


def test_activity_forgets_the_account_heard_from_longest_ago_only():
    busy = lane.Activity()
    for i in range(lane.Activity.KEEP + 5):
        busy.touch(f"account-{i}")
    assert len(busy.until) == lane.Activity.KEEP
    assert "account-0" not in busy.until and f"account-{lane.Activity.KEEP + 4}" in busy.until
    assert busy.busy_besides({"account-40"})


async def test_only_api_requests_mark_the_places_busy():
    places = lane.Places(3)
    await take(places, None)  # no ASKER: the recovery loop, the view warmer
    assert not places.activity.until
    asker = lane.ASKER.set("an-account")
    try:
        await take(places, "an-account")  # a job's own read (its plan, its config), begun by a request
        assert not places.activity.until
        await take(places, None)  # an API request's read
        assert places.activity.busy_besides({"another-account"})
        assert not places.activity.busy_besides({"an-account"})
    finally:
        lane.ASKER.reset(asker)


async def test_a_place_handed_to_a_waiter_cancelled_at_once_goes_to_the_next():
    places = lane.Places(1)
    await take(places, None)
    first, second = asyncio.create_task(take(places, None)), asyncio.create_task(take(places, None))
    await settle()
    places.give(None)  # the place is handed to `first`...
    first.cancel()  # ...which is cancelled before it runs: it must pass the place on, not keep it
    await settle()
    assert first.cancelled() and second.done() and places.in_flight == 1
    places.give(None)
    assert places.in_flight == 0 and not places.flying
