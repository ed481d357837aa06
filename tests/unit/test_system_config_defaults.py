"""Every default `setup` writes into system_config is the value Kazoo 4.3 uses when the key is
missing (tests/fixtures/kazoo/system_config_defaults.json, read from Kazoo's source)."""

from __future__ import annotations

import pytest

from kazoo_crossbar.jobs import numbers as knm
from kazoo_crossbar.storage.system_config import shipped_defaults

from ..kazoo import fixture

KAZOO = {k: v for k, v in fixture("system_config_defaults.json").items() if not k.startswith("_")}
SHIPPED = shipped_defaults()


def kazoo_default(category: str, key: str):
    entry = KAZOO[category][key]
    if "documented_alias_of" in entry:  # the documentation's name for a Kazoo key: same default
        return KAZOO[category][entry["documented_alias_of"]]["value"]
    return entry["value"]


def test_same_categories():
    assert set(SHIPPED) == set(KAZOO)


@pytest.mark.parametrize("category,key", [(c, k) for c, doc in sorted(SHIPPED.items()) for k in sorted(doc["default"])])
def test_every_shipped_default_is_kazoos(category, key):
    assert key in KAZOO[category], f"{category}.{key}: Kazoo 4.3 has no default for it"
    assert "kazoo" in KAZOO[category][key]  # where in Kazoo's source the value was read
    value = kazoo_default(category, key)
    assert value is not None, f"{category}.{key}: Kazoo never writes it (read without a default)"
    assert SHIPPED[category]["default"][key] == value


def test_code_defaults_match_kazoo():
    """What the service uses when the key is missing is Kazoo's value too."""
    assert KAZOO["number_manager"]["e164_converters"]["value"] == knm.DEFAULT_CONVERTERS
    assert KAZOO["number_manager"]["reconcile_regex"]["value"] == knm.DEFAULT_RECONCILE


@pytest.mark.parametrize(
    "entry,e164",
    [
        ("0114420123456", "+4420123456"),
        ("004420123456", "+4420123456"),
        ("2125551234", "+12125551234"),
        ("12125551234", "+12125551234"),
        ("+12125551234", "+12125551234"),
        ("0111234", "0111234"),  # fewer than 5 digits after 011: not converted
        ("001234", "001234"),
    ],
)
def test_kazoo_converters_normalise_as_kazoo(entry, e164):
    rules = knm.Rules.from_config(SHIPPED["number_manager"]["default"]["e164_converters"], None)
    assert knm.normalize(entry, rules) == e164
