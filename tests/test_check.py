"""The sanity recipe: ``ff.diagnostics.check`` and ``feedforward check``."""

from __future__ import annotations

import importlib
import json
import math

import numpy as np
import pytest

import feedforward as ff
from _helpers import ff_cli as _cli
from feedforward.diagnostics import check

D = ff.Dense
STEPS = ["doctor_at_initialization", "gradient_check", "initial_loss", "overfit_small_subset",
         "learning_rate_range"]


@pytest.fixture(scope="module")
def digits():
    from sklearn.model_selection import train_test_split

    x, y = ff.data.load_dataset("digits")
    return train_test_split(np.asarray(x, dtype=np.float64), np.asarray(y), test_size=0.25,
                            random_state=0, stratify=y)


def _factory(units=(128, 64), learning_rate=None, scale=True):
    def make():
        model = ff.Sequential(
            [D(u, "relu", kernel_initializer="he_normal") for u in units] + [D(10, "softmax")],
            seed=0, preprocessing=ff.data.StandardScaler() if scale else None)
        model.compile(ff.optimizers.Adam(learning_rate) if learning_rate else "adam",
                      "categorical_crossentropy", ["accuracy"])
        return model
    return make


@pytest.fixture(scope="module")
def sensible(digits):
    return check(_factory(), digits[0], digits[2])


def test_passes_on_a_sensible_architecture(sensible):
    assert [s.name for s in sensible.steps] == STEPS
    assert sensible.passed and all(s.passed for s in sensible.steps)
    assert sensible.findings == [] and not any(s.advice for s in sensible.steps)
    assert sensible["gradient_check"].evidence["relative_error"] < 1e-6
    loss = sensible["initial_loss"].evidence
    assert loss["expected"] == pytest.approx(math.log(10))
    overfit = sensible["overfit_small_subset"].evidence
    assert overfit["samples"] == 64 and 1 < overfit["steps"] < 2000 and overfit["loss"] <= 0.05


def test_recommended_rate_trains_digits_with_adam_to_95_percent(sensible, digits):
    x_train, x_test, y_train, y_test = digits
    rate = sensible.recommended_learning_rate
    assert 1e-5 < rate < 1
    curve = sensible.lr_curve
    assert np.all(np.diff(curve["learning_rate"]) > 0)  # the rate grows exponentially
    assert np.allclose(np.diff(np.log(curve["learning_rate"])),
                       math.log(curve["learning_rate"][1] / curve["learning_rate"][0]))
    model = _factory(learning_rate=rate)()
    model.fit(x_train, y_train, epochs=20, verbose=0)
    assert model.evaluate(x_test, y_test, return_dict=True)["accuracy"] >= 0.95


def test_a_network_too_small_fails_the_overfitting_step_with_advice(digits):
    report = check(_factory(units=(1,)), digits[0], digits[2], max_steps=500)
    step = report["overfit_small_subset"]
    assert step.passed is False and not report.passed
    assert step.evidence["steps"] == 500 and step.evidence["loss"] > 0.05
    assert "reconsider the architecture" in step.advice
    assert report["gradient_check"].passed  # the gradients of a small network are right


def test_unscaled_inputs_fail_the_initial_loss(digits):
    report = check(_factory(scale=False), digits[0] * 100, digits[2], max_steps=1)
    step = report["initial_loss"]
    assert step.passed is False and step.evidence["loss"] > 1.5 * math.log(10)
    assert "too large" in step.advice
    assert "scale the inputs (preprocessing=ff.data.StandardScaler())" in step.advice
    assert [f.name for f in report.findings] == ["unscaled_inputs"]
    overfit = report["overfit_small_subset"]  # one step cannot overfit: unscaled inputs say why
    assert overfit.passed is False and overfit.evidence["explained_by"] == ["unscaled_inputs"]


def test_regression_loss_has_no_reference_value():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 3))
    y = x @ np.array([1.0, -2.0, 0.5])

    def make():
        model = ff.Sequential([D(16, "tanh"), D(1)], seed=0)
        model.compile("adam", "mse")
        return model
    report = check(make, x, y, lr_steps=50)
    assert report["initial_loss"].passed is None
    assert report["overfit_small_subset"].passed
    assert report.passed  # a skipped step is not a failure


