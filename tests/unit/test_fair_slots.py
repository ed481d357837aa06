"""The worker pool's slots (jobs/fair.py): a freed slot goes to the waiting account with the
fewest running jobs, arrival order among equals; an account running nothing starts at once on one
of `size` extra slots, which the busiest account gives back at its next batch; a job passes its
turn between batches to an account running fewer jobs; a cancelled waiter loses nothing."""

from __future__ import annotations

import asyncio

from kazoo_crossbar.jobs.fair import FairSlots, bind, pass_turn
from kazoo_crossbar.storage import lane


async def waiter(slots: FairSlots, account: str, order: list[str]) -> None:
    await slots.acquire(account)
    order.append(account)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


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


async def test_a_freed_slot_goes_to_the_account_with_fewest_running_jobs():
    slots, order = FairSlots(3), []
    for account in ("A", "A", "B"):
        await slots.acquire(account)
    tasks = [asyncio.create_task(waiter(slots, acc, order)) for acc in ("A", "A", "B")]
    await settle()
    assert order == [] and slots.in_use() == 3  # both run a job already: no extra slot
    slots.release("B")
    await settle()
    assert order == ["B"]  # B runs none, A two: B first, although A's waiters came first
    slots.release("A")
    await settle()
    assert order == ["B", "A"]  # A runs one, B one: the earliest waiter
    for account in ("A", "A", "B"):
        slots.release(account)
    await asyncio.wait_for(asyncio.gather(*tasks), 1)
    assert order == ["B", "A", "A"] and dict(slots.held) == {"A": 1}


async def test_an_account_running_nothing_starts_at_once_on_an_extra_slot():
    slots, order = FairSlots(2), []
    for account in ("A", "A"):
        await slots.acquire(account)
    tasks = [asyncio.create_task(waiter(slots, acc, order)) for acc in ("A", "B", "C", "D", "B")]
    await settle()
    assert order == ["B", "C"] and slots.in_use() == 4  # two extra slots, one per account running none
    assert slots.owes("A")  # over its size: the busiest account gives one back
    slots.release("A")
    await settle()
    assert order == ["B", "C", "D"] and slots.in_use() == 4  # D runs none: the freed extra slot is its
    for account in ("B", "C", "D", "A"):
        slots.release(account)
    await asyncio.wait_for(asyncio.gather(*tasks), 1)
    # B's second job once B ran none; A's only once the pool was back under its size
    assert order == ["B", "C", "D", "B", "A"] and dict(slots.held) == {"A": 1, "B": 1}


async def test_a_job_gives_the_extra_slot_back_at_its_next_batch():
    slots, log, gate = FairSlots(2), [], asyncio.Event()
    a1 = asyncio.create_task(running(slots, "A", log, 3, gate))
    a2 = asyncio.create_task(running(slots, "A", log, 3, gate))
    await settle()
    assert dict(slots.held) == {"A": 2} and not slots.owes("A")  # one account alone never yields to itself
    b = asyncio.create_task(running(slots, "B", log, 2, gate))
    await settle()
    assert log == ["A", "A", "B"] and slots.in_use() == 3  # B did not wait for A
    gate.set()
    await asyncio.wait_for(asyncio.gather(a1, a2, b), 5)
    assert log.count("A") == 6 and log.count("B") == 2 and slots.in_use() == 0


async def test_a_newcomer_over_the_extra_slots_gets_a_turn_at_the_next_batch():
    slots, log, gate = FairSlots(1), [], asyncio.Event()
    a = asyncio.create_task(running(slots, "A", log, 3, gate))
    b = asyncio.create_task(running(slots, "B", log, 3, gate))
    await settle()
    c = asyncio.create_task(running(slots, "C", log, 1, gate))
    await settle()
    assert log == ["A", "B"] and slots.in_use() == 2  # C waits: both slots (1 + 1 extra) run
    gate.set()
    await asyncio.wait_for(asyncio.gather(a, b, c), 5)
    assert log.index("C") < 4  # C ran before A's and B's second batches were both done
    assert slots.in_use() == 0


async def test_passing_a_turn_outside_the_pool_does_nothing():
    await asyncio.wait_for(pass_turn(), 1)


async def test_a_cancelled_waiter_gives_its_place_and_slot_back():
    slots, order = FairSlots(1), []
    await slots.acquire("A")
    await slots.acquire("X")  # the extra slot
    doomed = asyncio.create_task(waiter(slots, "B", order))
    later = asyncio.create_task(waiter(slots, "C", order))
    await settle()
    doomed.cancel()
    await settle()
    slots.release("A")
    await later
    assert order == ["C"] and dict(slots.held) == {"X": 1, "C": 1}


async def test_a_slot_handed_to_a_waiter_cancelled_meanwhile_is_passed_on():
    slots, order = FairSlots(1), []
    await slots.acquire("A")
    await slots.acquire("X")  # the extra slot
    doomed = asyncio.create_task(waiter(slots, "B", order))
    later = asyncio.create_task(waiter(slots, "C", order))
    await settle()
    slots.release("A")  # B is handed the slot ...
    doomed.cancel()  # ... and cancelled before it runs
    await settle()
    await later
    assert doomed.cancelled() and order == ["C"] and dict(slots.held) == {"X": 1, "C": 1}


async def test_a_job_cancelled_while_it_waits_for_its_turn_holds_no_slot():
    slots, log, gate = FairSlots(1), [], asyncio.Event()
    a = asyncio.create_task(running(slots, "A", log, 2, gate))
    x = asyncio.create_task(running(slots, "X", log, 2, asyncio.Event()))  # the extra slot
    await settle()
    b = asyncio.create_task(running(slots, "B", log, 1, asyncio.Event()))
    await settle()
    gate.set()
    await settle()  # A passed its turn to B (running fewer jobs) and waits for it to come back
    assert log == ["A", "X", "B"] and dict(slots.held) == {"X": 1, "B": 1}
    a.cancel()
    await settle()
    assert a.cancelled() and dict(slots.held) == {"X": 1, "B": 1}
    for task in (b, x):
        task.cancel()
    await settle()
    assert slots.in_use() == 0


async def test_a_bound_job_sends_its_couchdb_requests_as_its_account():
    """The jobs' lane shares its places out by account (storage/lane.py, PARTY): a job's
    task, and the tasks it starts, speak for the job's account; other tasks are untouched."""
    slots, seen = FairSlots(2), {}

    async def party() -> str | None:
        await asyncio.sleep(0)
        return lane.PARTY.get()

    async def job(account: str) -> None:
        async with slots.slot(account) as slot:
            bind(slot)
            seen[account] = lane.PARTY.get()
            seen[f"{account} child"] = await asyncio.create_task(party())  # a fold or the copies

    await asyncio.gather(job("acc-a"), job("acc-b"))
    assert seen == {"acc-a": "acc-a", "acc-a child": "acc-a", "acc-b": "acc-b", "acc-b child": "acc-b"}
    assert lane.PARTY.get() is None
