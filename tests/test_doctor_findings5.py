"""The doctor on a target of a huge scale, a majority-class model, a deep narrow ReLU stack, a
default L2 on imbalanced classes, and overfitting under early stopping."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import feedforward as ff
from feedforward.diagnostics import Doctor

D = ff.Dense
steps = importlib.import_module("feedforward.diagnostics.check")


def _regression(scale, n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    y = (x @ rng.normal(size=5) + 0.1 * rng.normal(size=n) + 3.0) * scale
    return x, y


def _regressor():
    model = ff.Sequential([D(16, "relu"), D(8, "relu"), D(1)], seed=0,
                          preprocessing=ff.data.StandardScaler())
    model.compile(ff.optimizers.Adam(0.01), "mse", ["r2"])
    return model


def _doctor_fit(model, x, y, epochs=3, **kw):
    doctor = Doctor(print_fn=lambda _: None)
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, callbacks=[doctor], **kw)
    return doctor


# ---------------------------------------------------------------------------- target scale
def test_targets_of_a_huge_scale_are_named_with_advice_to_scale_them():
    x, y = _regression(1e6)
    doctor = _doctor_fit(_regressor(), x, y)
    names = [f.name for f in doctor.findings]
    assert names and names[0] == "unscaled_targets", names
    assert doctor.first_seen["unscaled_targets"] == 0  # named at initialization
    finding = doctor.findings[0]
    assert finding.evidence["max_abs_target_mean"] > 1e6
    text = finding.render("cli").lower()
    assert "scale the targets" in text and "divide them by 1e+06" in text
    # no fix of the report lowers the rate or changes the network: neither helps
    settings = {fix.setting for f in doctor.findings for fix in f.fixes}
    assert not settings & {"learning_rate", "layers", "l2"}, settings


def test_targets_of_an_ordinary_scale_raise_nothing_about_them():
    x, y = _regression(1e3)  # a mean of 3e3
    doctor = _doctor_fit(_regressor(), x, y)
    assert "unscaled_targets" not in [f.name for f in doctor.findings]


def test_check_names_the_target_scale_before_training():
    x, y = _regression(1e6)
    model = _regressor()
    model.raw_inputs(x[:1])
    xp, _ = steps._prepared(model, x, y)
    step = steps.doctor_step(model, x, y)
    assert step.passed is False and "unscaled_targets" in step.evidence["findings"]


def test_gradient_check_does_not_blame_a_derivative_for_round_off():
    """At targets of 1e8 the loss is ~1e16: float64 round-off alone gives central differences
    a large relative error. The check says so instead of blaming a layer."""
    x, y = _regression(1e8)
    model = _regressor()
    model.raw_inputs(x[:1])
    xp, yp = steps._prepared(model, x, y)
    step = steps.gradient_step(model, xp, yp)
    assert step.passed is not False, str(step)
    if step.passed is None:
        assert "round-off" in step.summary and "scale" in step.reason
        assert "custom" not in step.reason


def test_a_wrong_derivative_is_still_caught_and_named_truthfully():
    x, y = _regression(1.0)
    model = _regressor()
    model.raw_inputs(x[:1])
    xp, yp = steps._prepared(model, x, y)
    original = ff.activations.ReLU.backward

    def wrong(self, x, y, grad_y):
        return 2.0 * original(self, x, y, grad_y)

    ff.activations.ReLU.backward = wrong
    try:
        step = steps.gradient_step(model, xp, yp)
    finally:
        ff.activations.ReLU.backward = original
    assert step.passed is False
    assert "custom" not in step.reason and "library's own" in step.reason


def test_a_custom_layers_wrong_derivative_names_it():
    class Doubled(ff.layers.Dense):
        def backward(self, grad):
            return super().backward(2.0 * grad)

    x, y = _regression(1.0)
    model = ff.Sequential([Doubled(8, "tanh"), D(1)], seed=0)
    model.compile("adam", "mse")
    model.raw_inputs(x[:1])
    xp, yp = steps._prepared(model, x, y)
    step = steps.gradient_step(model, xp, yp)
    assert step.passed is False and "Doubled" in step.reason, str(step)


def test_not_learning_does_not_call_a_loss_far_above_chance_that_of_a_constant_guess():
    from feedforward.diagnostics import Evidence, RunInfo
    from feedforward.diagnostics.progress import not_learning

    run = RunInfo(hidden=["relu"], units=[8], chance_loss=1.0, samples=10_000, batch_size=32,
                  task="regression")
    ev = Evidence([], {"loss": [5.0, 4.9, 4.8, 4.8], "r2": [-4.0] * 4}, {}, run)
    finding = not_learning(ev)
    assert finding is not None and "4.8 times that of a constant guess" in finding.cause


# ---------------------------------------------------------------------------- class imbalance
def _imbalanced(separable, n=1200):
    from sklearn.datasets import make_classification

    return make_classification(n_samples=n, n_features=10, n_informative=3, weights=[0.97, 0.03],
                               class_sep=3.0 if separable else 0.5, flip_y=0, random_state=0)


def _classifier():
    model = ff.Sequential([D(8, "relu"), D(1, "sigmoid")], seed=0,
                          preprocessing=ff.data.StandardScaler())
    model.compile(ff.optimizers.Adam(0.01), "binary_crossentropy", ["accuracy"])
    return model


def test_a_model_that_predicts_the_majority_class_is_named():
    x, y = _imbalanced(separable=False)
    doctor = _doctor_fit(_classifier(), x, y, epochs=12)
    found = {f.name: f for f in doctor.findings}
    assert "class_imbalance" in found, [f.name for f in doctor.findings]
    finding = found["class_imbalance"]
    assert finding.evidence["class"] == 1 and finding.evidence["recall"] < 0.2
    text = finding.render("cli")
    assert "class_weight={1: 3" in text and "balanced" in text


def test_a_rare_class_the_model_finds_raises_nothing():
    x, y = _imbalanced(separable=True)
    doctor = _doctor_fit(_classifier(), x, y, epochs=12)
    assert "class_imbalance" not in [f.name for f in doctor.findings]
    assert doctor.monitor.records[-1]["class_recall"][1] >= 0.2


# ---------------------------------------------------------------------------- deep, narrow
@pytest.fixture(scope="module")
def digits():
    x, y = ff.data.load_dataset("digits")
    return np.asarray(x, dtype=np.float64), np.asarray(y)


def _narrow(depth, activation="relu", seed=0):
    model = ff.Sequential([D(8, activation) for _ in range(depth)] + [D(10, "softmax")],
                          seed=seed, preprocessing=ff.data.StandardScaler())
    model.compile(ff.optimizers.Adam(0.01), "categorical_crossentropy", ["accuracy"])
    return model


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_a_deep_narrow_stack_that_fits_poorly_is_named_with_wider_layers(digits, activation):
    doctor = _doctor_fit(_narrow(20, activation), *digits, epochs=8)
    assert doctor.model.history.history["accuracy"][-1] < 0.8  # the setup fits poorly
    names = [f.name for f in doctor.findings]
    assert "deep_narrow_network" in names, names
    fixes = [fix for f in doctor.findings for fix in f.fixes]
    wider = [fix for fix in fixes if fix.setting == "layers"]
    assert wider and len(wider[0].value) <= 3 and min(wider[0].value) >= 64
    causes = " ".join(f.cause for f in doctor.findings)
    assert "negative bias" not in causes and "too small for the depth" not in causes


def test_dead_relus_in_a_narrow_stack_blame_the_narrow_layers_not_a_bias():
    from feedforward.diagnostics import Evidence, RunInfo
    from feedforward.diagnostics.rules import dead_relus

    layers = [{"index": i, "units": 8, "dead_fraction": 0.6} for i in range(20)]
    records = [{"epoch": -1, "step": 0, "layers": layers, "loss": 2.3}]
    run = RunInfo(hidden=["relu"] * 20, units=[8] * 20, chance_loss=2.3,
                  task="classification")
    finding = dead_relus(Evidence(records, {}, {}, run))
    assert finding is not None and "negative bias" not in finding.cause
    assert "20 layers of as few as 8 units" in finding.cause
    assert finding.fixes[0].setting == "layers"


def test_a_deep_narrow_network_that_fits_well_raises_no_depth_finding():
    x, y = ff.data.load_dataset("breast_cancer")
    model = ff.Sequential([D(8, "relu") for _ in range(8)] + [D(2, "softmax")], seed=0,
                          preprocessing=ff.data.StandardScaler())
    model.compile(ff.optimizers.Adam(0.01), "categorical_crossentropy", ["accuracy"])
    doctor = _doctor_fit(model, np.asarray(x, dtype=np.float64), np.asarray(y), epochs=30)
    assert doctor.model.history.history["accuracy"][-1] > 0.95
    assert "deep_narrow_network" not in [f.name for f in doctor.findings]


# ---------------------------------------------------------------------------- over-regularization
def _recipe(**options):
    """A run of ``feedforward train --doctor`` (the benchmark's runner): the doctor."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import doctor_bench as bench
    import doctor_scenarios as sc

    doctor, _, _ = bench.train(sc.healthy("run", 0.0, "", **options))
    return doctor


def _imbalanced_digits(path):
    x, y = ff.data.load_dataset("digits")
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y)
    rows = np.r_[np.flatnonzero(y == 0)[:20], np.flatnonzero(y != 0)]  # 1.2 % positives
    header = ",".join([f"f{i}" for i in range(x.shape[1])] + ["label"])
    np.savetxt(path, np.column_stack([x[rows], y[rows] == 0]), delimiter=",", header=header,
               comments="", fmt="%.6g")
    return str(path)


