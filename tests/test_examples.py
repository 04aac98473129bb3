"""Every script in examples/ runs to completion; backprop_by_hand.py also shows the chain rule
by hand and the library's gradients agree to rounding."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


def run(script, cwd):
    """Run ``script`` with this interpreter in ``cwd`` (scripts may write files there)."""
    return subprocess.run([sys.executable, str(script)], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_examples_are_found():
    assert "backprop_by_hand.py" in {p.name for p in EXAMPLES}


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path):
    result = run(script, tmp_path)
    assert result.returncode == 0, f"{script.name} failed:\n{result.stdout}\n{result.stderr}"


def test_backprop_by_hand_matches_the_library(tmp_path):
    result = run(EXAMPLES[0].parent / "backprop_by_hand.py", tmp_path)
    assert result.returncode == 0, result.stderr
    found = dict(re.findall(r"max \|difference\| in (\S+): (\S+)", result.stdout))
    assert set(found) == {"J", "dJ/dW1", "dJ/dW2"}
    for name, value in found.items():
        assert float(value) < 1e-10, f"{name} differs by {value}"
    assert re.search(r"loss J = \d+\.\d+", result.stdout)
