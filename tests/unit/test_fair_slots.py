"""The worker pool's slots (jobs/pool.FairSlots): a freed slot goes to the waiting account with
the fewest running jobs, arrival order among equals; a cancelled waiter loses nothing."""

from __future__ import annotations

import asyncio

from kazoo_crossbar.jobs.pool import FairSlots


async def waiter(slots: FairSlots, account: str, order: list[str]) -> None:
    await slots.acquire(account)
    order.append(account)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_freed_slot_goes_to_the_account_with_fewest_running_jobs():
    slots, order = FairSlots(2), []
    await slots.acquire("A")
    await slots.acquire("A")
    tasks = [asyncio.create_task(waiter(slots, acc, order)) for acc in ("A", "A", "A", "B", "C")]
    await settle()
    assert order == [] and slots.in_use() == 2
    slots.release("A")
    await settle()
    assert order == ["B"]  # A holds one, B and C none: B came first
    slots.release("B")
    await settle()
    assert order == ["B", "C"]  # A holds one, C none, although A's waiters came first
    slots.release("C")
    await settle()
    assert order == ["B", "C", "A"] and dict(slots.held) == {"A": 2}
    slots.release("A")
    slots.release("A")
    await asyncio.gather(*tasks)
    assert order == ["B", "C", "A", "A", "A"] and dict(slots.held) == {"A": 2}


async def test_a_cancelled_waiter_gives_its_place_and_slot_back():
    slots, order = FairSlots(1), []
    await slots.acquire("A")
    doomed = asyncio.create_task(waiter(slots, "B", order))
    later = asyncio.create_task(waiter(slots, "C", order))
    await settle()
    doomed.cancel()
    await settle()
    slots.release("A")
    await later
    assert order == ["C"] and dict(slots.held) == {"C": 1}


async def test_a_slot_handed_to_a_waiter_cancelled_meanwhile_is_passed_on():
    slots, order = FairSlots(1), []
    await slots.acquire("A")
    doomed = asyncio.create_task(waiter(slots, "B", order))
    later = asyncio.create_task(waiter(slots, "C", order))
    await settle()
    slots.release("A")  # B is handed the slot ...
    doomed.cancel()  # ... and cancelled before it runs
    await settle()
    await later
    assert doomed.cancelled() and order == ["C"] and dict(slots.held) == {"C": 1}