def test_the_default_l2_on_imbalanced_classes_raises_no_alarm_live_or_final(tmp_path):
    """The entropy of 1.2 % positives is tiny beside the default L2's penalty, but the loss
    falls fast and the run fits its data: no over-regularization, at no epoch."""
    doctor = _recipe(dataset=_imbalanced_digits(tmp_path / "imb.csv"), epochs=6)
    assert "over_regularization" not in doctor.first_seen
    assert "over_regularization" not in [f.name for f in doctor.findings]


@pytest.mark.parametrize("seed", [0, 1])
def test_the_default_l2_on_a_noisy_regression_raises_no_alarm(seed):
    doctor = _recipe(dataset="multi_gaussian", epochs=30, seed=seed)
    assert "over_regularization" not in doctor.first_seen


def test_a_strong_l2_on_a_regression_is_still_named():
    doctor = _recipe(dataset="multi_gaussian", epochs=8, l2=0.3)
    assert "over_regularization" in [f.name for f in doctor.findings]


# ---------------------------------------------------------------------------- overfitting
def _overfit(stopper):
    from feedforward.data import playground

    x, y = playground.circle(100, 0.5, seed=0)
    model = ff.Sequential([D(128, "relu"), D(128, "relu"), D(1, "sigmoid")], seed=0)
    model.compile(ff.optimizers.Adam(0.01), "binary_crossentropy")
    callbacks = [] if stopper is None else [stopper]
    doctor = Doctor(print_fn=lambda _: None)
    model.fit(x, y, epochs=80, batch_size=16, verbose=0, callbacks=[*callbacks, doctor],
              validation_data=playground.circle(400, 0.5, seed=1))
    return {f.name: f for f in doctor.findings}["overfitting"]


