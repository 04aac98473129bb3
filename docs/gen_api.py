"""Write docs/api.md, the API reference, from the docstrings of the public API.

Run: python docs/gen_api.py            (from the repository root; rewrites docs/api.md)
The tests check that docs/api.md is up to date and that every public class and function has a
numpydoc docstring (tests/test_docstrings.py).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

# The public modules, in the order of the reference; each lists __all__, or else every name
# without a leading underscore that it defines.
MODULES = [
    "feedforward", "feedforward.model", "feedforward.network", "feedforward.inputs",
    "feedforward.training", "feedforward.weighting", "feedforward.summaries",
    "feedforward.layers",
    "feedforward.activations", "feedforward.initializers", "feedforward.losses",
    "feedforward.metrics",
    "feedforward.regularizers", "feedforward.optimizers", "feedforward.kernels",
    "feedforward.schedules",
    "feedforward.callbacks", "feedforward.checkpoint", "feedforward.saving",
    "feedforward.errors", "feedforward.data.playground", "feedforward.data.mnist",
    "feedforward.data.tabular", "feedforward.data.preprocessing", "feedforward.data.encoding",
    "feedforward.data.split", "feedforward.data.frames",
    "feedforward.data.augment", "feedforward.data.batching", "feedforward.data.streams",
    "feedforward.diagnostics.gradient_check", "feedforward.diagnostics.monitor",
    "feedforward.diagnostics.doctor",
    "feedforward.diagnostics.check", "feedforward.sklearn", "feedforward.onnx",
    "feedforward.interop", "feedforward.tune", "feedforward.playground",
]
HEADER = """# API reference

Generated from the docstrings by `python docs/gen_api.py`; do not edit by hand. The guide
([guide/index.md](guide/index.md)) shows these at work.
"""


def _defined_in(obj, module) -> bool:
    return getattr(obj, "__module__", None) == module.__name__


def public_objects(module_name):
    """``(qualified name, object)`` of the module's public classes and functions, each class
    followed by its public methods."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, o in vars(module).items()
                 if not n.startswith("_") and _defined_in(o, module)]
    for name in sorted(names):
        obj = getattr(module, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        yield f"{obj.__module__}.{obj.__qualname__}", obj
        if inspect.isclass(obj):
            for attr, member in _members(obj).items():
                if (attr == "__call__" or not attr.startswith("_")) and inspect.isfunction(member):
                    yield f"{obj.__module__}.{obj.__qualname__}.{attr}", member


# Bases that split one class into parts with one job each (Sequential = Network + Inputs +
# Trainable): their methods are listed under the class too, where a user looks for them.
PART_MODULES = {"feedforward.network", "feedforward.inputs", "feedforward.training"}


def _members(cls) -> dict:
    """The class's own attributes, after those of its bases defined in PART_MODULES."""
    members = {}
    for base in reversed(cls.__mro__):
        if base is cls or base.__module__ in PART_MODULES:
            members.update(vars(base))
    return members


def inherited_doc(cls_member_name, obj) -> bool:
    """Whether a method without a docstring overrides a documented one (the doc is inherited)."""
    return obj.__doc__ is None and inspect.getdoc(obj) is not None


def _signature(obj) -> str:
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(...)"


def _markdown(doc: str) -> str:
    """numpydoc sections as bold labels and bullet lists, so the page reads as Markdown."""
    lines, out, section = doc.splitlines(), [], None
    i = 0
    while i < len(lines):
        line = lines[i]
        underline = i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}
        if underline and line.strip() and not line.startswith(" "):
            section = line.strip()
            out += ["", f"**{section}**", ""]
            i += 2
            continue
        if section in ("Parameters", "Returns", "Yields", "Attributes", "Raises") and line \
                and not line.startswith(" "):
            name, _, kind = line.partition(" : ")
            out.append(f"- `{name.strip()}`" + (f" : {kind.strip()}" if kind else ""))
        elif section and line.startswith("    "):
            out.append("  " + line.strip())
        else:
            out.append(line)
        i += 1
    return "\n".join(out)


def render() -> str:
    parts, seen = [HEADER], set()
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        summary = (inspect.getdoc(module) or "").split("\n\n")[0]
        parts.append(f"\n## {module_name}\n\n{summary}\n")
        for qualname, obj in public_objects(module_name):
            if qualname in seen:  # re-exported: documented where it is defined
                continue
            seen.add(qualname)
            level = "####" if qualname.count(".") > obj.__module__.count(".") + 1 else "###"
            kind = "class " if inspect.isclass(obj) else ""
            doc = _markdown(inspect.getdoc(obj) or "")
            parts.append(f"\n{level} {qualname}\n\n```python\n{kind}{qualname.rsplit('.', 1)[1]}"
                         f"{_signature(obj)}\n```\n\n{doc}\n")
    return "".join(parts)


def main() -> int:
    out = Path(__file__).resolve().parent / "api.md"
    out.write_text(render())
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
