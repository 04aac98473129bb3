"""The training doctor: each failure mode provoked by a small run and named with evidence and a
fix; healthy runs raise nothing; the rules on hand-made curves; the resolved report (root
causes first, no contradictory fixes); fixes in each surface's terms. The command line's
wording is in ``test_doctor_cli.py``; the labelled benchmark's fast subset in
``test_doctor_benchmark.py``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import feedforward as ff
from feedforward.data import playground
from feedforward.diagnostics import Doctor, Evidence, Finding, Fix, Monitor, RunInfo, diagnose
from feedforward.diagnostics import doctor as doctor_mod

D = ff.Dense


@pytest.fixture(scope="module")
def digits():
    x, y = ff.data.load_dataset("digits")
    return np.asarray(x, dtype=np.float64), np.asarray(y)


def _train(layers, x, y, optimizer="adam", loss="categorical_crossentropy", epochs=10,
           batch_size=32, scale=True, **fit):
    """A run watched by a Doctor; the History carries its findings as ``history.doctor``."""
    model = ff.Sequential(layers, seed=0,
                          preprocessing=ff.data.StandardScaler() if scale else None)
    model.compile(optimizer, loss, ["accuracy"] if "crossentropy" in str(loss) else [])
    doctor = Doctor(print_fn=lambda _: None)
    with np.errstate(all="ignore"):
        history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0,
                            callbacks=[doctor, ff.callbacks.TerminateOnNaN()], **fit)
    history.doctor = doctor
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
    "saturation": lambda d: _digits(
        d, [D(64, "tanh", kernel_initializer=ff.initializers.RandomNormal(stddev=3.0)),
            D(10, "softmax")], optimizer=ff.optimizers.SGD(0.01), epochs=3),
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
    "over_regularization": lambda d: _digits(
        d, [D(64, "relu", kernel_regularizer=ff.regularizers.L2(3.0)), D(10, "softmax")],
        epochs=5),
    "output_mismatch": lambda d: _train(
        [D(32, "tanh"), D(1, "relu")], d[0][:, :2], -d[1].astype(float), loss="mse",
        epochs=3),
    "not_learning": lambda d: _digits(  # labels shuffled: nothing to learn, no rule's cause
        d[:1] + (np.random.default_rng(0).permutation(d[1]),),
        [D(64, "relu"), D(10, "softmax")], optimizer=ff.optimizers.SGD(0.01), epochs=6),
}
# the problems whose evidence exists before the first step: named at epoch 0
AT_INITIALIZATION = ("vanishing_gradients", "dead_relus", "saturation",
                     "symmetric_initialization", "unscaled_inputs", "over_regularization",
                     "output_mismatch")


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_is_named_with_evidence_and_fixes(name, digits):
    model, history = SCENARIOS[name](digits)
    findings = {f.name: f for f in history.doctor.findings}
    assert name in findings, f"found {sorted(findings)}"
    finding = findings[name]
    assert finding.evidence and all(isinstance(v, (int, float, str)) and
                                    (isinstance(v, str) or math.isfinite(v))
                                    for v in finding.evidence.values())
    assert finding.cause and finding.fixes
    json.dumps(finding.to_dict(), allow_nan=False)  # exportable as strict JSON
    if name in AT_INITIALIZATION:
        assert history.doctor.first_seen[name] == 0


def test_overfitting_names_the_epoch_the_validation_loss_turned(digits):
    _, history = _oversized(digits)
    finding = next(f for f in diagnose(None, history) if f.name == "overfitting")
    val = history.history["val_loss"]
    assert finding.evidence["started_epoch"] == int(np.argmin(val)) + 1
    assert 1 < finding.evidence["started_epoch"] < len(val) - 3


def test_vanishing_gradient_evidence_is_the_norm_ratio(digits):
    model, history = SCENARIOS["vanishing_gradients"](digits)
    finding = next(f for f in diagnose(model, history) if f.name == "vanishing_gradients")
    first = history.monitor.records[0]
    assert first["epoch"] == -1  # measured before the first step, with a probe's gradients
    norms = [e["grad_norm"] for e in first["layers"]]
    assert 0 < norms[0] < 1e-2 * norms[-1]
    assert finding.evidence["first_to_last_grad_norm"] < 1e-2
    assert "sigmoid" in finding.cause and finding.fixes[0] == Fix(
        "activation", "relu", finding.fixes[0].text)


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
    assert diagnose(model, history) == [] and history.doctor.first_seen == {}


# ---------------------------------------------------------------------------- rules on curves
def _names(curves):
    return [f.name for f in diagnose(None, curves)]


def test_overfitting_rule_on_curves():
    val = [1.0, 0.8, 0.6, 0.5, 0.55, 0.7, 0.9, 1.1]
    train = [1.0, 0.7, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
    finding = next(f for f in diagnose(None, {"loss": train, "val_loss": val})
                   if f.name == "overfitting")
    assert finding.evidence["started_epoch"] == 4
    assert "epoch 4" in finding.fixes[0].text
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
    assert len({r.__name__ for r in doctor_mod.RULES}) == len(doctor_mod.RULES) == 16


def test_finding_text_names_cause_evidence_and_fixes():
    text = str(Finding("x", {"a": 0.5, "b": 3}, "because", ["do this", "or that"]))
    assert text.splitlines() == ["x: because [a=0.5, b=3]", "  - do this", "  - or that"]


# ---------------------------------------------------------------------------- the report
def _finding(name, *fixes):
    return Finding(name, {}, name, list(fixes))


def test_a_root_cause_folds_the_symptoms_it_explains():
    run = RunInfo(learning_rate=10.0, chance_loss=2.3, hidden=["relu", "relu"], units=[8, 8])
    losses = [2.0, 1.5, 3.0, 1.8, 3.5, 2.2, 3.9, 2.4, 4.0, 4.1, 4.2]  # swinging, then flat
    found = doctor_mod.examine(Evidence([], {"loss": losses}, {}, run))
    names = [f.name for f in found]
    assert names == ["learning_rate_too_high"]
    assert found[0].explains == ["not_learning"] or "underfitting" in found[0].explains


def test_no_report_holds_contradictory_fixes(monkeypatch):
    high = _finding("learning_rate_too_high", Fix("learning_rate", 0.1, "lower"))
    low = _finding("symmetric_initialization", Fix("learning_rate", 10.0, "raise"),
                   Fix("l2", 1e-3, "l2"))
    monkeypatch.setattr(doctor_mod, "RULES", [lambda ev: high, lambda ev: low])
    found = doctor_mod.examine(Evidence())
    assert [f.fixes for f in found] == [[Fix("learning_rate", 0.1, "lower")],
                                        [Fix("l2", 1e-3, "l2")]]


def test_a_relu_network_never_gets_sigmoid_advice(digits):
    model, history = _digits(digits, [D(8, "relu") for _ in range(8)] + [D(10, "softmax")],
                             optimizer=ff.optimizers.SGD(10.0), epochs=3)
    found = history.doctor.findings
    assert found and found[0].name in ("exploding_gradients", "learning_rate_too_high",
                                       "dead_relus")
    assert found[0].fixes[0].setting == "learning_rate"  # the rate is the root cause
    text = "\n".join(f.render("python") + f.render("cli") for f in found)
    assert "sigmoid" not in text and "learning rate from 10" in text


def test_fixes_in_each_surfaces_terms():
    fix = Fix("learning_rate", 0.003, "lower the learning rate")
    assert fix.flag() == "--learning-rate 0.003"
    assert fix.python() == "learning_rate=0.003 on the optimizer"
    assert fix.render("cli") == "lower the learning rate (--learning-rate 0.003)"
    assert Fix("layers", [64, 32]).flag() == "--layers 64,32"
    assert Fix("early_stopping", False).flag() == "--no-early-stopping"
    assert Fix("scaling", "standard").python() == "preprocessing=ff.data.StandardScaler()"
    assert Fix(None, None, "collect more data").flag() is None
    with pytest.raises(ValueError, match="surface"):
        fix.render("html")


def test_not_learning_is_the_fallback_with_what_to_try_first(digits):
    model, history = SCENARIOS["not_learning"](digits)
    found = history.doctor.findings
    assert [f.name for f in found] == ["not_learning"]
    assert found[0].fixes[0].setting == "check"
    assert found[0].fixes[0].flag().startswith("feedforward check")
    assert found[0].fixes[0].python().startswith("ff.diagnostics.check(")
    assert found[0].evidence["epochs"] == 6


def test_chance_level_of_the_run():
    info = RunInfo.of(_compiled([D(3, "softmax")], "categorical_crossentropy"),
                      np.array([0, 0, 1, 2]))
    assert info.chance_loss == pytest.approx(-(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25)))
    assert info.chance_accuracy == 0.5 and info.task == "classification"
    info = RunInfo.of(_compiled([D(1, "sigmoid")], "mse"), np.array([[-1.0], [0.5], [3.0]]))
    assert info.outside_output == pytest.approx(2 / 3) and info.task == "regression"


def _compiled(layers, loss):
    model = ff.Sequential(layers, input_dim=2, seed=0)
    model.compile("sgd", loss)
    return model


# ---------------------------------------------------------------------------- the callback
def test_doctor_prints_each_finding_once_while_training(digits):
    printed = []
    model = ff.Sequential([D(64, "relu", bias_initializer=ff.initializers.Constant(-10.0)),
                           D(10, "softmax")], seed=0, preprocessing=ff.data.StandardScaler())
    model.compile("adam", "categorical_crossentropy")
    doctor = Doctor(print_fn=printed.append)
    model.fit(*digits, epochs=4, verbose=0, callbacks=[doctor])
    dead = [p for p in printed if "dead_relus" in p]
    assert len(dead) == 1 and dead[0].startswith("doctor (epoch 0): dead_relus")
    assert "activation='leaky_relu' in the hidden layers" in dead[0]  # the API's terms
    assert [f.name for f in doctor.findings] == ["dead_relus"]
    assert doctor.first_seen == {"dead_relus": 0}
    assert len(doctor.monitor.records) == 5  # one at initialization, one per epoch
    assert "over 4 epoch(s): 1 finding(s)" in doctor.summary()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_record_at_initialization_leaves_training_unchanged(digits, dtype):
    """Dropout first (its random masks), Maxout, L2, SGD with momentum and clipnorm, and a
    validation split: the doctor's record before the first step changes nothing."""
    def weights(callbacks):
        model = ff.Sequential([ff.layers.Dropout(0.1), ff.layers.Maxout(16, 2),
                               D(32, "relu", kernel_regularizer=ff.regularizers.L2(1e-3)),
                               D(10, "softmax")], seed=3, dtype=dtype,
                              preprocessing=ff.data.StandardScaler())
        model.compile(ff.optimizers.SGD(0.05, momentum=0.9, clipnorm=1.0),
                      "categorical_crossentropy")
        model.fit(*digits, epochs=2, verbose=0, validation_split=0.2, callbacks=callbacks)
        return model.params.copy()

    assert np.array_equal(weights([]), weights([Doctor(print_fn=lambda _: None)]))
    assert np.array_equal(weights([]), weights([Monitor(every_steps=3, initial=True)]))


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


