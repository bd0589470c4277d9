"""The package map of docs/architecture.md, checked: layers, circles, private names, function size.

The checks walk the source with ``ast`` (nothing is imported), so they see every import, also the
function-local ones, whatever the platform or the installed extras.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "synprobe"
ARCH_DOC = ROOT / "docs" / "architecture.md"

# The most lines a function (its ``def`` to its last line, decorators excluded) may span.
MAX_FUNCTION_LINES = 100

# Where a function may import a synprobe module: the CLI's commands import their engines lazily,
# and so does the package face (PEP 562 ``__getattr__``), so that ``synprobe --help`` and shell
# completion start fast. Everywhere else a function-local import is for a heavy optional package
# (torch, matplotlib, ray, ...) only.
def lazy_synprobe_imports_allowed(module: str) -> bool:
    return module == "synprobe" or module == "synprobe.cli" or module.startswith("synprobe.cli.")


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module (the deepest synprobe module the statement names)
    names: tuple[str, ...]  # names taken by ``from X import a, b``; () for ``import X``
    local: bool  # inside a function
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _deepest(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports() -> list[Import]:
    known = modules()
    found: list[Import] = []
    for mod, path in known.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]

        def visit(node: ast.AST, local: bool, mod: str = mod, package: str = package) -> None:
            for child in ast.iter_child_nodes(node):
                if _is_type_checking(child):
                    continue
                inner = local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                if isinstance(child, ast.Import):
                    for alias in child.names:
                        target = _deepest(alias.name, known) if alias.name.startswith("synprobe") else None
                        if target and target != mod:
                            found.append(Import(mod, target, (), inner, child.lineno))
                elif isinstance(child, ast.ImportFrom):
                    base = child.module or ""
                    if child.level:
                        anchor = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                        base = ".".join(anchor + ([base] if base else []))
                    if base.startswith("synprobe"):
                        plain = []
                        for alias in child.names:
                            sub = f"{base}.{alias.name}"
                            if sub in known:  # ``from synprobe import errors``: the module errors
                                if sub != mod:
                                    found.append(Import(mod, sub, (), inner, child.lineno))
                            else:
                                plain.append(alias.name)
                        target = _deepest(base, known)
                        if plain and target and target != mod:
                            found.append(Import(mod, target, tuple(plain), inner, child.lineno))
                visit(child, inner)

        visit(ast.parse(path.read_text(), str(path)), False)
    return found


def layers() -> list[list[str]]:
    """The layers, lowest first, from the fenced ``layers`` block of docs/architecture.md."""
    text = ARCH_DOC.read_text()
    block = re.search(r"```layers\n(.*?)```", text, re.S)
    assert block, f"{ARCH_DOC}: no ```layers block"
    out = []
    for line in block.group(1).splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line.split())
    return out


def component(mod: str, comps: set[str]) -> str | None:
    """The documented component a module belongs to (its package, or itself)."""
    name = mod
    while name:
        if name in comps and (name != "synprobe" or mod == "synprobe"):
            return name
        name = name.rpartition(".")[0]
    return None


def test_every_module_has_a_documented_layer():
    comps = {c for layer in layers() for c in layer}
    missing = sorted(m for m in modules() if component(m, comps) is None)
    assert not missing, f"modules with no layer in {ARCH_DOC.name}: {missing}"


def test_imports_only_go_down_the_layers():
    rank = {c: i for i, layer in enumerate(layers()) for c in layer}
    comps = set(rank)
    bad = []
    for imp in imports():
        a, b = component(imp.source, comps), component(imp.target, comps)
        if a is None or b is None or a == b:
            continue
        # a package's face may re-export its own subpackage's names; otherwise strictly downwards
        if rank[b] >= rank[a] and not b.startswith(a + "."):
            bad.append(f"{imp.source}:{imp.line} imports {imp.target} ({a} is not above {b})")
    assert not bad, "\n".join(bad)


def test_no_import_circles():
    graph: dict[str, set[str]] = defaultdict(set)
    for imp in imports():
        graph[imp.source].add(imp.target)
    # a module importing a submodule of its own package face is how a face is built; the face
    # itself importing back is the circle we look for, so every edge counts
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in sorted(modules()):
        if v not in index:
            strong(v)
    assert not circles, f"import circles: {circles}"


def _unit(mod: str) -> str:
    """The package a module belongs to; a flat module of synprobe/ is a unit of its own."""
    path = modules()[mod]
    if path.name == "__init__.py":
        return mod
    parent = mod.rpartition(".")[0]
    return mod if parent == "synprobe" else parent


def test_nothing_private_crosses_a_package_border():
    bad = []
    for imp in imports():
        if imp.target == "synprobe._version":
            continue  # the version is a leaf that every layer may read
        src, dst = _unit(imp.source), _unit(imp.target)
        inside = src == dst or src.startswith(dst + ".")  # a package and its subpackages
        private_mod = any(p.startswith("_") for p in imp.target.split("."))
        if private_mod and not inside:
            bad.append(f"{imp.source}:{imp.line} imports the private module {imp.target}")
        private_names = [n for n in imp.names if n.startswith("_") and not n.startswith("__")]
        if private_names and not inside:
            bad.append(f"{imp.source}:{imp.line} takes {private_names} from {imp.target}")
    assert not bad, "\n".join(bad)


def test_function_local_synprobe_imports_only_in_the_cli():
    bad = [
        f"{imp.source}:{imp.line} imports {imp.target} inside a function"
        for imp in imports()
        if imp.local and not lazy_synprobe_imports_allowed(imp.source)
    ]
    assert not bad, "\n".join(bad)


def test_no_function_over_100_lines():
    long = []
    for mod, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{mod}.{node.name}: {n} lines")
    assert not long, "\n".join(long)


@pytest.mark.parametrize("mod", sorted(modules()))
def test_every_module_says_what_lives_there(mod):
    tree = ast.parse(modules()[mod].read_text())
    doc = ast.get_docstring(tree)
    assert doc and len(doc.split()) >= 4, f"{mod}: no module docstring"
