"""system_config reader with Kazoo's lookup rules (kapps_config:get/3).

A category document holds `default`, per-node and per-zone objects. Lookup:
the node's value, else the zone's, else `default.<key>`. A missing default
is written back (and a missing category document created), as Kazoo does, so
operators see every key the service uses. Documents are cached briefly.

Defaults come from one place: the files under `system_config/` (`shipped_default`), which
`setup` writes and `setting`/`setting_int` fall back to. A key may have an older name
(`ALIASES`: Kazoo's resources API documentation calls its `job_recovery_*` keys `job_recover_*`): in
each section Kazoo's name is read first, then the alias.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from ..shipped import folder as shipped_folder
from . import names
from .cache import TTLCache
from .couch import Conflict, CouchClient, NotFound
from .docs import system_pvt_fields
from .writes import Writes

_MISSING = object()

# Kazoo's name → the other name a key may be stored under (read after Kazoo's in each section;
# `setup` carries an operator's value over to Kazoo's name).
ALIASES: dict[tuple[str, str], str] = {
    ("crossbar.resources", "job_recovery_timeout_s"): "job_recover_timeout_s",
    ("crossbar.resources", "job_recovery_threshold_s"): "job_recover_threshold_s",
}


class SystemConfig:
    """Reads with the node and zone of `writes`, which writes missing defaults back."""

    def __init__(self, writes: Writes, ttl_s: float = 5.0):
        self.writes = writes
        self.couch: CouchClient = writes.couch
        self.node, self.zone = writes.node, writes.zone
        self._cache: TTLCache[dict] = TTLCache(ttl_s)

    async def category(self, category: str) -> dict | None:
        return await self._cache.get_or_load(category, lambda: self._read(category))

    async def _read(self, category: str) -> dict | None:
        try:
            return await self.couch.get_doc(names.SYSTEM_CONFIG, category)
        except NotFound:
            return None

    def _lookup(self, doc: dict | None, key: str, alias: str | None = None) -> Any:
        for section in (self.node, self.zone, "default"):
            found = (doc or {}).get(section) or {}
            for name in (key, alias) if alias else (key,):
                value = found.get(name, _MISSING) if isinstance(found, dict) else _MISSING
                if value is not _MISSING and value is not None:
                    return value
        return _MISSING

    async def get_path(self, category: str, path: tuple[str, ...], *, sections: tuple[str, ...] = ()) -> Any:
        """A nested value (kapps_config with a key list), read only: each section (`sections`, else
        node, zone, default) is looked into along the whole path before the next; None when unset."""
        doc = await self.category(category) or {}
        for section in sections or (self.node, self.zone, "default"):
            value: Any = doc.get(section)
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            if value is not None:
                return value
        return None

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

    async def setting(self, category: str, key: str) -> Any:
        """A key shipped in system_config/: its value (node, zone, default; Kazoo's name before
        its alias in each), else the shipped default, written back under Kazoo's name."""
        default = shipped_default(category, key)
        value = self._lookup(await self.category(category), key, ALIASES.get((category, key)))
        if value is not _MISSING:
            return value
        return await self._write_default(category, key, default)

    async def setting_int(self, category: str, key: str) -> int:
        """`setting` as an integer; the shipped default when the stored value is not one."""
        value = await self.setting(category, key)
        try:
            return int(value)
        except (TypeError, ValueError):
            return int(shipped_default(category, key))

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
    """The default documents under system_config/, by category id (a copy: callers may change it)."""
    return copy.deepcopy(_shipped())


@cache
def _shipped() -> dict[str, dict]:
    out = {}
    paths = sorted(
        (p for p in shipped_folder("system_config").iterdir() if p.name.endswith(".json")), key=lambda p: p.name
    )
    for path in paths:
        doc = json.loads(path.read_text(encoding="utf-8"))
        out[doc["_id"]] = doc
    return out


def shipped_default(category: str, key: str) -> Any:
    """The one source of a setting's default: `default.<key>` of system_config/<category>.json
    (KeyError when it ships none)."""
    return copy.deepcopy(_shipped()[category]["default"][key])


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
            for k in missing:  # an operator's value under the older name goes under Kazoo's
                alias = ALIASES.get((category, k))
                if alias and default.get(alias) is not None and k not in default:
                    missing[k] = default[alias]
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
