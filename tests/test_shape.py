"""The package's shape, read from its source as data (issue 20; docs/architecture.md).

These rules keep the layering the next person relies on: no import circle (imports
inside functions count), package modules imported inside functions only by cli.py
(to keep `--help` fast), no function longer than 60 lines, and the state reader
importing no renderer (both learn the format from the schema).
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "src" / "digest2feed"
MAX_LINES = 60
RENDERERS = "digest2feed.render"


def module_name(path: Path) -> str:
    parts = ("digest2feed", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path, own: str | None = None) -> list[tuple[str, bool, int]]:
    """(module imported, inside a function, line) for each package module ``path`` imports.
    ``from digest2feed.x import y`` names ``digest2feed.x.y`` where that is a module. The
    package imports absolutely (a relative import fails the circle test: it is not followed)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            inside |= {id(n) for n in ast.walk(node) if n is not node}
    own = own or module_name(path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert not node.level, f"{own}:{node.lineno}: a relative import"
            # The submodule where a name is one (``from digest2feed.sources import files``), else the module.
            names = [
                f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in MODULES else node.module for a in node.names
            ]
        else:
            continue
        for name in names:
            if name in MODULES and name != own and name != "digest2feed":
                found.append((name, id(node) in inside, node.lineno))
    return found


GRAPH = {name: {dep for dep, _, _ in imports(path)} for name, path in MODULES.items()}


def cycles(graph: dict[str, set[str]] = GRAPH) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_circle_even_counting_imports_inside_functions():
    assert cycles() == []


def test_only_cli_imports_package_modules_inside_functions():
    inside = [
        f"{name}:{line} imports {dep}"
        for name, path in MODULES.items()
        if name != "digest2feed.cli"
        for dep, nested, line in imports(path)
        if nested
    ]
    assert inside == []


def test_no_function_is_longer_than_sixty_lines():
    long = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_LINES:
                    long.append(f"{name}.{node.name}: {lines} lines")
    assert long == []


def test_the_state_reader_imports_no_renderer():
    reader = [m for m in MODULES if m.endswith(".state")]
    assert reader, "no state reader found"
    for name in reader:
        assert not [dep for dep in GRAPH[name] if dep.startswith(RENDERERS)], name


def test_the_rules_see_what_they_look_for(tmp_path):
    """A planted circle, a self-import and an import inside a function are each found."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"a"}}) == [["a"]]
    source = tmp_path / "planted.py"
    body = "    from digest2feed import store\n    from digest2feed.model import Rung\n"
    source.write_text(f"import os\n\ndef f():\n{body}")
    found = imports(source, "digest2feed.planted")
    assert ("digest2feed.store", True, 4) in found and ("digest2feed.model", True, 5) in found
