"""The import layers of docs/architecture.md hold: no module imports one of a higher layer or of
another folder on its own layer, and there is no import cycle."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "kazoo_crossbar"


def layer_order() -> dict[str, int]:
    """{unit: layer}, 0 the lowest, from the ```layers block (top layer written first)."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    block = re.search(r"```layers\n(.*?)```", text, re.S)
    assert block, "docs/architecture.md has no ```layers block"
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    return {unit.strip(): len(lines) - 1 - i for i, line in enumerate(lines) for unit in line.split(",")}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """kazoo_crossbar modules imported anywhere in the file (functions and TYPE_CHECKING included)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "kazoo_crossbar":
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                as_file = ROOT / (candidate.replace(".", "/") + ".py")
                found.add(candidate if as_file.exists() or (ROOT / candidate.replace(".", "/")).is_dir() else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "kazoo_crossbar")
    found.discard(name)
    return found


def unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports(p) for p in PACKAGE.rglob("*.py")}


def test_every_unit_has_a_layer():
    layers = layer_order()
    missing = {unit(m) for m in graph()} - set(layers) - {""}
    assert not missing, f"add to the layers of docs/architecture.md: {sorted(missing)}"


def violations(edges: dict[str, set[str]], layers: dict[str, int]) -> list[str]:
    wrong = []
    for module, deps in edges.items():
        if not unit(module):
            continue
        for dep in deps:
            if not unit(dep) or unit(dep) == unit(module):
                continue
            if layers[unit(dep)] >= layers[unit(module)]:
                wrong.append(f"{module} imports {dep}")
    return sorted(wrong)


def test_no_upward_or_sideways_import():
    wrong = violations(graph(), layer_order())
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle():
    edges = graph()
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for dep in sorted(edges.get(module, ())):
            if dep not in edges:
                continue
            assert state.get(dep) != 1, "import cycle: " + " -> ".join(trail + [module, dep])
            if dep not in state:
                visit(dep, trail + [module])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [])


def test_the_checker_sees_upward_and_sideways_imports():
    """The walk must catch what it is there to catch (and it reads relative imports)."""
    layers = layer_order()
    assert layers["http"] > layers["storage"] > layers["config"] and layers["bus"] == layers["auth"]
    assert "kazoo_crossbar.storage.couch" in imports(PACKAGE / "storage" / "writes.py")
    fake = {
        "kazoo_crossbar.storage.x": {"kazoo_crossbar.http.errors"},
        "kazoo_crossbar.bus.y": {"kazoo_crossbar.auth.keys"},
        "kazoo_crossbar.http.z": {"kazoo_crossbar.storage.couch", "kazoo_crossbar.http.errors"},
    }
    assert violations(fake, layers) == [
        "kazoo_crossbar.bus.y imports kazoo_crossbar.auth.keys",
        "kazoo_crossbar.storage.x imports kazoo_crossbar.http.errors",
    ]
