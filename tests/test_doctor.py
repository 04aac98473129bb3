"""The training doctor: each failure mode provoked by a small run and named with evidence and a
fix; healthy runs raise nothing; the rules on hand-made curves; ``train --doctor``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import feedforward as ff
from _helpers import ff_cli as _cli
from feedforward.data import playground
from feedforward.diagnostics import Doctor, Finding, Monitor, diagnose
from feedforward.diagnostics import doctor as doctor_mod

D = ff.Dense


@pytest.fixture(scope="module")
def digits():
    x, y = ff.data.load_dataset("digits")
    return np.asarray(x, dtype=np.float64), np.asarray(y)


def _train(layers, x, y, optimizer="adam", loss="categorical_crossentropy", epochs=10,
           batch_size=32, scale=True, **fit):
    model = ff.Sequential(layers, seed=0,
                          preprocessing=ff.data.StandardScaler() if scale else None)
    model.compile(optimizer, loss, ["accuracy"])
    with np.errstate(all="ignore"):
        history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0,
                            callbacks=[Monitor(), ff.callbacks.TerminateOnNaN()], **fit)
    return model, history


def _digits(data, layers, **kw):
    return _train(layers, *data, **kw)


def _oversized(data):
    """Two layers of 128 units on 100 noisy samples of the circle set."""
    x, y = playground.circle(100, 0.5, seed=0)
    val = playground.circle(400, 0.5, seed=1)
    return _train([D(128, "relu"), D(128, "relu"), D(1, "sigmoid")], x, y,
                  ff.optimizers.Adam(0.01), "binary_crossentropy", epochs=80, batch_size=16,
                  validation_data=val)


SCENARIOS = {
    "vanishing_gradients": lambda d: _digits(
        d, [D(32, "sigmoid") for _ in range(10)] + [D(10, "softmax")],
        optimizer=ff.optimizers.SGD(0.01), epochs=3),
    "exploding_gradients": lambda d: _digits(
        d, [D(64, "relu"), D(10, "softmax")], optimizer=ff.optimizers.SGD(10.0), epochs=3),
    "dead_relus": lambda d: _digits(
        d, [D(64, "relu", bias_initializer=ff.initializers.Constant(-10.0)),
            D(10, "softmax")], epochs=3),
    "saturation": lambda d: _train(
        [D(64, "tanh"), D(10, "softmax")], d[0] * 1000, d[1], scale=False, epochs=3),
    "learning_rate_too_high": lambda d: _digits(
        d, [D(64, "relu"), D(10, "softmax")], optimizer=ff.optimizers.Adam(1.0), epochs=10),
    "learning_rate_too_low": lambda d: _digits(
        d, [D(64, "relu"), D(10, "softmax")], optimizer=ff.optimizers.SGD(1e-6), epochs=3),
    "symmetric_initialization": lambda d: _digits(
        d, [D(32, "tanh", kernel_initializer="zeros"),
            D(10, "softmax", kernel_initializer="zeros")], epochs=3),
    "overfitting": _oversized,
    "underfitting": lambda d: _train([D(10, "softmax")], d[0][:, :2], d[1], epochs=12),
    "unscaled_inputs": lambda d: _train(
        [D(64, "relu"), D(10, "softmax")], d[0] * 1000, d[1], scale=False, epochs=3),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_is_named_with_evidence_and_fixes(name, digits):
    model, history = SCENARIOS[name](digits)
    findings = {f.name: f for f in diagnose(model, history)}
    assert name in findings, f"found {sorted(findings)}"
    finding = findings[name]
    assert finding.evidence and all(isinstance(v, (int, float)) and math.isfinite(v)
                                    for v in finding.evidence.values())
    assert finding.cause and finding.fixes
    json.dumps(finding.to_dict(), allow_nan=False)  # exportable as strict JSON


def test_overfitting_names_the_epoch_the_validation_loss_turned(digits):
    _, history = _oversized(digits)
    finding = next(f for f in diagnose(None, history) if f.name == "overfitting")
    val = history.history["val_loss"]
    assert finding.evidence["started_epoch"] == int(np.argmin(val)) + 1
    assert 1 < finding.evidence["started_epoch"] < len(val) - 3


def test_vanishing_gradient_evidence_is_the_norm_ratio(digits):
    model, history = SCENARIOS["vanishing_gradients"](digits)
    finding = next(f for f in diagnose(model, history) if f.name == "vanishing_gradients")
    layers = history.monitor.records[-1]["layers"]
    assert layers[0]["grad_norm"] < 1e-3 * layers[-1]["grad_norm"]
    assert finding.evidence["first_to_last_grad_norm"] < 1e-3


HEALTHY = {
    "digits_relu_he_adam": lambda d: _digits(
        d, [D(128, "relu", kernel_initializer="he_normal"),
            D(64, "relu", kernel_initializer="he_normal"), D(10, "softmax")],
        epochs=20, validation_split=0.2),
    "xor": lambda d: _train([D(8, "tanh"), D(1, "sigmoid")], *playground.xor(500, 0.0, 0),
                            loss="binary_crossentropy", epochs=100, validation_split=0.2),
    "spiral": lambda d: _train([D(32, "relu", kernel_initializer="he_normal"),
                                D(32, "relu", kernel_initializer="he_normal"),
                                D(1, "sigmoid")], *playground.spiral(500, 0.1, 0),
                               ff.optimizers.Adam(0.01), "binary_crossentropy", epochs=150,
                               validation_split=0.2),
}


@pytest.mark.parametrize("name", list(HEALTHY))
def test_no_false_alarm_on_healthy_runs(name, digits):
    model, history = HEALTHY[name](digits)
    assert history.history["accuracy"][-1] > 0.9  # it is indeed healthy
    assert diagnose(model, history) == []


# ---------------------------------------------------------------------------- rules on curves
def _names(curves):
    return [f.name for f in diagnose(None, curves)]


def test_overfitting_rule_on_curves():
    val = [1.0, 0.8, 0.6, 0.5, 0.55, 0.7, 0.9, 1.1]
    train = [1.0, 0.7, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
    finding = next(f for f in diagnose(None, {"loss": train, "val_loss": val})
                   if f.name == "overfitting")
    assert finding.evidence["started_epoch"] == 4
    assert "epoch 4" in finding.fixes[0]
    # the same validation curve with a training loss that rose too is not overfitting
    assert "overfitting" not in _names({"loss": [1, .7, .5, .4, .5, .6, .7, .8], "val_loss": val})
    # noise around a near-zero minimum is not overfitting
    assert "overfitting" not in _names({"loss": [.7, .3, .1, .05, .03, .02, .01, .005],
                                        "val_loss": [.7, .3, .1, .02, .01, .015, .02, .02]})


@pytest.mark.parametrize("losses, expected", [
    ([1.0, 0.5, 0.3, float("nan")], "exploding_gradients"),
    ([1.0, 2.0, 5.0, 9.0], "exploding_gradients"),
    ([1.0, 0.5, 0.3, 0.6, 0.4, 0.7, 0.5, 0.8], "learning_rate_too_high"),
    ([2.3, 2.2, 2.15, 2.14, 2.14, 2.14, 2.14, 2.14, 2.14], "underfitting"),
])
def test_loss_curve_rules(losses, expected):
    assert expected in _names({"loss": losses})


def test_a_steadily_falling_loss_raises_nothing():
    assert _names({"loss": list(np.geomspace(2.0, 0.01, 30)),
                   "val_loss": list(np.geomspace(2.0, 0.05, 30))}) == []


def test_every_rule_is_listed_once():
    assert len({r.__name__ for r in doctor_mod.RULES}) == len(doctor_mod.RULES) == 10


def test_finding_text_names_cause_evidence_and_fixes():
    text = str(Finding("x", {"a": 0.5, "b": 3}, "because", ["do this", "or that"]))
    assert text.splitlines() == ["x: because [a=0.5, b=3]", "  - do this", "  - or that"]


# ---------------------------------------------------------------------------- the callback
def test_doctor_prints_each_finding_once_while_training(digits):
    printed = []
    model = ff.Sequential([D(64, "relu", bias_initializer=ff.initializers.Constant(-10.0)),
                           D(10, "softmax")], seed=0, preprocessing=ff.data.StandardScaler())
    model.compile("adam", "categorical_crossentropy")
    doctor = Doctor(print_fn=printed.append)
    model.fit(*digits, epochs=4, verbose=0, callbacks=[doctor])
    dead = [p for p in printed if "dead_relus" in p]
    assert len(dead) == 1 and dead[0].startswith("doctor (epoch 1): dead_relus")
    assert [f.name for f in doctor.findings] == ["dead_relus"]
    assert len(doctor.monitor.records) == 4


def test_doctor_counts_a_divergence_error(digits):
    model = ff.Sequential([D(64, "relu"), D(10, "softmax")], seed=0,
                          preprocessing=ff.data.StandardScaler())
    model.compile(ff.optimizers.SGD(10.0), "categorical_crossentropy")
    doctor = Doctor(print_fn=lambda _: None)
    with np.errstate(all="ignore"), pytest.raises(ff.FeedforwardError, match="diverged") as e:
        model.fit(*digits, epochs=2, verbose=0, callbacks=[doctor])
    assert "exploding_gradients" in [f.name for f in doctor.diagnose(error=e.value)]


def test_diagnose_measures_x_when_no_monitor_ran(digits):
    x, y = digits
    model = ff.Sequential([D(16, "relu"), D(10, "softmax")], seed=0)
    model.compile("adam", "categorical_crossentropy")
    history = model.fit(x * 1000, y, epochs=1, verbose=0)
    assert "unscaled_inputs" not in [f.name for f in diagnose(model, history)]
    assert "unscaled_inputs" in [f.name for f in diagnose(model, history, x=x * 1000)]


# ---------------------------------------------------------------------------- the CLI
def test_train_doctor_healthy_run_writes_monitor_json(tmp_path):
    result = _cli("train", "--doctor", "--epochs", "5", "--no-plots", "--out", "run",
                  cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "doctor: 0 finding(s), training looks healthy" in result.stdout
    saved = json.loads((tmp_path / "run" / "monitor.json").read_text())
    assert saved["findings"] == [] and len(saved["records"]) == 5
    assert {"grad_norm", "update_ratio", "dead_fraction"} <= set(saved["records"][0]["layers"][0])


def test_train_doctor_names_a_divergence_before_the_error(tmp_path):
    result = _cli("train", "--doctor", "--optimizer", "sgd", "--learning-rate", "10",
                  "--epochs", "3", "--no-plots", "--out", "run", cwd=tmp_path)
    assert result.returncode == 2
    assert "exploding_gradients" in result.stdout and "lower learning_rate" in result.stdout
    assert "training diverged" in result.stderr
    saved = json.loads((tmp_path / "run" / "monitor.json").read_text())
    assert [f["name"] for f in saved["findings"]] == ["exploding_gradients"]


def test_doctor_with_a_shared_monitor(digits):
    monitor, printed = Monitor(every=2), []
    model = ff.Sequential([D(32, "relu"), D(10, "softmax")], seed=0,
                          preprocessing=ff.data.StandardScaler())
    model.compile("adam", "categorical_crossentropy")
    doctor = Doctor(monitor=monitor, print_fn=printed.append)
    model.fit(*digits, epochs=4, verbose=0, callbacks=[monitor, doctor])
    assert doctor.monitor is monitor and len(monitor.records) == 2
    assert doctor.findings == [] and printed == []
