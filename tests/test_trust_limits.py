"""Issue 17, items 7, 12, 13 and part of 20: no advice from a failed test, and limits that are
checked before memory is spent (MNIST headers, tune sizes, tune resume files, schedulers)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import feedforward as ff
from feedforward.diagnostics import check


def _cli(*args, cwd, timeout=120):
    return subprocess.run([sys.executable, "-m", "feedforward.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


# ---------------------------------------------------------------------------- item 7: check
def _binary_factory(seed=0):
    def make():
        model = ff.Sequential([ff.Dense(16, "relu"), ff.Dense(1, "sigmoid")], seed=seed)
        model.compile("adam", "binary_crossentropy")
        return model
    return make


def test_a_flat_range_test_recommends_no_rate():
    """Zero inputs and balanced labels: p = 0.5 is already the optimum, so no rate can lower
    the loss; the old test recommended a tenth of its first rate (1e-07)."""
    x, y = np.zeros((64, 3)), np.tile([0, 1], 32)
    report = check(_binary_factory(), x, y, max_steps=1, lr_steps=50)
    step = report["learning_rate_range"]
    assert report.recommended_learning_rate is None
    assert step.passed is False and step.evidence["recommended_learning_rate"] is None
    assert "no learning rate is recommended" in step.summary
    assert report.to_dict()["recommended_learning_rate"] is None
    json.dumps(report.to_dict())  # JSON-safe


def test_a_noisy_range_test_on_random_labels_recommends_no_rate():
    """Random labels seen one at a time: the smoothed loss wanders around its start; a dip
    that noise explains is not a rate that worked."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(400, 5)), rng.integers(0, 2, 400)
    report = check(_binary_factory(), x, y, batch_size=1, max_steps=1, lr_steps=200)
    assert report.recommended_learning_rate is None
    assert report["learning_rate_range"].passed is False


def test_cli_check_on_spiral_says_no_rate_worked(tmp_path):
    result = _cli("check", "--dataset", "spiral", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[FAIL] learning_rate_range" in result.stdout
    assert "recommended learning rate: none" in result.stdout
    assert "--learning-rate" not in result.stdout  # no rate to copy
    result = _cli("check", "--dataset", "spiral", "--json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["recommended_learning_rate"] is None and report["passed"] is False
    step = report["steps"][-1]
    assert step["name"] == "learning_rate_range" and step["passed"] is False
    assert step["evidence"]["lowest_loss"] > 0.9 * step["evidence"]["start_loss"]


def test_cli_check_still_recommends_a_rate_where_one_works(tmp_path):
    result = _cli("check", "--dataset", "circle", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    rate = report["recommended_learning_rate"]
    assert report["passed"] and 1e-4 < rate < 1
    evidence = report["steps"][-1]["evidence"]
    assert evidence["recommended_learning_rate"] == rate
    assert evidence["lowest_loss"] < 0.5 * evidence["start_loss"]
    # and the longer range test finds a rate for spiral too
    result = _cli("check", "--dataset", "spiral", "--lr-steps", "2000", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "recommended learning rate: none" not in result.stdout
    assert "(--learning-rate " in result.stdout
