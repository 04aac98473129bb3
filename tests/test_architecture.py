"""The package's boundaries, read from its source with ``ast`` (nothing is imported).

- No class is over 300 lines.
- No module reaches into another module's private names: ``obj._name`` (or ``getattr(obj,
  "_name")``) where ``obj`` is not ``self``, ``cls`` or ``super()`` and no class or statement of
  the module itself defines ``_name``. The engine (``model.py``, ``training.py``) and the concept
  modules offer public names to the outer layers; the few exceptions are listed in ALLOWED,
  each with its reason.
- ``feedforward.tune`` imports nothing of ``feedforward.cli``, directly or through other modules.
- The core (all but ``cli/``, ``playground/``, ``tune/`` and ``sklearn.py``) imports none of those
  outer layers. ``onnx.py`` is core here: ``Sequential.export_onnx`` is public API and calls it.
- The core modules import one another without a cycle, imports inside functions included.

Imports under ``if TYPE_CHECKING:`` are not executed and do not count. Each failure names the
file, the line and the rule.
"""

from __future__ import annotations

import ast
import sys
from collections import deque
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "feedforward"
MAX_CLASS_LINES = 300
OUTER = ("feedforward.cli", "feedforward.playground", "feedforward.tune", "feedforward.sklearn")

# The reach-ins that are right, each with its reason: {(module or "*", private name): why}.
# Keep it short.
ALLOWED: dict[tuple[str, str], str] = {
    ("*", "_replace"): "a namedtuple's public copy-with-changes method (its underscore only "
                       "keeps it apart from field names)",
}


# ------------------------------------------------------------------------------ the source
def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def extensions() -> set[str]:
    """The package's compiled modules: ``_kernels.c``, built as ``_kernels.cpython-*.so``."""
    return {module_name(path.with_name(path.name.split(".")[0] + ".py"))
            for pattern in ("*.c", "*.so", "*.pyd") for path in PACKAGE.rglob(pattern)}


@cache
def modules() -> dict[str, tuple[Path, ast.Module]]:
    """Every module of the package: dotted name -> (path, syntax tree)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        found[module_name(path)] = (path, ast.parse(path.read_text(), filename=str(path)))
    return found


def where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(PACKAGE.parents[1])}:{node.lineno}"


def is_outer(name: str) -> bool:
    return any(name == o or name.startswith(o + ".") for o in OUTER)


def type_checking_nodes(tree: ast.Module) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:`` (never executed)."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skipped


# ------------------------------------------------------------------------------ imports
def import_base(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute name of the module after ``from`` (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def resolve(module: str, path: Path, node: ast.ImportFrom | ast.Import) -> list[str]:
    """The package's modules an import statement loads (other packages are left out).

    ``from P import name`` loads ``P.name`` when that is a module, else ``P`` itself.
    """
    known = modules()
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in known]
    base = import_base(module, path, node)
    targets = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        if sub in known:
            targets.append(sub)
        elif sub in extensions():
            continue
        elif base in known:
            targets.append(base)
    return list(dict.fromkeys(targets))


@cache
def import_edges() -> dict[str, list[tuple[str, str]]]:
    """module -> [(imported module, "file:line")], imports inside functions included."""
    edges = {}
    for name, (path, tree) in modules().items():
        skipped = type_checking_nodes(tree)
        found = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in skipped:
                found += [(target, where(path, node)) for target in resolve(name, path, node)
                          if target != name]
        edges[name] = found
    return edges


def path_to(start: str, goal, allowed=lambda name: True) -> list[tuple[str, str]] | None:
    """The shortest import chain from ``start`` to a module for which ``goal`` holds, through
    modules ``allowed`` lets through, as [(module, "file:line of the import")], or None."""
    edges, seen, queue = import_edges(), {start}, deque([(start, [])])
    while queue:
        node, chain = queue.popleft()
        for target, at in edges[node]:
            if goal(target):
                return chain + [(target, at)]
            if target not in seen and allowed(target):
                seen.add(target)
                queue.append((target, chain + [(target, at)]))
    return None


def show_chain(start: str, chain) -> str:
    return start + "".join(f"\n    -> {target}  (imported at {at})" for target, at in chain)


def core_cycles() -> list[tuple[list[tuple[str, str]], set[str]]]:
    """For each strongly connected group of core modules (Tarjan): a shortest cycle through
    its first module, and the group."""
    edges = {m: [(t, at) for t, at in e if not is_outer(t)]
             for m, e in import_edges().items() if not is_outer(m)}
    index, low, on_stack, stack, groups = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w, _ in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1 or any(t == v for t, _ in edges[v]):
                groups.append(group)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    cycles = []
    for group in groups:
        start = min(group)
        cycles.append(([(start, "")] + path_to(start, lambda t, s=start: t == s,
                                               allowed=lambda t, g=group: t in g), group))
    return cycles


# ------------------------------------------------------------------------------ privates
def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def defined_names(tree: ast.Module) -> set[str]:
    """Every name the module defines: functions, classes, assignments at any level,
    attributes assigned anywhere (``x._a = ...``), parameters and imported aliases."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.attr)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets):
            names.update(c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id == "setattr" and len(node.args) == 3 and is_own(node.args[0])
              and isinstance(node.args[1], ast.Constant)):
            names.add(node.args[1].value)  # setattr(self, "_a", value)
    return names


