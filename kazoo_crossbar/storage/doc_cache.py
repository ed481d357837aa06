"""Documents read by `GET …/{id}`, cached the way Kazoo's open_cache_doc does: kept only while
doc-change events can invalidate them, that is while the bus is connected. Our own writes
drop their entry at once; other nodes' writes (ours or Kazoo's) arrive as `doc_*` events on
the `configuration` exchange. Without a broker nothing is cached: a stale resource would be
worse than a slower one."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

from . import names
from .cache import TTLCache


class DocCache:
    def __init__(
        self, ttl_s: float = 300.0, max_entries: int = 20_000, on_lookup: Callable[[bool], None] | None = None
    ):
        self._docs: TTLCache[dict] = TTLCache(ttl_s, max_entries)
        self.enabled = False
        self._on_lookup = on_lookup  # hit (True) or miss, for the hit ratio in /metrics

    @staticmethod
    def _key(db: str, doc_id: str) -> tuple[str, str]:
        return names.decode(db), doc_id

    def get(self, db: str, doc_id: str) -> dict | None:
        if not self.enabled:
            return None
        doc = self._docs.get(self._key(db, doc_id))
        if self._on_lookup is not None:
            self._on_lookup(doc is not None)
        return doc

    def put(self, db: str, doc: dict) -> None:
        if self.enabled:
            self._docs.put(self._key(db, doc["_id"]), doc)

    def drop(self, db: str, doc_id: str) -> None:
        self._docs.drop(self._key(db, doc_id))

    def set_enabled(self, enabled: bool) -> None:
        """Follow the bus: events missed while it was away could leave stale entries."""
        self._docs.clear()
        self.enabled = enabled

    def on_routing_key(self, routing_key: str) -> None:
        """`doc_<action>.<db>.<type>.<id>`: db as Kazoo encodes it, id AMQP-encoded."""
        parts = routing_key.split(".")
        if len(parts) == 4:
            self.drop(unquote(parts[1]), unquote(parts[3].replace("+", " ")))