def test_overfitting_under_early_stopping_does_not_advise_turning_it_on():
    stopper = ff.callbacks.EarlyStopping(patience=50, restore_best_weights=True)
    finding = _overfit(stopper)
    settings = [fix.setting for fix in finding.fixes]
    assert "early_stopping" not in settings, settings
    assert settings[0] == "patience" and finding.fixes[0].value < 50
    assert "keeps the best epoch" in finding.cause


def test_overfitting_without_restoring_advises_restoring_the_best_weights():
    stopper = ff.callbacks.EarlyStopping(patience=50, restore_best_weights=False)
    finding = _overfit(stopper)
    assert finding.fixes[0].setting == "restore_best_weights"
    assert "--restore-best-weights" in finding.render("cli")


def test_overfitting_without_early_stopping_still_advises_it():
    finding = _overfit(None)
    assert finding.fixes[0].setting == "early_stopping" and finding.fixes[0].value is True


# ---------------------------------------------------------------------------- underfitting
def test_a_poor_fit_still_falling_slowly_at_the_end_is_named_once_training_ends():
    doctor = _recipe(dataset="spiral", layers=[64], epochs=30)
    found = {f.name: f for f in doctor.findings}
    assert "underfitting" in found, list(found)
    assert doctor.first_seen["underfitting"] == 30  # not a live alarm that may vanish
    fixes = {fix.setting: fix.value for fix in found["underfitting"].fixes}
    assert fixes["layers"] == [64, 64] and fixes["epochs"] == 90


def test_a_linear_models_underfitting_does_not_blame_its_penalty():
    doctor = _recipe(dataset="spiral", layers=[], epochs=30, l2=1e-3)
    found = {f.name: f for f in doctor.findings}
    assert "underfitting" in found
    assert [fix.setting for fix in found["underfitting"].fixes] == ["layers"]


def test_a_noisy_regression_at_its_floor_raises_no_underfitting_alarm():
    """multi_gaussian's noise leaves about half the targets' variance: a network of 128+64
    stalls there, and more capacity does not help."""
    doctor = _recipe(dataset="multi_gaussian", epochs=50, seed=1, l2=1e-5)
    assert "underfitting" not in doctor.first_seen


