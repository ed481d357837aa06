"""Upper bounds of a resource request, read from system_config `crossbar.resources`.

Checked on list lengths before the schema runs, so a body built to be costly (45,000 empty
gateways) is refused in constant time. Kazoo has no such bounds (docs/decisions.md, issue 21);
the values are written into `crossbar.resources` on first read, where operators change them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..storage.system_config import SystemConfig

CATEGORY = "crossbar.resources"
KEYS = ("max_gateways", "max_rules", "max_collection_items")  # their defaults ship in system_config/
# list field of a resource → the key bounding its length
LISTS = {"gateways": "max_gateways", "rules": "max_rules", "rules_test": "max_rules", "cid_rules": "max_rules"}


def max_items(key: str, target: int) -> dict[str, Any]:
    """Kazoo's maxItems error, without the (large) value."""
    return {key: {"maxItems": {"message": f"The list is more than {target} items", "target": target}}}


@dataclass(frozen=True)
class Bounds:
    values: dict[str, int]

    def resource_errors(self, doc: Any) -> dict[str, Any] | None:
        """maxItems errors for the lists of one resource that are over their bound."""
        if not isinstance(doc, dict):
            return None
        problems: dict[str, Any] = {}
        for field, key in LISTS.items():
            value = doc.get(field)
            if isinstance(value, list) and len(value) > self.values[key]:
                problems.update(max_items(field, self.values[key]))
        return problems or None

    def collection_errors(self, items: list) -> dict[str, Any] | None:
        target = self.values["max_collection_items"]
        return max_items("data", target) if len(items) > target else None


async def bounds(config: SystemConfig) -> Bounds:
    return Bounds({key: await config.setting_int(CATEGORY, key) for key in KEYS})