def test_doctor_with_a_shared_monitor(digits):
    monitor, printed = Monitor(every=2), []
    model = ff.Sequential([D(32, "relu"), D(10, "softmax")], seed=0,
                          preprocessing=ff.data.StandardScaler())
    model.compile("adam", "categorical_crossentropy")
    doctor = Doctor(monitor=monitor, print_fn=printed.append)
    model.fit(*digits, epochs=4, verbose=0, callbacks=[monitor, doctor])
    assert doctor.monitor is monitor and len(monitor.records) == 2
    assert doctor.findings == [] and printed == []


@pytest.mark.parametrize("l2", [0.3, 3.0])
def test_strong_l2_is_over_regularization_not_vanishing_gradients(l2, digits):
    """The issue's cases: L2 of 0.3 collapsing a network was called vanishing gradients, and
    L2 of 3 (training at chance) got an all-clear."""
    model, history = _digits(
        digits, [D(128, "relu", kernel_regularizer=ff.regularizers.L2(l2)),
                 D(64, "relu", kernel_regularizer=ff.regularizers.L2(l2)), D(10, "softmax")],
        epochs=15)
    doctor = history.doctor
    assert [f.name for f in doctor.findings][:1] == ["over_regularization"]
    assert doctor.first_seen["over_regularization"] == 0
    assert "vanishing_gradients" not in doctor.first_seen
    fix = doctor.findings[0].fixes[0]
    assert fix.setting == "l2" and fix.value < l2


