"""The doctor on the command line (issue 19): ``train --doctor`` names the problems of the runs
the issue lists, early, with fixes as flags and a summary of what it checked instead of an
all-clear; ``check`` runs the doctor's rules at initialization and says why a step fails."""

from __future__ import annotations

import json
import re

import pytest

from _helpers import ff_cli as _cli

# the L2 penalty pinned: its own gradient, at the default strength, would blur the vanishing one
DEEP_SIGMOID = ("--dataset", "digits", "--layers", ",".join(["32"] * 10),
                "--activation", "sigmoid", "--l2", "3e-4")
PYTHON_TERMS = ("activation='relu'", "preprocessing=", "on the optimizer", "kernel_initializer=",
                "kernel_regularizer=", "hidden layers Dense(")


def _train(tmp_path, *args):
    """``train --doctor ARGS --no-plots`` into ``tmp_path/run``: the process and monitor.json."""
    result = _cli("train", "--doctor", "--no-plots", "--out", "run", *args, cwd=tmp_path)
    path = tmp_path / "run" / "monitor.json"
    return result, json.loads(path.read_text()) if path.is_file() else None


def _summary(stdout) -> re.Match:
    match = re.search(r"^doctor: checked (.+) at initialization and over (\d+) epoch\(s\): "
                      r"(no problem found|(\d+) finding\(s\):)$", stdout, re.M)
    assert match, stdout
    return match


def _no_python_terms(text):
    found = [term for term in PYTHON_TERMS if term in text]
    assert not found, f"Python terms {found} in CLI output:\n{text}"


@pytest.fixture(scope="module")
def deep_sigmoid(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("sigmoid"), *DEEP_SIGMOID, "--epochs", "3")


@pytest.fixture(scope="module")
def deep_sigmoid_check(tmp_path_factory):
    return _cli("check", *DEEP_SIGMOID, "--max-steps", "500",
                cwd=tmp_path_factory.mktemp("check"))


# ---------------------------------------------------------------------------- train --doctor
def test_deep_sigmoid_names_vanishing_gradients_within_two_epochs(deep_sigmoid):
    """Issue 19: the run at chance got "0 finding(s), training looks healthy"."""
    result, saved = deep_sigmoid
    assert result.returncode == 0, result.stderr
    assert "looks healthy" not in result.stdout
    live = re.search(r"^doctor \(epoch (\d+)\): vanishing_gradients: ", result.stdout, re.M)
    assert live and int(live.group(1)) <= 2, result.stdout
    assert saved["first_seen"]["vanishing_gradients"] == int(live.group(1))
    assert "vanishing_gradients" in [f["name"] for f in saved["findings"]]
    summary = _summary(result.stdout)
    assert summary.group(2) == "3" and int(summary.group(4)) == len(saved["findings"]) >= 1
    assert "gradient flow" in summary.group(1)


def test_cli_fixes_are_flags_not_python(deep_sigmoid):
    result, saved = deep_sigmoid
    assert "(--activation relu)" in result.stdout
    assert re.search(r"\(--layers \d+(,\d+)*\)", result.stdout)
    _no_python_terms(result.stdout)
    vanishing = next(f for f in saved["findings"] if f["name"] == "vanishing_gradients")
    first = vanishing["fixes"][0]
    assert first["flag"] == "--activation relu" and first["setting"] == "activation"
    assert first["python"].startswith("activation='relu'")


def test_monitor_json_holds_the_record_at_initialization(deep_sigmoid):
    _, saved = deep_sigmoid
    epochs = [r["epoch"] for r in saved["records"]]
    assert epochs == [-1, 0, 1, 2]
    first = saved["records"][0]
    assert all(e["grad_norm"] > 0 for e in first["layers"] if "grad_norm" in e)
    assert first["loss"] is not None and saved["inputs"]["mean"]


