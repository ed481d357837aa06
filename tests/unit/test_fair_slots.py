"""The worker pool's slots (jobs/fair.py): a freed slot goes to the waiting account with
the fewest running jobs, arrival order among equals; a cancelled waiter loses nothing."""

from __future__ import annotations

import asyncio

from kazoo_crossbar.jobs.fair import FairSlots, bind, pass_turn


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


async def running(slots: FairSlots, account: str, log: list[str], turns: int, gate: asyncio.Event) -> None:
    """A job of `turns` batches: it records each batch it runs and passes its turn between them."""
    async with slots.slot(account) as slot:
        bind(slot)
        for i in range(turns):
            if i:
                await pass_turn()
            log.append(account)
            await gate.wait()
            await asyncio.sleep(0)  # a batch's I/O


async def test_a_job_passes_its_turn_to_an_account_running_fewer_jobs():
    slots, log, gate = FairSlots(2), [], asyncio.Event()
    a1 = asyncio.create_task(running(slots, "A", log, 3, gate))
    a2 = asyncio.create_task(running(slots, "A", log, 3, gate))
    await settle()
    assert dict(slots.held) == {"A": 2} and not slots.owes("A")  # one account alone never yields to itself
    b = asyncio.create_task(running(slots, "B", log, 1, gate))
    await settle()
    assert log == ["A", "A"] and slots.owes("A")  # B waits: every slot is A's
    gate.set()
    await asyncio.wait_for(asyncio.gather(a1, a2, b), 5)
    # the first of A's jobs to end a batch gave its slot to B; A's other job ran on beside B
    assert log[:4] in (["A", "A", "A", "B"], ["A", "A", "B", "A"]) and log.count("A") == 6
    assert dict(slots.held) == {} and slots.in_use() == 0


async def test_accounts_with_more_jobs_than_slots_take_turns_batch_by_batch():
    slots, log, gate = FairSlots(1), [], asyncio.Event()
    gate.set()
    await asyncio.wait_for(asyncio.gather(running(slots, "A", log, 3, gate), running(slots, "B", log, 3, gate)), 5)
    assert log == ["A", "B", "A", "B", "A", "B"]


async def test_passing_a_turn_outside_the_pool_does_nothing():
    await asyncio.wait_for(pass_turn(), 1)


async def test_a_job_cancelled_while_it_waits_for_its_turn_holds_no_slot():
    slots, log, gate = FairSlots(1), [], asyncio.Event()
    a = asyncio.create_task(running(slots, "A", log, 2, gate))
    await settle()
    b = asyncio.create_task(running(slots, "B", log, 1, asyncio.Event()))
    await settle()
    gate.set()
    await settle()  # A passed its turn to B and waits for it to come back
    assert log == ["A", "B"] and dict(slots.held) == {"B": 1}
    a.cancel()
    await settle()
    assert a.cancelled() and dict(slots.held) == {"B": 1}
    b.cancel()
    await settle()
    assert slots.in_use() == 0