def test_a_large_step_beside_tiny_weights_is_not_a_large_rate():
    """The update ratio ||dw|| / ||w|| is large when the weights are near zero (a zero
    initialization, a max-norm cap), whatever the rate: those layers are left out."""
    from feedforward.diagnostics import signals

    def record(epoch, norms, ratios):
        return {"epoch": epoch, "layers": [
            {"index": i, "weight_norm": n, "update_ratio": r}
            for i, (n, r) in enumerate(zip(norms, ratios, strict=True))]}

    start = record(-1, [0.0, 2.0, 2.0], [None] * 3)
    now = record(0, [0.004, 0.5, 1.9], [0.3, 0.4, 0.01])
    assert signals.step_ratios(now, start) == [0.01]  # zero at the start; shrunk to a quarter
    assert not signals.steps_large(now, start) and signals.steps_large(now)


def test_conclude_names_a_divergence_in_the_epoch_it_happened(digits):
    model = ff.Sequential([D(64, "relu"), D(10, "softmax")], seed=0,
                          preprocessing=ff.data.StandardScaler())
    model.compile(ff.optimizers.SGD(10.0), "categorical_crossentropy")
    doctor = Doctor(print_fn=lambda _: None)
    with np.errstate(all="ignore"), pytest.raises(ff.FeedforwardError, match="diverged") as e:
        model.fit(*digits, epochs=3, verbose=0, callbacks=[doctor])
    found = doctor.conclude(e.value)
    assert found is doctor.findings and found[0].name == "exploding_gradients"
    epochs = len(model.history.history.get("loss", []))
    assert 0 <= doctor.first_seen["exploding_gradients"] <= epochs + 1


