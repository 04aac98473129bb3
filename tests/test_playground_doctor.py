"""The playground's doctor: findings from the one entry point (``diagnostics.examine``) over
the network's records, fixes in the page's own terms that the page can apply, no gradient
norm before the first step, and the false alarms of issue 19 gone (each run through a
session, as the page trains it)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

pytest.importorskip("starlette")

from feedforward.diagnostics import Finding, Fix  # noqa: E402
from feedforward.playground import advice  # noqa: E402
from feedforward.playground.session import Session  # noqa: E402
from feedforward.playground.setup import MAX_UNITS, default_setup, merge  # noqa: E402

SEVEN = ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"]
RUNS = {  # name: (setup, epochs)
    "relu_8x8_rate_10": ({"layers": [{"units": 8, "activation": "relu"}] * 8,
                          "optimizer": {"name": "sgd", "learning_rate": 10}}, 30),
    "tanh_circle_rate_3": ({"optimizer": {"name": "sgd", "learning_rate": 3}}, 20),
    "spiral_tanh": ({"dataset": "spiral", "features": SEVEN,
                     "layers": [{"units": 8, "activation": "tanh"}] * 3,
                     "optimizer": {"name": "adam", "learning_rate": 0.01}}, 200),
    "plane_rate_0.1": ({"dataset": "plane",
                        "optimizer": {"name": "sgd", "learning_rate": 0.1}}, 100),
    "plane_rate_0.3": ({"dataset": "plane",
                        "optimizer": {"name": "sgd", "learning_rate": 0.3}}, 150),
    "circle_rate_1e-5": ({"optimizer": {"name": "sgd", "learning_rate": 1e-5}}, 10),
    "circle_l2_3": ({"regularization": "l2", "reg_rate": 3}, 10),
}
# Python in the page: arguments (name=...), ff.*, calls, list literals
PYTHON = re.compile(r"\b\w+=|\bff\.|\w\(\)|\[\d")


def frames(setup, epochs):
    """``(session, [(metric, frame), ...])``: a frame before training and after each epoch."""
    session = Session(setup)
    out = [(None, session.frame())]
    for _ in range(epochs):
        _, stop = session.train(1)
        out.append((session.scores["train"]["metric"], session.frame()))
        if stop is not None:
            break
    return session, out


@pytest.fixture(scope="module")
def runs():
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = frames(*RUNS[name])
        return cache[name]
    return get


def names(frame) -> list:
    return [f["name"] for f in frame["doctor"]["findings"]]


def words(finding) -> str:
    """Everything the page shows of a finding."""
    parts = [finding["title"], finding["cause"]]
    for fix in finding["fixes"]:
        parts += [fix["text"], fix["control"] or "", fix["unavailable"] or ""]
    return " ".join(parts)


# ---------------------------------------------------------------------------- the false alarms
def test_an_all_relu_network_at_rate_10_gets_rate_advice_and_never_sigmoid_advice(runs):
    _, seen = runs("relu_8x8_rate_10")
    findings = [f for _, frame in seen for f in frame["doctor"]["findings"]]
    assert findings
    assert not [words(f) for f in findings if "sigmoid" in words(f).lower()]
    rate = [f for f in findings if f["name"] == "learning_rate_too_high"]
    assert rate, {f["name"] for f in findings}
    assert rate[0]["fixes"][0]["control"] == "Learning rate: 1"


def test_a_well_trained_spiral_network_is_not_told_it_saturates_or_to_scale(runs):
    _, seen = runs("spiral_tanh")
    assert max(m for m, _ in seen[1:]) >= 0.98  # the premise: it learns the spiral
    good = [frame for m, frame in seen[1:] if m >= 0.95]
    assert good
    for frame in good:
        assert "saturation" not in names(frame)
        for finding in frame["doctor"]["findings"]:
            assert "scale" not in words(finding), finding


@pytest.mark.parametrize("run", ["plane_rate_0.1", "plane_rate_0.3"])
def test_a_plane_fitted_to_r2_099_is_not_told_its_rate_is_too_high(runs, run):
    _, seen = runs(run)
    fitted = [frame for r2, frame in seen[1:] if r2 >= 0.99]
    assert fitted  # the premise: R² reaches 0.99
    assert not [names(f) for f in fitted if "learning_rate_too_high" in names(f)]


def test_tanh_on_circle_at_rate_3_swings_and_is_told_its_rate_is_too_high(runs):
    session, seen = runs("tanh_circle_rate_3")
    losses = session.driver.curves["train"][1:]
    assert max(np.diff(losses)) > 0.1  # the premise: the loss swings
    first = next(i for i, (_, frame) in enumerate(seen)
                 if "learning_rate_too_high" in names(frame))
    assert first <= 10
    fix = seen[first][1]["doctor"]["findings"][0]["fixes"][0]
    assert fix["control"] == "Learning rate: 0.3" and fix["text"].startswith("lower")


def test_no_report_both_lowers_and_raises_the_learning_rate(runs):
    for name in RUNS:
        for _, frame in runs(name)[1]:
            fixes = [fix for f in frame["doctor"]["findings"] for fix in f["fixes"]]
            rates = {fix["control"] for fix in fixes
                     if (fix["control"] or "").startswith("Learning rate:")}
            assert len(rates) <= 1, (name, rates)
            texts = " ".join(fix["text"] for fix in fixes)
            assert not ("lower the learning rate" in texts and "raise the learning rate"
                        in texts), (name, texts)


def test_no_python_reaches_the_page(runs):
    for name in RUNS:
        for _, frame in runs(name)[1]:
            for finding in frame["doctor"]["findings"]:
                assert not PYTHON.findall(words(finding)), (name, words(finding))


# ---------------------------------------------------------------------------- records
def test_no_gradient_norm_before_the_first_step_and_the_models_own_are_kept():
    session = Session({"layers": [{"units": 8, "activation": "sigmoid"}] * 6})
    frame = session.frame()
    assert frame["doctor"]["grad_norms"] == [None] * 7
    assert not session.model.grads.any()  # the probe's gradients were not left behind
    # the record at initialization has the training points' gradients: the vanishing
    # gradient of six sigmoid layers is named before the first step
    assert names(frame)[0] == "vanishing_gradients"
    session.train(1)
    norms = session.frame()["doctor"]["grad_norms"]
    assert all(isinstance(g, float) and g >= 0 for g in norms)


def test_a_divergence_that_the_engine_undid_is_named_exploding_gradients():
    session, seen = frames({"dataset": "plane",
                            "optimizer": {"name": "sgd", "learning_rate": 1}}, 5)
    assert session.driver.stop[0] == "diverged"
    assert names(seen[-1][1])[0] == "exploding_gradients"


def test_applying_a_fix_changes_the_sessions_setup():
    session = Session({"layers": [{"units": 8, "activation": "sigmoid"}] * 6})
    fix = session.frame()["doctor"]["findings"][0]["fixes"][0]
    assert fix["control"] == "Activation: ReLU"
    session.apply(fix["setup"])
    assert [layer["activation"] for layer in session.setup["layers"]] == ["relu"] * 6
    assert "vanishing_gradients" not in names(session.frame())


# ---------------------------------------------------------------------------- the mapping
SETUP = merge(None, {"layers": [{"units": 4, "activation": "tanh"}] * 2,
                     "regularization": "l2", "reg_rate": 0.3})
FIXES = [  # (fix, its control, the field it sets and its value there)
    (Fix("activation", "relu"), "Activation: ReLU", ("layers", 0, "activation"), "relu"),
    (Fix("learning_rate", 0.003), "Learning rate: 0.003",
     ("optimizer", "learning_rate"), 0.003),
    (Fix("optimizer", "adam"), "Optimizer: Adam (learning rate 0.001)",
     ("optimizer", "name"), "adam"),
    (Fix("initializer", "he_uniform"), "Initializer: he uniform", ("initializer",),
     "he_uniform"),
    (Fix("l2", 0.003), "Regularization: L2, rate 0.003", ("reg_rate",), 0.003),
    (Fix("l2", 0.0), "Regularization: None", ("regularization",), "none"),
    (Fix("l1", 0.001), "Regularization: L1, rate 0.001", ("regularization",), "l1"),
    (Fix("dropout", 0.3), "Dropout: 0.3 in every hidden layer", ("layers", 1, "dropout"),
     0.3),
    (Fix("layers", [128, 64]), "Hidden layers: 2 (32, 32 neurons)", ("layers", 0, "units"),
     MAX_UNITS),
    (Fix("clipnorm", 1.0), "Optimizer clipnorm: 1", ("optimizer", "clipnorm"), 1.0),
    (Fix("batch_size", 64), "Batch size: 64", ("batch_size",), 64),
    (Fix("early_stopping", True), "Early stopping patience: 10", ("early_stopping",), 10),
    (Fix("patience", 5), "Early stopping patience: 5", ("early_stopping",), 5),
    (Fix("samples", True), "Samples: 1000", ("samples",), 1000),
    (Fix("schedule", "cosine"), "Learning-rate schedule: cosine decay over 100 epochs",
     ("schedule", "name"), "cosine_decay"),
]


def _at(setup, path):
    for key in path:
        setup = setup[key]
    return setup


@pytest.mark.parametrize(("fix", "control", "path", "value"), FIXES,
                         ids=[f"{f.setting}={f.value}" for f, *_ in FIXES])
def test_each_fix_is_a_setup_change_the_server_accepts(fix, control, path, value):
    shown = advice.page_fix(fix, SETUP, 250)
    assert shown["control"] == control and shown["unavailable"] is None
    assert _at(merge(SETUP, shown["setup"]), path) == value


@pytest.mark.parametrize(("fix", "reason"), [
    (Fix("scaling", "standard"), "no input scaling"),
    (Fix("output_activation", "linear"), "from the problem"),
    (Fix("loss", "mse"), "from the problem"),
    (Fix("max_norm", 3.0), "no max-norm"),
    (Fix("epochs", 100), "until you pause"),
    (Fix("layers", [64, 64]), "at most 32 neurons"),
    (Fix("layers", [4, 4]), "already"),
    (Fix("layers", [8] * 9), "at most 8 hidden layers"),
    (Fix("activation", "maxout"), "no maxout activation"),
    (Fix("initializer", "glorot_uniform"), "has it already (Initializer: glorot uniform)"),
    (Fix(None, None, "weigh the rare classes up"), "outside the page"),  # was "sets None"
], ids=lambda v: str(v.setting) if isinstance(v, Fix) else "")
def test_a_fix_the_page_cannot_apply_says_why(fix, reason):
    setup = merge(None, {"layers": [{"units": 4 if fix.value != [64, 64] else 32}] * 2})
    shown = advice.page_fix(fix, setup, 250)
    assert shown["setup"] is None and shown["control"] is None
    assert reason in shown["unavailable"]
    assert not PYTHON.findall(shown["unavailable"])


def test_a_lower_rate_under_a_schedule_restarts_the_schedule_from_it():
    setup = merge(None, {"schedule": {"name": "exponential_decay", "decay_steps": 100}})
    shown = advice.page_fix(Fix("learning_rate", 0.003), setup, 250)
    merged = merge(setup, shown["setup"])
    assert merged["schedule"]["initial_learning_rate"] == 0.003
    assert merged["optimizer"]["learning_rate"] == 0.003


def test_a_finding_leaves_out_advice_no_setting_expresses():
    finding = Finding("not_learning", {}, "no progress",
                      [Fix(None, None, "run ff.diagnostics.check()"),
                       Fix("optimizer", "adam", "use Adam")])
    shown = advice.page_finding(finding, default_setup(), 250)
    assert shown["title"] == "Not learning"
    assert [f["control"] for f in shown["fixes"]] == ["Optimizer: Adam (learning rate 0.001)"]
    assert json.dumps(shown).count("ff.") == 0


def test_the_record_at_initialization_stays_while_the_rest_roll():
    from feedforward.playground import frames

    class Driver:  # any object the session's driver could be
        pass

    driver = Driver()
    for step in range(15):
        records = frames.keep(driver, {"epoch": step - 1, "step": step, "layers": []})
    assert records[0]["epoch"] == -1 and len(records) == frames.RECORDS + 1
    assert [r["step"] for r in records[1:]] == list(range(15 - frames.RECORDS, 15))


def test_a_fix_the_network_has_says_already_set():
    shown = advice.page_fix(Fix("initializer", "glorot_uniform", "Glorot"), default_setup(), 250)
    assert shown["setup"] is None and shown["already"] is True
    other = advice.page_fix(Fix("scaling", "standard", "scale"), default_setup(), 250)
    assert other["setup"] is None and other["already"] is False


def test_a_schedule_the_network_has_is_shown_as_already_set():
    # the setup fills in the schedule's other entries: the fix was offered again, not set
    import math

    setup = merge(None, {})
    steps = advice.SCHEDULE_EPOCHS * math.ceil(250 / setup["batch_size"])
    setup = merge(setup, {"schedule": {"name": "cosine_decay", "decay_steps": steps}})
    assert len(setup["schedule"]) > 2
    shown = advice.page_fix(Fix("schedule", "cosine"), setup, 250)
    assert shown["already"] and shown["setup"] is None
