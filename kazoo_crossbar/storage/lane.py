"""How a CouchDB client shares out its requests in flight (`Places`, used by the keep-alive
transport): who a request is for, who goes first when every place is taken, and when the jobs'
lane keeps to one place so that API requests do not wait behind bulk writes in CouchDB.

Two context variables say whom a request is for:
- `PARTY`: the account of the job sending it (jobs/fair.py sets it for the job's task). A party
  with nothing in flight goes at once, on one of `limit` extra places, and a place freed while
  the regular ones are all taken goes to the waiting party with the fewest requests in flight,
  not to the longest waiter: another account's one-number job no longer queues behind every
  request of an import (bench F1 on CouchDB 3: 4.4x, then 1.25x). Requests of no party (the
  API's) keep arrival order.
- `ASKER`: the account an API request is about (http/pipeline.py sets it: "" before the URL's
  account is known, or when it names none). Requests sent without one (jobs, the recovery loop)
  are not interactive.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Container
from contextvars import ContextVar

PARTY: ContextVar[str | None] = ContextVar("couch_party", default=None)
ASKER: ContextVar[str | None] = ContextVar("couch_asker", default=None)

# How long after an API request a lane that gives way to it keeps to one place, unless the
# request was about the account of every job in the lane (an import's own CLI polling it does
# not slow it down): API requests come a few at a time, and each bulk write let go keeps CouchDB
# busy for up to a second (bench P5 on CouchDB 3, 40,000 numbers, alternated: 5.0-5.5x idle p95
# with, 14.8-15.6x without; docs/decisions.md).
GIVE_WAY_S = 0.5


class Activity:
    """When a client last sent an API request about each account (ASKER)."""

    # accounts remembered: more than the parties a lane can hold (2 x its limit), so evicting the
    # one heard from longest ago never hides that some other account is busy
    KEEP = 32

    def __init__(self) -> None:
        self.until: dict[str, float] = {}  # account -> time.monotonic() its requests count until

    def touch(self, asker: str) -> None:
        until = self.until
        if asker not in until and len(until) >= self.KEEP:
            del until[min(until, key=until.__getitem__)]
        until[asker] = time.monotonic() + GIVE_WAY_S

    def busy_besides(self, parties: Container[str | None]) -> bool:
        """Whether an API request about another account than `parties` came within GIVE_WAY_S."""
        now = time.monotonic()
        return any(t > now and asker not in parties for asker, t in self.until.items())


class Places:
    """Up to `limit` requests in flight: a counter, and a queue only when all are taken (less
    work per request than an asyncio.Semaphore)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.activity = Activity()  # the API requests sent through these places
        # the API's places this lane gives way to (CouchClient.give_way_to)
        self.gives_way_to: Activity | None = None
        self.in_flight = 0
        self.flying: Counter[str | None] = Counter()  # places in flight by PARTY
        self._queue: list[tuple[str | None, asyncio.Future[None]]] = []  # in arrival order

    async def take(self, party: str | None, deadline: float) -> None:
        """A place for a request of `party` (PARTY.get()), waiting until the loop time `deadline`
        at most (TimeoutError)."""
        asker = ASKER.get()
        if asker is not None and party is None:  # (a job started by a request inherits its ASKER)
            self.activity.touch(asker)
        if (self.in_flight < self.regular() and not self._queue) or self._extra_for(party):
            self.in_flight += 1
            self.flying[party] += 1
            return
        entry = (party, asyncio.get_running_loop().create_future())
        self._queue.append(entry)
        waiter = entry[1]
        try:
            async with asyncio.timeout_at(deadline):
                await waiter  # give() counted the place in for us
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.give(party)  # handed over and cancelled at once: pass it on
            elif entry in self._queue:  # (a give() may have dropped it, cancelled, already)
                self._queue.remove(entry)
            raise

    def give(self, party: str | None) -> None:
        """Free a place, then fill the free regular places: each goes to the waiting party with
        the fewest places in flight, the earliest among equals. Extra places are not handed on,
        and places given back while the lane keeps to one are not either."""
        self.flying[party] -= 1
        if not self.flying[party]:
            del self.flying[party]
        self.in_flight -= 1
        if self._queue:  # (waiters that timed out or were cancelled leave it themselves, mostly)
            self._queue = [e for e in self._queue if not e[1].done()]
        places = self.regular() if self._queue else 0
        while self._queue and self.in_flight < places:  # more than one when the lane widens again
            chosen = min(range(len(self._queue)), key=lambda i: (self.flying[self._queue[i][0]], i))
            taker, waiter = self._queue.pop(chosen)
            self.flying[taker] += 1
            self.in_flight += 1
            waiter.set_result(None)

    def regular(self) -> int:
        """The regular places now: one while the API sends requests about other accounts than
        those of the jobs in flight here."""
        busy = self.gives_way_to
        return 1 if busy is not None and busy.busy_besides(self.flying) else self.limit

    def _extra_for(self, party: str | None) -> bool:
        """A party with nothing in flight goes at once, on one of `limit` extra places: a job of
        one number does not wait for another account's bulk writes to end (bench F1)."""
        return party is not None and not self.flying[party] and self.in_flight < 2 * self.limit