def test_weights_too_large_for_the_depth_are_named_before_the_first_step(digits):
    layers = [D(32, "relu", kernel_initializer=ff.initializers.RandomNormal(stddev=1.0))
              for _ in range(6)]
    _, history = _digits(digits, layers + [D(10, "softmax")], epochs=1)
    first = history.doctor.monitor.records[0]
    spread = [e["act_std"] for e in first["layers"][:-1]]
    assert spread[-1] > 10 * spread[0]  # the outputs widen layer after layer
    assert history.doctor.first_seen["exploding_gradients"] == 0


def _step_record(epoch, loss, ratio):
    return {"epoch": epoch, "step": epoch + 1, "loss": loss, "penalty": 0.0, "layers": [
        {"index": 0, "weight_norm": 1.0, "update_ratio": ratio},
        {"index": 1, "weight_norm": 1.0, "update_ratio": ratio}]}


@pytest.mark.parametrize("loss_after, named", [(0.8, False), (0.95, True)])
def test_large_steps_that_keep_lowering_the_loss_are_no_rate_problem(loss_after, named):
    from feedforward.diagnostics import rules

    records = [_step_record(-1, 0.9, None), _step_record(0, 0.9, 0.3),
               _step_record(1, loss_after, 0.3)]
    evidence = Evidence(records, {"loss": [0.9, 0.9]}, {}, RunInfo(chance_loss=1.0))
    assert (rules.learning_rate_too_high(evidence) is not None) is named


