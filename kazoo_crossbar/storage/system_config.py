"""system_config reader with Kazoo's lookup rules (kapps_config:get/3).

A category document holds `default`, per-node and per-zone objects. Lookup:
the node's value, else the zone's, else `default.<key>`. A missing default
is written back (and a missing category document created), as Kazoo does, so
operators see every key the service uses. Documents are cached briefly.
"""

from __future__ import annotations

import json
from typing import Any

from ..shipped import folder as shipped_folder
from . import names
from .cache import TTLCache
from .couch import Conflict, CouchClient, NotFound
from .docs import system_pvt_fields
from .writes import Writes

_MISSING = object()


class SystemConfig:
    def __init__(
        self, couch: CouchClient, node: str, zone: str = "local", ttl_s: float = 5.0, writes: Writes | None = None
    ):
        self.couch, self.node, self.zone = couch, node, zone
        self.writes = writes or Writes(couch, node=node, zone=zone)
        self._cache: TTLCache[dict] = TTLCache(ttl_s)

    async def category(self, category: str) -> dict | None:
        return await self._cache.get_or_load(category, lambda: self._read(category))

    async def _read(self, category: str) -> dict | None:
        try:
            return await self.couch.get_doc(names.SYSTEM_CONFIG, category)
        except NotFound:
            return None

    def _lookup(self, doc: dict | None, key: str) -> Any:
        for section in (self.node, self.zone, "default"):
            value = ((doc or {}).get(section) or {}).get(key, _MISSING)
            if value is not _MISSING and value is not None:
                return value
        return _MISSING

    async def get(self, category: str, key: str, default: Any = None) -> Any:
        value = self._lookup(await self.category(category), key)
        if value is not _MISSING:
            return value
        if default is None:
            return None
        return await self._write_default(category, key, default)

    async def get_int(self, category: str, key: str, default: int) -> int:
        value = await self.get(category, key, default)
        try:
            return int(value)
        except (TypeError, ValueError):
            return default

    async def _write_default(self, category: str, key: str, default: Any) -> Any:
        def change(doc: dict | None) -> dict | None:
            doc = doc or {"_id": category, "default": {}, **system_pvt_fields(names.SYSTEM_CONFIG, self.node)}
            if self._lookup(doc, key) is not _MISSING:  # someone else wrote it meanwhile
                self._cache.put(category, doc)
                return None
            doc.setdefault("default", {})[key] = default
            doc["pvt_modified"] = names.gregorian_now()
            return doc

        try:
            doc = await self.writes.update(names.SYSTEM_CONFIG, category, change)
        except Conflict:
            return default
        assert doc is not None
        self._cache.put(category, doc)
        value = self._lookup(doc, key)
        return default if value is _MISSING else value

    def forget(self, category: str | None = None) -> None:
        if category is None:
            self._cache.clear()
        else:
            self._cache.drop(category)


_UNSET = object()


def shipped_defaults() -> dict[str, dict]:
    """The default documents under system_config/, by category id."""
    out = {}
    paths = sorted(
        (p for p in shipped_folder("system_config").iterdir() if p.name.endswith(".json")), key=lambda p: p.name
    )
    for path in paths:
        doc = json.loads(path.read_text(encoding="utf-8"))
        out[doc["_id"]] = doc
    return out


# Values that development builds of `setup` wrote before the first release (0.1.0) and Kazoo never
# had: a database such a build set up still holds them exactly so; never an operator's choice, they
# are replaced by Kazoo's (knm_converter_regex ?DEFAULT_E164_CONVERTERS). No release wrote them: this
# can go once no such development database is left.
NON_KAZOO_DEFAULTS: dict[tuple[str, str], Any] = {
    ("number_manager", "e164_converters"): {
        r"^\+?1?([2-9][0-9]{2}[2-9][0-9]{6})$": {"prefix": "+1"},
        r"^011(\d*)$|^00(\d*)$": {"prefix": "+"},
        r"^[2-9]\d{7,}$": {"prefix": "+"},
    },
}


async def install_defaults(writes: Writes, node: str) -> list[str]:
    """Write shipped defaults; keys an operator already set are never overwritten."""
    changed = []
    for category, shipped in shipped_defaults().items():

        def change(doc: dict | None, category: str = category, shipped: dict = shipped) -> dict | None:
            doc = doc or {"_id": category, **system_pvt_fields(names.SYSTEM_CONFIG, node)}
            default = doc.setdefault("default", {})
            missing = {
                k: v
                for k, v in shipped.get("default", {}).items()
                if k not in default or NON_KAZOO_DEFAULTS.get((category, k), _UNSET) == default[k]
            }
            if not missing and "_rev" in doc:
                return None
            default.update(missing)
            doc["pvt_modified"] = names.gregorian_now()
            changed.append(category)
            return doc

        try:
            await writes.update(names.SYSTEM_CONFIG, category, change)
        except Conflict:
            continue
    return sorted(set(changed), key=changed.index)