def test_a_short_run_that_ends_worse_than_a_constant_guess_is_named_at_its_end():
    from feedforward.diagnostics import Evidence, RunInfo
    from feedforward.diagnostics.progress import not_learning

    run = RunInfo(hidden=["relu"], units=[8], chance_loss=1.0, samples=256, batch_size=32,
                  task="regression")  # 8 steps an epoch: 30 epochs are under 300 steps
    curves = {"loss": [4.0] * 30, "r2": [-3.0] * 30}
    assert not_learning(Evidence([], curves, {}, run)) is None  # live: a slow start, maybe
    finding = not_learning(Evidence([], curves, {}, run, final=True))
    assert finding is not None and finding.fixes[0].setting == "check"


def test_balanced_classes_pay_for_no_extra_pass_of_the_monitor(digits):
    doctor = _doctor_fit(_narrow(2), *digits, epochs=1)
    assert doctor.monitor._class_probe is None  # the probe's own rows give the recalls
    assert sum(doctor.monitor.records[-1]["class_count"]) == 256
    x, y = _imbalanced(separable=False)
    doctor = _doctor_fit(_classifier(), x, y, epochs=1)
    assert sum(doctor.monitor.records[-1]["class_count"]) == 1024


def test_the_chance_loss_of_a_weighted_run_is_that_of_the_weighted_loss():
    # --class-weight balanced logs a weighted loss: against the unweighted chance (0.325
    # here) the doctor called a learning run "not_learning, 2.2 times a constant guess"
    from feedforward.diagnostics import RunInfo

    model = ff.Sequential([ff.Input((2,)), ff.Dense(4, activation="relu"),
                           ff.Dense(1, activation="sigmoid")], seed=0)
    model.compile("adam", "binary_crossentropy")
    y = np.r_[np.ones(10), np.zeros(90)][:, None]
    plain = RunInfo.of(model, y)
    balanced = RunInfo.of(model, y, weights=np.where(y[:, 0] == 1, 100 / 20, 100 / 180))
    assert abs(plain.chance_loss - 0.325) < 1e-3
    assert abs(balanced.chance_loss - np.log(2)) < 1e-12
    assert balanced.chance_accuracy == plain.chance_accuracy == 0.9


def test_no_overfitting_is_named_while_the_training_loss_is_above_chance():
    # a network at chance on its own rows memorises nothing, however its val_loss wanders
    from feedforward.diagnostics import diagnose

    model = ff.Sequential([ff.Input((2,)), ff.Dense(4, activation="relu"),
                           ff.Dense(1, activation="sigmoid")], seed=0)
    model.compile("adam", "binary_crossentropy")
    y = np.r_[np.ones(50), np.zeros(50)]  # chance loss log 2 = 0.69
    val = [6.0, 5.3, 5.5, 6.5, 7.5, 8.2, 8.6, 8.7]
    high = {"loss": [9.0, 8.5, 8.0, 7.8, 7.6, 7.4, 7.3, 7.2], "val_loss": val}
    low = {"loss": [0.6, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1], "val_loss": val}
    assert "overfitting" not in [f.name for f in diagnose(model, high, y=y)]
    assert "overfitting" in [f.name for f in diagnose(model, low, y=y)]


def test_a_penalty_that_shrank_the_weights_at_chance_is_named_not_its_symptoms(l2=0.1):
    # below the penalty-at-Glorot-scale bar, it was vanishing_gradients, then dead_relus,
    # then not_learning: each fix led to another wrong cause, all at 50 %
    x, y = ff.data.circle(300, seed=0)
    model = ff.Sequential([ff.Input((2,)), ff.Dense(4, activation="tanh",
                                                    kernel_regularizer=ff.regularizers.L2(l2)),
                           ff.Dense(2, activation="tanh",
                                    kernel_regularizer=ff.regularizers.L2(l2)),
                           ff.Dense(1, activation="sigmoid",
                                    kernel_regularizer=ff.regularizers.L2(l2))],
                          seed=0, preprocessing=ff.data.StandardScaler())
    model.compile(ff.optimizers.SGD(0.03), "binary_crossentropy", ["accuracy"])
    doctor = Doctor(print_fn=lambda _: None)
    model.fit(x, y, epochs=60, batch_size=10, verbose=0, callbacks=[doctor])
    names = [f.name for f in doctor.findings]
    assert names[:1] == ["over_regularization"], names
    assert doctor.findings[0].evidence["weight_shrink"] < 1 / 3
    assert doctor.findings[0].fixes[0].value == pytest.approx(l2 / 10)