def test_a_max_norm_that_held_every_unit_stays_the_named_cause():
    from feedforward.diagnostics import rules

    def record(epoch, capped):
        return {"epoch": epoch, "step": epoch + 1, "loss": 1.0, "penalty": 0.0,
                "layers": [{"index": 0, "weight_norm": 0.1, "capped_fraction": capped}]}

    run = RunInfo(max_norm=0.02, chance_loss=1.0)
    records = [record(-1, 0.0), record(0, 1.0), record(1, 0.4)]  # units left the cap later
    found = rules.over_regularization(Evidence(records, {"loss": [1.0, 1.0]}, {}, run))
    assert found is not None and found.evidence["capped_fraction"] == 1.0


def test_a_resumed_run_takes_no_record_at_initialization(digits, tmp_path):
    """The checkpoint restores its weights in on_train_begin; a record 'at initialization'
    of the fresh weights the resume throws away would mislead every rule that compares."""
    def fit(epochs):
        model = ff.Sequential([D(32, "relu"), D(10, "softmax")], seed=0,
                              preprocessing=ff.data.StandardScaler())
        model.compile("adam", "categorical_crossentropy")
        doctor = Doctor(print_fn=lambda _: None)
        backup = ff.BackupAndRestore(tmp_path / "backup", delete_checkpoint=False)
        model.fit(*digits, epochs=epochs, verbose=0, callbacks=[backup, doctor])
        return doctor

    first = fit(2)
    assert first.monitor.records[0]["epoch"] == -1
    resumed = fit(4)
    assert [r["epoch"] for r in resumed.monitor.records] == [2, 3]
    assert resumed.first_seen == {} and resumed.resumed_at == 2
    assert "over epochs 3 to 4 only" in resumed.summary()


def test_an_activation_layer_is_read_as_its_dense_layers_activation():
    model = ff.Sequential([D(8), ff.layers.Activation("sigmoid"), D(8),
                           ff.layers.Activation("sigmoid"), D(1), ff.layers.Activation("relu")],
                          input_dim=2, seed=0)
    model.compile("sgd", "mse")
    info = RunInfo.of(model, np.array([[-1.0], [2.0]]))
    assert info.hidden == ["sigmoid", "sigmoid"] and info.saturating
    assert info.output_activation == "relu" and info.outside_output == 0.5


def test_chance_levels_of_multilabel_and_summed_losses():
    multi = RunInfo.of(_compiled([D(2, "sigmoid")], "binary_crossentropy"),
                       np.array([[1, 0], [1, 1], [0, 0], [1, 0]], dtype=float))
    p = np.array([0.75, 0.25])
    assert multi.chance_loss == pytest.approx(float(-(p * np.log(p)
                                                      + (1 - p) * np.log(1 - p)).mean()))
    assert multi.chance_accuracy == pytest.approx(0.75)
    assert RunInfo.of(_compiled([D(1)], "sse"), np.array([[1.0], [3.0]])).chance_loss is None


@pytest.mark.parametrize("task, named", [("classification", True), ("regression", False)])
def test_a_strong_penalty_prior_alone_needs_a_classification(task, named):
    """Small regression targets need small weights: an L2 that would be 100 times the chance
    loss at Glorot-scale weights may fit well; a class loss is of order 1, so there it cannot."""
    from feedforward.diagnostics import rules

    run = RunInfo(task=task, l2=1e-3, reference_penalty=1.0, chance_loss=0.01)
    record = {"epoch": 3, "step": 40, "loss": 0.0004, "penalty": 0.001, "layers": []}
    found = rules.over_regularization(Evidence([record], {"loss": [0.001] * 4}, {}, run))
    assert (found is not None) is named


def test_an_absurd_rate_is_lowered_to_a_workable_one_not_by_a_tenth():
    from feedforward.diagnostics import signals

    for optimizer, rate, expected in (("SGD", 1e300, 1.0), ("SGD", 10.0, 1.0),
                                      ("Adam", 1e6, 0.05), ("Adam", 0.01, 0.001)):
        ev = Evidence(run=RunInfo(optimizer=optimizer, learning_rate=rate))
        assert signals.lower_rate(ev).value == expected
