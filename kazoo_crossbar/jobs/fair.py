"""Fairness between accounts in the worker pool (issue 21 item 5).

`FairSlots` hands a freed slot to the waiting account that runs the fewest jobs. That alone does
not help an account that arrives while another one's jobs hold every slot: it waited for one of
those jobs to end (17.7 s behind three 10,000-number jobs, 0.27 s behind one). So:

- an account that runs no job starts at once, on one of `size` extra slots if every slot is
  taken, and the account running the most jobs gives a slot back at the end of its batch in
  hand (the pool is over its size for one batch at most, by one job per such account);
- a running job passes its turn between two batches when an account running fewer jobs than
  its own waits.

Passing a turn gives the slot up and queues again (the job keeps everything it holds in memory;
its claim in CouchDB is untouched); the job resumes when a slot comes back to it. Accounts that
keep more jobs than there are slots take turns batch by batch; one account alone never yields
to itself.

The runner knows nothing of slots: the pool binds the job's slot to the job's task
(`bind`), and the runner calls `pass_turn()` between batches, a no-op outside the pool.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from contextvars import ContextVar

from ..storage import lane

_SLOT: ContextVar[Slot | None] = ContextVar("job_slot", default=None)


class FairSlots:
    """`size` slots (and `size` more for accounts running nothing); a freed slot goes to the waiter
    whose account holds the fewest slots, the earliest first among equals (a semaphore would serve
    strictly in arrival order)."""

    def __init__(self, size: int):
        self.size = size
        self.held: Counter[str] = Counter()
        self._waiting: dict[int, tuple[str, asyncio.Future[None]]] = {}
        self._seq = itertools.count()

    def in_use(self) -> int:
        return sum(self.held.values())

    def slot(self, account_id: str) -> Slot:
        return Slot(self, account_id)

    def owes(self, account_id: str) -> bool:
        """Whether a job of this account should give its slot up: when the pool is over its size
        and this account runs the most jobs (more than one), or when an account running fewer
        jobs than this one waits."""
        mine = self.held[account_id]
        if self.in_use() > self.size and mine > 1 and mine == max(self.held.values()):
            return True
        return any(not f.done() and self.held[acc] < mine for acc, f in self._waiting.values())

    def _room_for(self, account_id: str) -> bool:
        """An account running no job may use one of `size` extra slots: it starts at once, and the
        busiest account gives a slot back at the end of its batch in hand (`owes`)."""
        return self.in_use() < (self.size if self.held[account_id] else 2 * self.size)

    async def acquire(self, account_id: str) -> None:
        if self._room_for(account_id) and (not self._waiting or not self.held[account_id]):
            self.held[account_id] += 1
            return
        seq = next(self._seq)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[seq] = (account_id, future)
        try:
            await future
        except asyncio.CancelledError:
            if self._waiting.pop(seq, None) is None and future.done() and not future.cancelled():
                self.release(account_id)  # the slot was handed to us as we were cancelled: pass it on
            raise

    def release(self, account_id: str) -> None:
        self.held[account_id] -= 1
        if self.held[account_id] <= 0:
            del self.held[account_id]
        self._hand_over()

    def _hand_over(self) -> None:
        while self._waiting:
            seq = min(self._waiting, key=lambda k: (self.held[self._waiting[k][0]], k))
            account_id, future = self._waiting[seq]
            if not future.done() and not self._room_for(account_id):
                return
            del self._waiting[seq]
            if not future.done():
                self.held[account_id] += 1
                future.set_result(None)


class Slot:
    """One job's slot: `async with` holds it; `pass_turn` lets a more deserving account go first."""

    def __init__(self, slots: FairSlots, account_id: str):
        self.slots, self.account_id = slots, account_id
        self.held = False
        self.turns_passed = 0

    async def __aenter__(self) -> Slot:
        await self.slots.acquire(self.account_id)
        self.held = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.held:
            self.held = False
            self.slots.release(self.account_id)

    async def pass_turn(self) -> None:
        if not (self.held and self.slots.owes(self.account_id)):
            return
        self.held = False
        self.turns_passed += 1
        self.slots.release(self.account_id)  # goes to the waiter with the fewest jobs running
        await self.slots.acquire(self.account_id)
        self.held = True


def bind(slot: Slot) -> None:
    """Make `slot` the one `pass_turn()` acts on, in the calling task (the job's), and send the
    job's CouchDB requests as its account's: in the jobs' lane an account with nothing in flight
    goes at once, and a freed place goes to the account with the fewest in flight
    (storage/lane.py, PARTY)."""
    _SLOT.set(slot)
    lane.PARTY.set(slot.account_id)


async def pass_turn() -> None:
    """Between two batches of a job: give the slot up if another account deserves it, and wait
    for it to come back. Outside a pool-run job, nothing."""
    slot = _SLOT.get()
    if slot is not None:
        await slot.pass_turn()