def test_a_compiled_model_is_copied_not_trained(digits):
    model = _factory()()
    model.build(64)
    before = model.get_weights()
    report = check(model, digits[0], digits[2], lr_steps=30)
    assert [s.name for s in report.steps] == STEPS
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_plot(sensible, tmp_path):
    pytest.importorskip("matplotlib")
    from feedforward.diagnostics.check import plot_lr_curve

    assert plot_lr_curve(sensible, tmp_path / "lr.png")
    assert (tmp_path / "lr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_recipe_module_still_offers_its_report_and_range_test():
    """The report and the range test live in their own modules; ``diagnostics.check`` re-exports
    them, the same objects, so imports from it keep working."""
    recipe = importlib.import_module("feedforward.diagnostics.check")
    homes = {"feedforward.diagnostics.report": ("Step", "Report", "CheckFix", "DOCTOR",
                                                "MAX_STEPS"),
             "feedforward.diagnostics.lr_range": ("lr_range_step", "RangeTest",
                                                  "plot_lr_curve")}
    for home, names in homes.items():
        module = importlib.import_module(home)
        for name in names:
            assert getattr(recipe, name) is getattr(module, name), name
            assert name in recipe.__all__, name
    assert ff.diagnostics.Report is recipe.Report and ff.diagnostics.Step is recipe.Step


@pytest.mark.parametrize("kwargs, name", [({"subset": 1}, "subset"),
                                          ({"max_steps": 0}, "max_steps"),
                                          ({"lr_steps": 5}, "lr_steps")])
def test_bad_arguments(digits, kwargs, name):
    with pytest.raises(ff.FeedforwardError, match=name):
        check(_factory(), digits[0], digits[2], **kwargs)


def test_bad_factory(digits):
    with pytest.raises(ff.FeedforwardError, match="model_factory"):
        check("mlp", digits[0], digits[2])
    with pytest.raises(ff.FeedforwardError, match="compiled Sequential"):
        check(lambda: ff.Sequential([D(10, "softmax")]), digits[0], digits[2])


def _deep_sigmoid():
    model = ff.Sequential([D(32, "sigmoid") for _ in range(10)] + [D(10, "softmax")], seed=0,
                          preprocessing=ff.data.StandardScaler())
    model.compile("adam", "categorical_crossentropy")
    return model


@pytest.fixture(scope="module")
def deep_sigmoid(digits):
    return check(_deep_sigmoid, digits[0], digits[2], max_steps=300)


def test_the_doctor_at_initialization_explains_the_failed_steps(deep_sigmoid):
    """Issue 19: a 10-layer sigmoid network failed "overfit a small subset" and the range test
    without a word of why; the vanishing gradient is visible before the first step."""
    report = deep_sigmoid
    first = report.steps[0]
    assert first.name == "doctor_at_initialization" and first.passed is False
    assert [f.name for f in report.findings] == ["vanishing_gradients"] == first.evidence[
        "findings"]
    assert report.findings[0].evidence["first_to_last_grad_norm"] < 1e-2
    for name, label in (("overfit_small_subset", "overfitting"),
                        ("learning_rate_range", "learning-rate range")):
        step = report[name]
        assert step.passed is False and step.evidence["explained_by"] == ["vanishing_gradients"]
        assert step.reason.startswith(f"the {label} step failed: vanishing gradients at "
                                      "initialization (first_to_last_grad_norm=")
        assert (step.fixes[0].setting, step.fixes[0].value) == ("activation", "relu")
    assert report["gradient_check"].passed and report["initial_loss"].passed


def test_the_api_shows_python_and_the_cli_flags(deep_sigmoid):
    python, cli = str(deep_sigmoid), deep_sigmoid.render("cli")
    assert "(activation='relu' in the hidden layers)" in python and "--activation" not in python
    assert "(--activation relu)" in cli and "activation='relu'" not in cli
    step = deep_sigmoid["overfit_small_subset"]
    assert step.advice == step.advise("python") and "activation='relu'" in step.advice
    saved = json.loads(json.dumps(deep_sigmoid.to_dict("cli")))
    assert [f["name"] for f in saved["findings"]] == ["vanishing_gradients"]
    assert "(--activation relu)" in saved["steps"][3]["advice"]
    assert saved["steps"][3]["fixes"][0]["python"].startswith("activation='relu'")


def _rates_offered(report) -> list:
    return [fix.value for step in report.steps for fix in step.fixes
            if fix.setting == "learning_rate"]


def test_no_rate_is_offered_that_the_range_test_did_not_find(deep_sigmoid):
    """Random labels: nothing overfits them in 5 steps and no rate lowers the loss; no step
    offers a learning rate, in either surface's terms."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(400, 5)), rng.integers(0, 2, 400)

    def make():
        model = ff.Sequential([D(16, "relu"), D(1, "sigmoid")], seed=0)
        model.compile("adam", "binary_crossentropy")
        return model
    report = check(make, x, y, batch_size=1, max_steps=5, lr_steps=200)
    assert report.findings == [] and report["overfit_small_subset"].passed is False
    assert report.recommended_learning_rate is None
    for failed in (report, deep_sigmoid):  # the overfit failed, without and with findings
        assert _rates_offered(failed) == []
        assert "learning_rate=" not in str(failed)
        assert "--learning-rate" not in failed.render("cli")


def test_a_failed_overfit_is_offered_the_rate_the_range_test_found(digits):
    report = check(_factory(units=(1,)), digits[0], digits[2], max_steps=300)
    rate = report.recommended_learning_rate
    step = report["overfit_small_subset"]
    assert step.passed is False and report["learning_rate_range"].passed and rate > 1e-3
    assert _rates_offered(report) == [float(f"{rate:.2g}")]
    assert "the network cannot even memorise" in step.reason
    assert f"(--learning-rate {rate:.2g})" in step.advise("cli")
    assert step.fixes[0].setting == "layers" and step.fixes[0].value[0] > 1


def test_the_overfitting_step_is_not_blamed_on_regularization_it_turns_off(digits):
    def heavy():
        model = _factory()()
        for layer in model.layers:
            layer.regularizers = {"kernel": ff.regularizers.L2(3.0)}
        return model
    report = check(heavy, digits[0], digits[2], max_steps=300, lr_steps=50)
    assert "over_regularization" in [f.name for f in report.findings]
    overfit = report["overfit_small_subset"]
    assert "over_regularization" not in overfit.evidence.get("explained_by", [])
    assert overfit.passed, str(overfit)  # without the penalty, 64 samples are memorised


# ---------------------------------------------------------------------------- the CLI
def test_cli_check_passes_on_the_default_network(tmp_path):
    result = _cli("check", "--layers", "64", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in STEPS:
        assert f"[PASS] {name}" in result.stdout
    assert "recommended learning rate" in result.stdout and "all checks passed" in result.stdout


def test_cli_check_fails_a_network_too_small(tmp_path):
    result = _cli("check", "--layers", "1", "--max-steps", "300", "--plot", "lr.png",
                  cwd=tmp_path)
    assert result.returncode == 1
    assert "[FAIL] overfit_small_subset" in result.stdout
    assert "reconsider the architecture" in result.stdout
    assert "some checks failed" in result.stdout


def test_cli_check_bad_option_is_one_line(tmp_path):
    result = _cli("check", "--subset", "1", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("feedforward check: error: --subset")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_saturated_network_is_not_blamed_for_a_wrong_derivative(digits):
    """Outputs pinned at 0 or 1 make the clipped loss flat; the gradient check leaves those
    samples out rather than reporting a derivative error, while a real one is still caught."""
    x_train, _, y_train, _ = digits

    def wild():
        model = ff.Sequential([D(64, "relu", kernel_initializer=ff.initializers.RandomNormal(
            stddev=3.0)), D(10, "softmax")], seed=0, preprocessing=ff.data.StandardScaler())
        model.compile("sgd", "categorical_crossentropy")
        return model

    steps = importlib.import_module("feedforward.diagnostics.check")
    model = wild()
    xp, yp = steps._prepared(model, x_train, y_train)
    step = steps.gradient_step(model, xp, yp, samples=len(xp))
    assert step.passed is not False, str(step)
    if step.passed:  # ran on the unsaturated samples only
        assert step.evidence["relative_error"] < 1e-4
    sound = _factory()()
    xp, yp = steps._prepared(sound, x_train, y_train)
    original = ff.activations.ReLU.backward

    def wrong(self, x, y, grad_y):
        return 2.0 * original(self, x, y, grad_y)

    ff.activations.ReLU.backward = wrong
    try:
        assert steps.gradient_step(sound, xp, yp).passed is False
    finally:
        ff.activations.ReLU.backward = original


def test_a_diverging_overfit_is_a_failure_not_a_crash():
    """The model's step refuses a non-finite loss (Diverged); the step reports it as a
    failure with finite evidence (JSON has no NaN), and the report goes on to the range test."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 3))
    y = x @ np.array([1.0, -2.0, 0.5])

    def make():
        model = ff.Sequential([D(8, "tanh"), D(1)], seed=1)
        model.compile(ff.optimizers.SGD(0.01, momentum=0.9), "sse")
        return model
    report = check(make, x, y, lr_steps=20)
    step = report["overfit_small_subset"]
    assert step.passed is False and not report.passed
    assert step.evidence["loss"] is None and 1 < step.evidence["steps"] < 2000
    assert "lower the learning rate" in step.advice
    assert [s.name for s in report.steps] == STEPS


# ---------------------------------------------------------------------------- through the engine
steps_module = importlib.import_module("feedforward.diagnostics.check")
lr_range = importlib.import_module("feedforward.diagnostics.lr_range")


def _old_range_loop(model, x, y, batch_size, steps, low=1e-6, high=10.0):
    """The range test as it was before it ran on the engine (its own loop over the model's
    step): the reference its rates and smoothed losses must match, bit for bit."""
    order = np.random.default_rng(0).permutation(len(x))
    lr_range._untrained_loss(model, x, y, batch_size, order)  # its dropout draws come first
    growth, average, rates, curve = (high / low) ** (1 / (steps - 1)), 0.0, [], []
    for t in range(steps):
        rows = order[(t * batch_size) % len(order):][:batch_size]
        model.optimizer.learning_rate = low * growth ** t
        try:
            loss = model.train_step(x[rows], y[rows])[0]
        except ff.model.Diverged:
            break
        average = 0.9 * average + 0.1 * loss
        rates.append(low * growth ** t)
        curve.append(average / (1 - 0.9 ** (t + 1)))
        if curve[-1] > 4 * min(curve) and t > 10:
            break
    return {"learning_rate": rates, "loss": curve}


def _tiny(constraint=None, seed=3):
    def make():
        model = ff.Sequential([D(8, "tanh", kernel_constraint=constraint), ff.Dropout(0.2),
                               D(1, kernel_constraint=constraint)], seed=seed, input_dim=4)
        model.compile(ff.optimizers.Adam(), "mse")
        return model
    return make


def _tiny_data(n):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, (x[:, :1] - 2 * x[:, 1:2]).astype(np.float32)


@pytest.mark.parametrize("n, batch_size, steps", [(100, 32, 60), (90, 30, 40), (70, 200, 30),
                                                  (100, 7, 400)])
def test_range_test_on_the_engine_gives_the_numbers_of_its_own_loop(n, batch_size, steps):
    """Short batches at the end of the fixed order, the order wrapping, a batch larger than
    the data, the early stop at 4 times the lowest loss: the same rates and losses."""
    x, y = _tiny_data(n)
    expected = _old_range_loop(_tiny()(), x, y, batch_size, steps)
    curve = steps_module.lr_range_step(_tiny()(), x, y, batch_size, steps)[2]
    assert curve == expected
    assert 10 < len(curve["loss"]) <= steps


def test_range_test_runs_through_the_engine_its_callbacks_see_each_step():
    x, y = _tiny_data(100)
    seen = []

    class Steps(ff.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append((self.trainer.step, self.trainer.batch_loss,
                         self.model.optimizer.learning_rate))

    step, _, curve = steps_module.lr_range_step(_tiny()(), x, y, 32, 50, callbacks=[Steps()])
    assert [s for s, _, _ in seen] == list(range(1, len(seen) + 1))
    assert len(seen) == step.evidence["steps"] == len(curve["loss"])
    # each step's rate is the one the callback raised the optimizer's to, one step later
    assert [r for _, _, r in seen[:-1]] == curve["learning_rate"][1:]


def test_range_test_keeps_the_max_norm_constraint():
    """The engine's step applies the constraints after every update; the range test's own loop
    used to skip them, letting the weights grow past the bound at the high rates."""
    x, y = _tiny_data(100)
    bound = 0.5
    constrained = _tiny(ff.regularizers.MaxNorm(bound))()
    steps_module.lr_range_step(constrained, x, y, 32, 60, low=1e-3, high=10.0)
    kernels = [w for w in constrained.get_weights() if w.ndim == 2]
    assert all(np.linalg.norm(k, axis=0).max() <= bound * (1 + 1e-6) for k in kernels)
    free = _tiny()()
    steps_module.lr_range_step(free, x, y, 32, 60, low=1e-3, high=10.0)
    assert max(np.linalg.norm(w, axis=0).max() for w in free.get_weights() if w.ndim == 2) > bound


def test_overfit_step_keeps_the_constraints():
    """The full-batch steps are the engine's, the model's step: a max-norm constraint holds."""
    x, y = _tiny_data(64)
    model = _tiny(ff.regularizers.MaxNorm(0.3))()
    step = steps_module.overfit_step(model, x, y, max_steps=50)
    assert step.evidence["steps"] == 50 and step.passed is False
    assert all(np.linalg.norm(w, axis=0).max() <= 0.3 * (1 + 1e-6)
               for w in model.get_weights() if w.ndim == 2)
