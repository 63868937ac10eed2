"""The package ``marsad`` has no import cycles.

Why: a cycle makes the import order matter (a module half-initialised when its partner asks for a name) and blurs
which layer owns what; "where does this change go?" should have one answer.

What counts as an edge (decided here, once):
- every ``import``/``from ... import`` statement in a module's source, at module level **and** inside functions or
  methods. Marsad's CLI and demo import lazily (inside the command functions) to keep start-up fast; a cycle through a
  lazy import is still a cycle of knowledge, and it still bites the moment both functions run.
- imports guarded by ``if TYPE_CHECKING:`` do **not** count: they never run.
- ``from marsad.a import b`` is an edge to ``marsad.a.b`` when that is a module, else to ``marsad.a``.
- a module's implicit import of its parent package (Python runs ``marsad/a/__init__.py`` before ``marsad/a/b.py``) is
  not an edge; only what the source writes.

The graph is built with the standard library only (``ast`` over the files under ``src/marsad``); nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "marsad"


def _module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool, modules: set[str]) -> set[str]:
    """Names of ``marsad`` modules that ``tree`` imports (see the module docstring for what counts)."""
    found: set[str] = set()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE and (target := resolve(alias.name)):
                    found.add(target)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            if origin.split(".")[0] == PACKAGE:
                for alias in node.names:
                    name = f"{origin}.{alias.name}"
                    target = resolve(name) if name in modules else resolve(origin)
                    if target:
                        found.add(target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(module)
    return found


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """``{module: {imported marsad modules}}`` for every ``.py`` file under ``src/marsad``."""
    files = {_module_name(p, src): p for p in sorted((src / PACKAGE).rglob("*.py"))}
    modules = set(files)
    return {
        name: _imports(ast.parse(path.read_text(encoding="utf-8"), str(path)), name, path.name == "__init__.py",
                       modules)
        for name, path in files.items()
    }


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted; sorted by first module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def strongconnect(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return sorted(components)


def test_the_graph_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    pkg = tmp_path / PACKAGE
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from . import b\n")
    (pkg / "a.py").write_text("def f():\n    from marsad.sub import b\n")
    (pkg / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from marsad import c\nfrom ..a import f\n"
    )
    (pkg / "c.py").write_text("import marsad.sub.b\n")
    graph = import_graph(tmp_path)
    assert graph["marsad.a"] == {"marsad.sub.b"}
    assert graph["marsad.sub"] == {"marsad.sub.b"}
    assert graph["marsad.sub.b"] == {"marsad.a"}  # the TYPE_CHECKING import is not an edge
    assert graph["marsad.c"] == {"marsad.sub.b"}
    assert find_cycles(graph) == [["marsad.a", "marsad.sub.b"]]


def test_marsad_has_no_import_cycles() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles (each line one strongly connected set of modules):\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )
