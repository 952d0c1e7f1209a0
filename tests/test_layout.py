"""The layout of watcher/ (docs/DESIGN.md): no import cycle, function-level imports included; no
module over 500 lines; SQL only in the Store; the map in DESIGN.md names every package."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.shared import ROOT

PACKAGE = ROOT / "watcher"
MAX_LINES = 500
SQL = re.compile(r"\.execute(many)?\(|\.db\[|\.db\.(query|execute)|\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b")


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The watcher modules `name` imports anywhere in its file. `from pkg import sub` depends on the
    module pkg.sub (and on pkg itself only for names that are not submodules)."""
    found: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                found.add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module)
    return {m for m in found if m in known and m != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), and self-loops."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import(tmp_path):
    a = tmp_path / "a.py"
    a.write_text("def f():\n    from b import g\n")
    (tmp_path / "b.py").write_text("import a\n")
    known = {"a": a, "b": tmp_path / "b.py"}
    deps = {n: imports_of(n, p, known) for n, p in known.items()}
    assert cycles(deps) == [["a", "b"]]


def test_the_watcher_package_has_no_import_cycle():
    deps = graph()
    assert len(deps) > 60  # every module was read
    assert cycles(deps) == []


def test_no_module_is_over_500_lines():
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_only_the_store_runs_sql():
    outside = []
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).parts[0] == "store":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if SQL.search(line):
                outside.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert outside == []


def test_store_parts_import_the_leaf_not_the_package():
    deps = graph()
    parts = [m for m in deps if m.startswith("watcher.store.")]
    assert parts and [m for m in parts if "watcher.store" in deps[m]] == []


def test_command_modules_never_import_the_root_group():
    deps = graph()
    commands = [m for m in deps if m.startswith("watcher.cli.")]
    assert len(commands) >= 6 and [m for m in commands if "watcher.cli" in deps[m]] == []


def test_design_map_names_every_package():
    design = (ROOT / "docs" / "DESIGN.md").read_text(encoding="utf-8")
    packages = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
    assert [p for p in packages if f"{p}/" not in design] == []
