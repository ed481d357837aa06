"""Read-your-own-writes on listings (storage/recent.py): the documents this process wrote lately
are merged over a view's rows: a deleted one's row goes, an updated one's row is its written
revision's, a new one's row is placed in the view's order, within the page's key range."""

from __future__ import annotations

from collections.abc import AsyncIterator

from kazoo_crossbar.endpoints.resources import listing_rows
from kazoo_crossbar.storage.recent import MAX_PER_DB, Overlay, RecentWrites, merged


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def resource(doc_id: str, name: str, **extra) -> dict:
    return {"_id": doc_id, "pvt_type": "resource", "name": name, **extra}


def view_row(doc_id: str, name: str) -> dict:
    return {"id": doc_id, "key": doc_id, "value": {"id": doc_id, "name": name}}


async def aiter(rows: list[dict]) -> AsyncIterator[dict]:
    for row in rows:
        yield row


async def listed(recent: RecentWrites, view: list[dict], *, first=None, end=None, descending=False) -> list:
    overlay = Overlay(recent, listing_rows)
    replaced, extra = overlay.rows("db", first=first, end=end, descending=descending, include_docs=False)
    return [
        (r["id"], r["value"].get("name")) async for r in merged(aiter(view), replaced, extra, descending=descending)
    ]


async def test_a_deleted_document_leaves_the_listing_at_once():
    recent = RecentWrites({"resource"})
    recent.note("db", resource("b", "B"), "2-x", deleted=True)
    assert await listed(recent, [view_row("a", "A"), view_row("b", "B"), view_row("c", "C")]) == [
        ("a", "A"),
        ("c", "C"),
    ]


async def test_a_soft_deleted_document_leaves_it_too():
    recent = RecentWrites({"resource"})
    recent.note("db", resource("b", "B", pvt_deleted=True), "3-x", deleted=False)
    assert await listed(recent, [view_row("a", "A"), view_row("b", "B")]) == [("a", "A")]


async def test_an_update_shows_the_written_revision_and_a_creation_its_place():
    recent = RecentWrites({"resource"})
    recent.note("db", resource("b", "B2"), "2-x", deleted=False)
    recent.note("db", resource("bb", "new"), "1-x", deleted=False)
    recent.note("db", resource("z", "last"), "1-x", deleted=False)
    view = [view_row("a", "A"), view_row("b", "B1"), view_row("c", "C")]
    assert await listed(recent, view) == [("a", "A"), ("b", "B2"), ("bb", "new"), ("c", "C"), ("z", "last")]
    assert await listed(recent, list(reversed(view)), descending=True) == [
        ("z", "last"),
        ("c", "C"),
        ("bb", "new"),
        ("b", "B2"),
        ("a", "A"),
    ]


async def test_only_rows_within_the_pages_range_are_added():
    recent = RecentWrites({"resource"})
    recent.note("db", resource("a0", "before"), "1-x", deleted=False)
    recent.note("db", resource("m", "inside"), "1-x", deleted=False)
    recent.note("db", resource("z", "after"), "1-x", deleted=False)
    assert await listed(recent, [view_row("b", "B")], first="b", end="y") == [("b", "B"), ("m", "inside")]


async def test_other_types_and_old_writes_are_not_kept():
    clock = Clock()
    recent = RecentWrites({"resource"}, window_s=30, clock=clock)
    recent.note("db", {"_id": "n", "pvt_type": "number"}, "1-x", deleted=False)
    recent.note("db", resource("b", "B"), "2-x", deleted=True)
    assert recent.docs("db") == {"b": None}
    clock.now += 31
    assert recent.docs("db") == {}
    assert await listed(recent, [view_row("b", "B")]) == [("b", "B")]  # the view has caught up by then


async def test_a_slower_answer_to_an_older_write_does_not_win():
    recent = RecentWrites({"resource"})
    recent.note("db", resource("b", "third"), "3-x", deleted=False)
    recent.note("db", resource("b", "second"), "2-x", deleted=False)
    assert recent.docs("db")["b"]["name"] == "third"


def test_memory_stays_bounded():
    recent = RecentWrites({"resource"})
    for i in range(MAX_PER_DB + 10):
        recent.note("db", resource(f"r{i:05d}", "x"), "1-x", deleted=False)
    kept = recent.docs("db")
    assert len(kept) == MAX_PER_DB and "r00000" not in kept