def is_own(node: ast.expr) -> bool:
    """``self``, ``cls``, ``super()`` or ``type(self)``."""
    if isinstance(node, ast.Name):
        return node.id in ("self", "cls")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id == "super" or (node.func.id == "type" and len(node.args) == 1
                                            and is_own(node.args[0]))
    return False


def private_imports(name: str, path: Path, tree: ast.Module) -> list[str]:
    """``from feedforward.x import _name``: another module's private name (private modules,
    such as ``_registry``, are the package's own and may be imported)."""
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ImportFrom) and resolve(name, path, node)):
            continue
        base = import_base(name, path, node)
        for alias in node.names:
            module = f"{base}.{alias.name}"
            if is_private(alias.name) and module not in modules() and module not in extensions():
                found.append(f"{where(path, node)}: imports {alias.name}, a private name of "
                             f"{base}")
    return found


def private_reach_ins() -> list[str]:
    found = []
    for name, (path, tree) in modules().items():
        found += private_imports(name, path, tree)
        own = {n for n in defined_names(tree) if is_private(n)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                target, attr = node.value, node.attr
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
                  and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
                  and isinstance(node.args[1].value, str)):
                target, attr = node.args[0], node.args[1].value
            else:
                continue
            if not is_private(attr) or is_own(target) or attr in own:
                continue
            if (name, attr) in ALLOWED or ("*", attr) in ALLOWED:
                continue
            found.append(f"{where(path, node)}: {ast.unparse(target)}.{attr} reaches into a "
                         f"private name this module does not define")
    return found


# ------------------------------------------------------------------------------ the rules
def test_no_class_is_over_300_lines():
    long = []
    for _name, (path, tree) in modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_CLASS_LINES:
                    long.append(f"{where(path, node)}: class {node.name} is {lines} lines "
                                f"(at most {MAX_CLASS_LINES})")
    assert not long, "\n".join(long)


def test_no_module_reaches_into_another_modules_private_names():
    found = sorted(private_reach_ins(), key=lambda f: (f.split(":")[0], int(f.split(":")[1])))
    assert not found, f"{len(found)} private reach-ins:\n" + "\n".join(found)


def test_tune_does_not_import_the_cli():
    found = []
    for name in modules():
        if name == "feedforward.tune" or name.startswith("feedforward.tune."):
            chain = path_to(name, lambda t: t == "feedforward.cli" or
                            t.startswith("feedforward.cli."))
            if chain:
                found.append(f"{chain[0][1]}: tune imports the CLI: {show_chain(name, chain)}")
    assert not found, "\n".join(found)


def test_the_core_imports_no_outer_layer():
    found = [f"{at}: {name} (core) imports {target} (outer layer)"
             for name, edges in import_edges().items() if not is_outer(name)
             for target, at in edges if is_outer(target)]
    assert not found, "\n".join(found)


def test_the_core_modules_import_one_another_without_a_cycle():
    cycles = core_cycles()
    shown = [f"import cycle: {show_chain(cycle[0][0], cycle[1:])}\n  (modules that import one "
             f"another in a circle: {', '.join(sorted(group))})" for cycle, group in cycles]
    assert not cycles, "\n".join(shown)


# ------------------------------------------------------------------------------ the checker
def _tree(source):
    return ast.parse(source)


@pytest.mark.parametrize(("source", "expected"), [
    ("def f(m):\n    return m._fit_state\n", True),
    ("def f(m):\n    return getattr(m, '_fit_state')\n", True),
    ("class A:\n    def f(self):\n        return self._x\n", False),
    ("class A:\n    def f(self):\n        return super()._x\n", False),
    ("class A:\n    def __init__(self):\n        self._x = 1\n    def f(self, o):\n"
     "        return o._x\n", False),  # another A's attribute, in A's own module
    ("def f(m):\n    return m.__class__\n", False),
    ("def f(m):\n    return type(m)._x\n", True),
    ("from .other import _y\n", True),
    ("from .other import y\n", False),
], ids=["attribute", "getattr", "self", "super", "own_class", "dunder", "type_of_other",
        "private_import", "public_import"])
def test_the_reach_in_rule_flags_foreign_private_names(source, expected, monkeypatch):
    fake = {"feedforward.example_module": (PACKAGE / "example_module.py", _tree(source)),
            "feedforward.other": (PACKAGE / "other.py", _tree("y = _y = 1\n"))}
    monkeypatch.setattr(sys.modules[__name__], "modules", lambda: fake)
    assert bool(private_reach_ins()) is expected


def test_the_cycle_finder_reports_the_path(monkeypatch):
    a, b, c = (PACKAGE / f"{n}.py" for n in "abc")
    fake = {"feedforward.a": (a, _tree("from . import b\n")),
            "feedforward.b": (b, _tree("def f():\n    from .c import thing\n")),
            "feedforward.c": (c, _tree("from .a import x\n")),
            "feedforward.cli": (PACKAGE / "cli" / "__init__.py", _tree("from .. import a\n"))}
    monkeypatch.setattr(sys.modules[__name__], "modules", lambda: fake)
    import_edges.cache_clear()
    try:
        ((cycle, group),) = core_cycles()
        assert group == {"feedforward.a", "feedforward.b", "feedforward.c"}
        assert [m for m, _ in cycle] == ["feedforward.a", "feedforward.b", "feedforward.c",
                                          "feedforward.a"]
        assert cycle[2][1].endswith("b.py:2")  # the import inside a function counts
    finally:
        import_edges.cache_clear()