def test_strong_l2_is_over_regularization_not_vanishing_gradients(tmp_path):
    """Issue 19: --l2 3 trained at chance and got "training looks healthy"; L2 at 0.3 was
    called vanishing gradients."""
    result, saved = _train(tmp_path, "--l2", "3", "--epochs", "3")
    assert result.returncode == 0, result.stderr
    names = [f["name"] for f in saved["findings"]]
    assert "over_regularization" in names and "vanishing_gradients" not in names, names
    assert "vanishing_gradients" not in result.stdout and "looks healthy" not in result.stdout
    assert saved["first_seen"]["over_regularization"] <= 2
    assert re.search(r"\(--l2 [0-9.e-]+\)", result.stdout), result.stdout
    _no_python_terms(result.stdout)


def test_a_healthy_run_prints_what_was_checked_over_how_many_epochs(tmp_path):
    result, saved = _train(tmp_path, "--epochs", "5")
    assert result.returncode == 0, result.stderr
    summary = _summary(result.stdout)
    assert summary.group(2) == "5" and summary.group(3) == "no problem found"
    assert "doctor (epoch" not in result.stdout and "looks healthy" not in result.stdout
    assert saved["findings"] == [] and saved["first_seen"] == {}
    assert [r["epoch"] for r in saved["records"]] == [-1, 0, 1, 2, 3, 4]


def test_a_diverging_run_prints_the_findings_as_flags_before_its_error(tmp_path):
    result, saved = _train(tmp_path, "--optimizer", "sgd", "--learning-rate", "10",
                           "--epochs", "3")
    assert result.returncode == 2
    assert "training diverged" in result.stderr
    assert "exploding_gradients" in [f["name"] for f in saved["findings"]]
    assert saved["first_seen"]["exploding_gradients"] >= 1
    _summary(result.stdout)
    lowered = re.search(r"\(--learning-rate ([0-9.e-]+)\)", result.stdout)
    assert lowered and float(lowered.group(1)) < 10, result.stdout
    _no_python_terms(result.stdout)


# ---------------------------------------------------------------------------- check
def _advice_of(stdout, step) -> str:
    """The indented lines under ``[FAIL] step``."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"[FAIL] {step}:"))
    below = []
    for line in lines[start + 1:]:
        if not line.startswith(" "):
            break
        below.append(line.strip())
    return "\n".join(below)


def test_check_names_vanishing_gradients_at_initialization(deep_sigmoid_check):
    """Issue 19: check failed "overfit a small subset" and "learning-rate range" on this
    network without saying why."""
    result = deep_sigmoid_check
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[FAIL] doctor_at_initialization:" in result.stdout
    found = _advice_of(result.stdout, "doctor_at_initialization")
    assert found.startswith("vanishing_gradients: ") and "(--activation relu)" in found
    for step, label in (("overfit_small_subset", "overfitting"),
                        ("learning_rate_range", "learning-rate range")):
        why = _advice_of(result.stdout, step)
        assert why.startswith(f"the {label} step failed: vanishing gradients at "
                              "initialization (first_to_last_grad_norm="), why
        assert "(--activation relu)" in why
    _no_python_terms(result.stdout)


def test_check_recommends_no_rate_its_range_test_did_not_find(deep_sigmoid_check):
    result = deep_sigmoid_check
    assert "[FAIL] learning_rate_range:" in result.stdout
    assert "recommended learning rate: none" in result.stdout
    assert "--learning-rate" not in result.stdout


def test_check_json_has_the_findings_at_initialization(tmp_path):
    result = _cli("check", *DEEP_SIGMOID, "--max-steps", "100", "--lr-steps", "50", "--json",
                  cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert [f["name"] for f in report["findings"]] == ["vanishing_gradients"]
    evidence = report["findings"][0]["evidence"]
    assert evidence["first_to_last_grad_norm"] < 1e-2
    first = report["steps"][0]
    assert first["name"] == "doctor_at_initialization" and first["passed"] is False
    overfit = next(s for s in report["steps"] if s["name"] == "overfit_small_subset")
    assert overfit["evidence"]["explained_by"] == ["vanishing_gradients"]
    assert overfit["fixes"][0]["flag"] == "--activation relu"
    assert "(--activation relu)" in overfit["advice"]  # the CLI's terms
