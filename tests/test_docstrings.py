"""The API reference: every public class and function has a numpydoc docstring, and
docs/api.md is generated from them and up to date."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate", reason="needs numpydoc (dev extra)")

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("gen_api", ROOT / "docs" / "gen_api.py")
gen_api = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen_api)

# numpydoc's checks that a docstring of this project must pass: it exists (a method that
# overrides a documented one inherits its docstring), has a one-line summary, documents every
# parameter and no other, and describes what a function returns.
REQUIRED = {"GL08", "SS01", "SS03", "PR01", "PR02", "PR10", "RT01"}


def _objects():
    seen = {}
    for module in gen_api.MODULES:
        for qualname, obj in gen_api.public_objects(module):
            seen.setdefault(qualname, obj)
    return seen


OBJECTS = _objects()


def test_the_public_api_is_large_enough_to_mean_something():
    assert len(OBJECTS) > 300
    assert "feedforward.training.Trainable.fit" in OBJECTS  # a base of Sequential
    assert "feedforward.model.Sequential.fit" in OBJECTS  # listed where a user looks for it
    assert "feedforward.checkpoint.BackupAndRestore" in OBJECTS


def _problems(qualname, obj):
    if gen_api.inherited_doc(qualname, obj):
        return []  # documented where it is declared
    result = numpydoc_validate.validate(qualname)
    errors = [(code, message) for code, message in result["errors"] if code in REQUIRED]
    if inspect.isclass(obj) or not _returns_something(obj):
        errors = [e for e in errors if e[0] != "RT01"]
    return errors


def _returns_something(func) -> bool:
    annotation = inspect.signature(func).return_annotation
    if annotation in (None, "None"):
        return False
    source = inspect.getsource(func)
    return "return " in source or "yield" in source


def test_every_public_class_and_function_has_a_numpydoc_docstring():
    failures = {q: _problems(q, o) for q, o in OBJECTS.items()}
    failures = {q: p for q, p in failures.items() if p}
    report = "\n".join(f"{q}: {'; '.join(f'{c} {m}' for c, m in p)}"
                       for q, p in sorted(failures.items()))
    assert not failures, f"{len(failures)} docstrings fall short:\n{report}"


def test_the_checker_catches_a_missing_parameter():
    def f(alpha, beta):
        """Do something.

        Parameters
        ----------
        alpha : int
            The first.

        Returns
        -------
        int
            The result.
        """
        return alpha

    f.__module__ = __name__
    globals()["_undocumented_beta"] = f
    f.__qualname__ = "_undocumented_beta"
    codes = {c for c, _ in numpydoc_validate.validate(f"{__name__}._undocumented_beta")["errors"]}
    assert "PR01" in codes


def test_api_md_is_generated_from_the_current_docstrings():
    current = (ROOT / "docs" / "api.md").read_text()
    assert current == gen_api.render(), "docs/api.md is stale: run python docs/gen_api.py"
