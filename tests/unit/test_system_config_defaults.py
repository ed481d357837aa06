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
    if "ours" in entry:  # a key of this service's own, which no Kazoo module reads
        return entry["value"]
    if "documented_alias_of" in entry:  # the documentation's name for a Kazoo key: same default
        return KAZOO[category][entry["documented_alias_of"]]["value"]
    return entry["value"]


def test_same_categories():
    assert set(SHIPPED) == set(KAZOO)


@pytest.mark.parametrize("category,key", [(c, k) for c, doc in sorted(SHIPPED.items()) for k in sorted(doc["default"])])
def test_every_shipped_default_is_kazoos(category, key):
    assert key in KAZOO[category], f"{category}.{key}: Kazoo 4.3 has no default for it"
    # where in Kazoo's source the value was read, or why Kazoo does not read the key at all
    assert "kazoo" in KAZOO[category][key] or "ours" in KAZOO[category][key]
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


def repeated_defaults(source: str, filename: str = "<source>") -> list[str]:
    """Reads of a shipped key that give their own default (`config.get(cat, key, 50)`): the
    default must come from system_config/ alone (`config.setting(cat, key)`)."""
    import ast

    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        has_default = len(node.args) >= 3 or any(k.arg == "default" for k in node.keywords)
        if node.func.attr not in ("get", "get_int") or len(node.args) < 2 or not has_default:
            continue
        category, key = node.args[0], node.args[1]
        if not (isinstance(category, ast.Constant) and isinstance(key, ast.Constant)):
            continue
        shipped = SHIPPED.get(str(category.value), {}).get("default", {})
        if key.value in shipped:
            found.append(f"{filename}:{node.lineno}: {node.func.attr}({category.value!r}, {key.value!r}, …)")
    return found


def test_defaults_come_only_from_system_config():
    """#19: a shipped key is read with `setting`/`setting_int`, never with a default of its own."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    found = []
    for path in sorted((root / "kazoo_crossbar").rglob("*.py")):
        found += repeated_defaults(path.read_text(), str(path.relative_to(root)))
    assert found == [], "\n".join(found)
    # the rule finds what it is for
    bad = (
        'await config.get_int("crossbar.resources", "job_max_numbers", 10_000)\n'
        'await c.get("crossbar", "port", default=8000)\n'
        'await c.get("crossbar", "port")\n'  # no default of its own: not a second source
        'await c.get("crossbar", "token_costs", 1)\n'  # not shipped: the code is its only source
    )
    assert [line.split(": ", 1)[1] for line in repeated_defaults(bad)] == [
        "get_int('crossbar.resources', 'job_max_numbers', …)",
        "get('crossbar', 'port', …)",
    ]
