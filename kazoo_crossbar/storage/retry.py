"""The one read-modify-write loop: read, change, write; a conflict (someone saved in between)
starts over with a fresh read, a bounded number of times."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from .couch import Conflict

RETRIES = 5


async def read_modify_write(
    read: Callable[[], Awaitable[dict | None]],
    change: Callable[[dict | None], dict | None],
    write: Callable[[dict], Awaitable[dict]],
    *,
    what: str = "document",
) -> dict | None:
    """`change(stored or None)` returns the document to write, or None to leave the stored one
    (which is then returned). Raises Conflict when every try lost the race."""
    for _ in range(RETRIES):
        stored = await read()
        wanted = change(stored)
        if wanted is None:
            return stored
        try:
            return await write(wanted)
        except Conflict:
            continue
    raise Conflict(409, "conflict", f"{what} kept changing")
