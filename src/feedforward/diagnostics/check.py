"""The sanity recipe before a long training run, as one function: :func:`check`.

0. **The doctor at initialization**: the doctor's rules (:func:`~.doctor.examine`) on one
   record of the untrained network with the gradients of one probe batch: vanishing gradients
   (the first/last gradient-norm ratio), dead or saturated units, symmetric initialization,
   unscaled inputs, a penalty that outweighs the data loss, an output that cannot reach the
   targets.
1. **Gradient check**: backpropagation against central differences, on a float64 copy and a
   few samples, for a random subset of the parameters.
2. **Initial loss**: with small random weights a k-class softmax predicts about 1/k for every
   class, so the cross-entropy starts near ln k (ln 2 for a sigmoid output); well above
   it (1.5 ln k), the untrained network is confidently wrong.
3. **Overfit a small subset** (64 samples, regularization and dropout off): a network that
   can learn the data drives the loss on so few samples to near zero. If it cannot, more
   training will not help: reconsider the architecture.
4. **Learning-rate range test**: a few hundred steps with the rate growing exponentially;
   the recommended rate is a tenth of the rate where the smoothed loss was lowest, and none
   when no rate made the loss fall clearly (beyond noise) below its start.

Every failed step says why (:attr:`Step.reason`) and what to do (:attr:`Step.fixes`, settings
shown as Python arguments by ``str(report)`` and as flags by ``report.render("cli")``); a
failure of steps 3 or 4 that findings at initialization explain names them, with their
numbers and fixes. No learning rate is ever recommended from a range test that found none.
"""

from __future__ import annotations

import math

import numpy as np

from .. import losses, optimizers
from ..callbacks import Callback
from ..errors import FeedforwardError, check_number
from ..layers import Dropout
from ..model import Sequential
from ..training import Trainer
from .advice import Fix
from .doctor import examine
from .findings import Evidence
from .gradient_check import float64_copy, relative_error
from .lr_range import RangeTest, image_format, lr_range_step, plot_lr_curve
from .monitor import Monitor
from .report import DOCTOR, MAX_STEPS, CheckFix, Report, Step
from .runinfo import RunInfo

# the recipe's names, those of its report and range test included (re-exported from here)
__all__ = ["CHECKED", "DOCTOR", "MAX_STEPS", "CheckFix", "RangeTest", "Report", "Step", "check",
           "doctor_step", "gradient_step", "initial_loss_step", "lr_range_step", "overfit_step",
           "plot_lr_curve"]


def _fresh(model_factory, x):
    """A new compiled model from a factory, or a copy of a compiled model with new weights,
    built for ``x``."""
    if isinstance(model_factory, Sequential):
        source = model_factory
        config = {**source.get_config(), "input_dim": None}
        model = Sequential.from_config(config)
        model.compile(optimizers.deserialize(optimizers.serialize(source.optimizer)),
                      losses.deserialize(losses.serialize(source.loss)))
    elif callable(model_factory):
        model = model_factory()
    else:
        raise FeedforwardError("model_factory: expected a Sequential or a callable returning "
                               f"a compiled Sequential, got {type(model_factory).__name__}")
    if not isinstance(model, Sequential) or model.loss is None:
        raise FeedforwardError("model_factory: expected it to return a compiled Sequential, "
                               f"got {type(model).__name__}")
    model.raw_inputs(x[:1])
    return model


def _prepared(model, x, y):
    """Inputs and targets as the first layer and the loss see them (preprocessing fitted)."""
    x = model.raw_inputs(x)
    model.fit_preprocessing(x)
    return model.transform(x), model.prepare_y(y, x.shape[0])


# ---------------------------------------------------------------------------- the steps
# what the doctor's rules can see before the first step (the curves come with training)
CHECKED = ("gradient flow", "dead and saturated units", "weight symmetry", "input scale",
           "target scale", "regularization", "output range")


def doctor_step(model, x, y, batch_size=32, probe_size=256) -> Step:
    """The doctor's rules at initialization, on one record of ``model`` with the gradients of
    one probe batch (:meth:`Monitor.measure`).

    Fails when a rule fires: vanishing gradients (first/last gradient-norm ratio), dead or
    saturated units, symmetric initialization, unscaled inputs, a penalty that outweighs the
    data loss, an output that cannot reach the targets.

    Parameters
    ----------
    model : Sequential
        A compiled, built model with its preprocessing fitted; it is not changed.
    x : array of shape (n, features)
        Raw inputs (preprocessed by the model); the first ``probe_size`` rows are the probe.
    y : array of shape (n,) or (n, outputs)
        Raw targets of ``x``'s rows.
    batch_size : int
        The training's batch size, as the rules read it.
    probe_size : int
        Rows of the probe batch (default 256).

    Returns
    -------
    Step
        ``"doctor_at_initialization"``, its ``findings`` those of :func:`examine`.
    """
    monitor = Monitor(probe=x[:probe_size], probe_size=probe_size)
    monitor.measure(model, epoch=-1, y=y[:probe_size])
    run = RunInfo.of(model, model.prepare_y(y, len(y)), batch_size)
    findings = examine(Evidence(monitor.records, {}, monitor.inputs, run))
    rows = min(probe_size, len(x))
    evidence = {"findings": [f.name for f in findings], "probe_samples": rows}
    if not findings:
        return Step(DOCTOR, True, f"no problem found before the first step: checked "
                    f"{', '.join(CHECKED)} on {rows} samples", evidence)
    return Step(DOCTOR, False, f"{len(findings)} finding(s) before the first step, on {rows} "
                f"samples: {', '.join(f.name for f in findings)}", evidence, findings=findings)


def gradient_step(model, x, y, samples=8, parameters=200, seed=0) -> Step:
    """Backpropagation against central differences, on a float64 copy of ``model``.

    Passes when the relative error is below 1e-4.

    Parameters
    ----------
    model : Sequential
        A compiled, built model.
    x : array of shape (n, features)
        Inputs as the first layer sees them (preprocessed).
    y : ndarray
        Targets as the loss sees them (prepared by it), e.g. of shape (n, outputs).
    samples : int
        The first rows of ``x`` and ``y`` used (default 8).
    parameters : int
        The number of parameters, drawn at random, whose derivative is compared (default 200).
    seed : int
        The seed of that draw.

    Returns
    -------
    Step
        ``"gradient_check"``, with the relative error as evidence.
    """
    clone = float64_copy(model)
    x, y = _unclipped(clone, x.astype(np.float64), y, samples)
    if not len(x):
        return Step("gradient_check", None, "skipped: on every sample the probability of "
                    f"the target is within {_MARGIN:g} of 0 or 1, where the loss is clipped "
                    "or flat and central differences cannot check it",
                    {}, "see the initial loss step: the network saturates before training")
    clone.compute_gradients(x, y, training=False)
    analytic = clone.grads.copy()
    rng = np.random.default_rng(seed)
    idx = rng.choice(clone.params.size, min(parameters, clone.params.size), replace=False)
    error, floor = _compare(clone, x, y, analytic[idx], idx, 1e-6)
    if error >= 1e-4 and error <= floor:  # round-off: a wider step may resolve the derivative
        wider = _compare(clone, x, y, analytic[idx], idx, 1e-3)
        error, floor = wider if wider[0] < 1e-4 else (error, floor)
    passed = error < 1e-4
    evidence = {"relative_error": error, "parameters": len(idx), "round_off_floor": floor}
    measured = f"relative error {error:.2e} over {len(idx)} parameters (float64, {len(x)} samples)"
    if not passed and error <= floor:
        loss = float(clone.loss_value(x, y))
        return Step("gradient_check", None, f"inconclusive: {measured}, within what float64 "
                    f"round-off alone gives at a loss of {loss:.3g} ({floor:.2e})", evidence,
                    "the loss is too large for central differences to resolve its derivative, "
                    "which says nothing of a wrong one: scale what makes it large (the "
                    "targets: see the doctor at initialization)")
    return Step("gradient_check", passed, measured, evidence,
                "" if passed else _wrong_derivative(model))


def _compare(clone, x, y, analytic, idx, eps) -> tuple:
    """The relative error of ``analytic`` (the gradient at ``idx``) against central
    differences of step ``eps``, and the relative error that float64 round-off of the loss
    alone could cause (about ``machine epsilon * |loss| / eps`` per parameter)."""
    numeric, size = np.empty(len(idx)), np.empty(len(idx))
    for j, i in enumerate(idx):
        old = clone.params[i]
        clone.params[i] = old + eps
        plus = clone.loss_value(x, y)
        clone.params[i] = old - eps
        minus = clone.loss_value(x, y)
        clone.params[i] = old
        numeric[j] = (plus - minus) / (2 * eps)
        size[j] = max(abs(plus), abs(minus))
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    noise = np.linalg.norm(np.finfo(np.float64).eps * size / eps)
    return relative_error(analytic, numeric), float(noise / scale) if scale > 0 else 0.0


def _wrong_derivative(model) -> str:
    """Why backpropagation and central differences disagree: a custom part's derivative, or,
    when every part is the library's own, a kink of the loss at these weights."""
    parts = [*model.layers, *(getattr(layer, "activation", None) for layer in model.layers),
             model.loss]
    custom = sorted({type(p).__name__ for p in parts if p is not None
                     and not type(p).__module__.startswith("feedforward.")})
    if custom:
        return ("backpropagation disagrees with numerical differentiation: a custom part "
                f"({', '.join(custom)}) has a wrong derivative")
    return ("backpropagation disagrees with numerical differentiation, though every layer, "
            "activation and loss is the library's own: a kink of the loss at these weights "
            "(a ReLU input at exactly 0) can cause it; if it persists with other seeds, "
            "report it with the model's configuration")


_MARGIN = 1e3 * losses.EPSILON  # outputs this close to 0 or 1 are near the loss's clipping


def _unclipped(model, x, y, samples):
    """The first ``samples`` rows whose target probabilities stay clear of 0 and 1 under a
    cross-entropy loss. Near 0 the loss clips them and is flat, so central differences give 0
    where backpropagation's ``p - y`` does not; near 1 the gradient is below what central
    differences resolve."""
    p = model.forward(x, training=False).reshape(len(x), -1)
    clear = (p > _MARGIN) & (p < 1 - _MARGIN)
    if isinstance(model.loss, losses.CategoricalCrossentropy):  # only targets' log p counts
        clear |= y.reshape(p.shape) == 0
    elif not isinstance(model.loss, losses.BinaryCrossentropy):
        return x[:samples], y[:samples]
    keep = np.flatnonzero(clear.all(axis=1))[:samples]
    return x[keep], y[keep]


def initial_loss_step(model, x, y) -> Step:
    """The untrained loss against ln k (categorical cross-entropy, k outputs) or ln 2 (binary).

    Passes when the loss is at most 1.5 times that; does not apply to other losses.

    Parameters
    ----------
    model : Sequential
        A compiled, built model.
    x : array of shape (n, features)
        Inputs as the first layer sees them (preprocessed).
    y : ndarray
        Targets as the loss sees them (prepared by it), e.g. of shape (n, outputs).

    Returns
    -------
    Step
        ``"initial_loss"``; ``passed`` is None for a loss without a reference value.
    """
    loss = model.loss.value(model.forward(x, False), y)  # without the penalties
    k = model.output_shape[-1]
    if isinstance(model.loss, losses.CategoricalCrossentropy) and k > 1:
        expected, what = math.log(k), f"ln {k}"
    elif isinstance(model.loss, losses.BinaryCrossentropy):
        expected, what = math.log(2), "ln 2"
    else:
        return Step("initial_loss", None, f"initial loss {loss:.4g}; no reference value for "
                    f"the {model.loss.name} loss", {"loss": loss})
    passed = loss <= 1.5 * expected  # He-initialized ReLU stacks start near 1.3 ln k
    step = Step("initial_loss", passed,
                f"initial loss {loss:.4g}, expected about {what} = {expected:.4g}",
                {"loss": loss, "expected": expected})
    if not passed:
        step.reason = ("the untrained network is confidently wrong: the initial weights or the "
                       "inputs are too large, or the labels do not match the output layer")
        step.fixes = [*_scale(model), Fix("initializer", "glorot_uniform",
                                          "use smaller initial weights (Glorot)")]
    return step


def _scale(model) -> list:
    """Scaling the inputs, as a fix, unless the model scales them already."""
    return [] if model.preprocessing else [Fix("scaling", "standard", "scale the inputs")]


def overfit_step(model, x, y, subset=64, max_steps=2000) -> Step:
    """Full-batch steps on ``subset`` samples with regularization and dropout off.

    Passes when the loss reaches 0.05 (cross-entropy) or 1 % of its first value (other
    losses). ``model`` is changed in place: pass a fresh one.

    Parameters
    ----------
    model : Sequential
        A compiled, built model.
    x : array of shape (n, features)
        Inputs as the first layer sees them (preprocessed).
    y : ndarray
        Targets as the loss sees them (prepared by it), e.g. of shape (n, outputs).
    subset : int
        The first rows of ``x`` and ``y`` trained on (default 64).
    max_steps : int
        The most optimizer steps (default 2000).

    Returns
    -------
    Step
        ``"overfit_small_subset"``, with the steps taken and the final loss as evidence.
    """
    for layer in model.layers:
        layer.regularizers = {}
        if isinstance(layer, Dropout):
            layer.rate = 0.0
    x, y = x[:subset], y[:subset]
    classification = isinstance(model.loss, (losses.CategoricalCrossentropy,
                                              losses.BinaryCrossentropy))
    goal = _LossBelow(0.05 if classification else None)
    trainer = Trainer(model, x, y, batch_size=len(x), shuffle=False, callbacks=[goal])
    trainer.run(steps=max_steps)
    trainer.end()
    loss, target, steps = goal.loss, goal.target, goal.steps
    if not math.isfinite(loss):  # the model's step refused it: a failure, not a crash
        return _diverged_step(model, len(x), steps, loss, target)
    passed = bool(loss <= target)
    evidence = {"samples": len(x), "steps": steps, "loss": loss, "target": target}
    if passed:
        return Step("overfit_small_subset", True,
                    f"loss {loss:.3g} <= {target:.3g} on {len(x)} samples after {steps} steps",
                    evidence)
    units = [min(max(2 * u, 32), 1024) for u in RunInfo.of(model).units] or [64]
    return Step("overfit_small_subset", False,
                f"loss still {loss:.3g} (target {target:.3g}) on {len(x)} samples after "
                f"{steps} steps", evidence,
                "the network cannot even memorise a small sample, so more data or training "
                "will not help: reconsider the architecture (more units or layers, a different "
                "activation), check that the labels match the inputs, or raise the learning rate",
                [Fix("layers", units, "use a larger network")])


class _LossBelow(Callback):
    """Ends the training once a batch's loss is at most ``target`` (None: 1 % of the first
    batch's loss), or at a non-finite loss, which it keeps."""

    handles_divergence = True  # a non-finite loss is a finding of the check, not an error

    def __init__(self, target):
        self.target, self.loss, self.steps = target, math.nan, 0

    def on_batch_end(self, batch, logs=None):
        self.loss = self.trainer.batch_loss
        self.steps += 1
        if self.target is None:
            self.target = 0.01 * self.loss
        if not self.loss > self.target:
            self.trainer.stop_training = True


def _diverged_step(model, samples, steps, loss, target):
    """The overfitting step's failure when the loss became ``loss`` (not finite) at ``steps``."""
    rate = RunInfo.of(model).learning_rate
    lower = float(f"{rate / 10:.1g}")
    return Step("overfit_small_subset", False,
                f"the loss became {loss} at step {steps} on {samples} samples",
                {"samples": samples, "steps": steps, "loss": None, "target": target,
                 "diverged": True},
                "training diverges even on a small sample: the steps are too large",
                [Fix("learning_rate", lower, f"lower the learning rate from {rate:g} to "
                                             f"{lower:g}"),
                 *_scale(model), Fix("clipnorm", 1.0, "clip each gradient's norm"),
                 Fix("initializer", "glorot_uniform", "use smaller initial weights (Glorot)")])



def check(model_factory, x, y, subset=64, max_steps=2000, batch_size=32, lr_steps=200,
          plot=None) -> Report:
    """Run the sanity recipe; each training step on a fresh model.

    Parameters
    ----------
    model_factory : callable or Sequential
        Returns a new compiled model (same architecture, new weights), or a compiled model
        whose configuration is copied (its weights are not touched).
    x : array of shape (n, features)
    y : array of shape (n,) or (n, outputs)
    subset : int
        Samples for the overfitting step.
    max_steps : int
        Full-batch steps allowed to overfit the subset.
    batch_size, lr_steps : int
        Mini-batch size and number of steps of the learning-rate range test.
    plot : str or Path, optional
        Where to save a loss-against-rate plot (needs matplotlib; skipped without it).

    Returns
    -------
    Report
        ``report.steps`` in order (the doctor at initialization first); ``report.passed``;
        ``report.findings`` (the doctor's, at initialization);
        ``report.recommended_learning_rate``.
    """
    subset = int(check_number(subset, "subset", low=2, high=MAX_STEPS, integer=True))
    max_steps = int(check_number(max_steps, "max_steps", low=1, high=MAX_STEPS, integer=True))
    lr_steps = int(check_number(lr_steps, "lr_steps", low=20, high=MAX_STEPS, integer=True))
    if plot is not None:  # before minutes of checks, not after
        image_format(plot)
    model = _fresh(model_factory, x)
    xs, ys = _prepared(model, x, y)  # every fresh model would fit the same preprocessing
    steps = [doctor_step(model, x, y, batch_size), gradient_step(model, xs, ys),
             initial_loss_step(model, xs, ys),
             overfit_step(_fresh(model_factory, x), xs, ys, subset, max_steps)]
    lr_step, rate, curve = lr_range_step(_fresh(model_factory, x), xs, ys, batch_size, lr_steps)
    steps.append(lr_step)
    _explain(steps, rate, RunInfo.of(model).learning_rate)
    report = Report(steps, rate, curve)
    if plot is not None:
        plot_lr_curve(report, plot)
    return report


# a divergence is explained only by what makes the steps too large
_DIVERGING = ("exploding_gradients", "unscaled_inputs")


_LABELS = {"overfit_small_subset": "overfitting", "learning_rate_range": "learning-rate range"}


def _causes(step, findings) -> list:
    """The findings at initialization that can explain ``step``'s failure."""
    if step.name == "overfit_small_subset":
        if step.evidence.get("diverged"):
            return [f for f in findings if f.name in _DIVERGING]
        # that step trains with regularization and dropout off
        return [f for f in findings if f.name != "over_regularization"]
    return list(findings) if step.name == "learning_rate_range" else []


def _explain(steps, rate, configured) -> None:
    """Tie each failed training step to the findings at initialization that explain it (their
    numbers and fixes replace the step's own); a failed overfit without them is offered the
    range test's rate when it found one above the configured rate, and never a rate otherwise.
    """
    findings = next(s.findings for s in steps if s.name == DOCTOR)
    for step in steps:
        causes = _causes(step, findings) if step.passed is False else []
        if causes:
            step.reason = (f"the {_LABELS[step.name]} step failed: "
                           + "; ".join(map(_at_initialization, causes)))
            step.fixes = _merged(f.fixes for f in causes)
            step.evidence["explained_by"] = [f.name for f in causes]
        elif (step.name == "overfit_small_subset" and step.passed is False and rate is not None
              and rate > configured and not step.evidence.get("diverged")):
            step.fixes.append(Fix("learning_rate", float(f"{rate:.2g}"),
                                  "use the rate the range test found"))


def _at_initialization(finding) -> str:
    numbers = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in finding.evidence.items())
    return f"{finding.name.replace('_', ' ')} at initialization ({numbers})"


def _merged(fix_lists) -> list:
    """The fixes of several findings, each setting once (the first finding's value wins)."""
    seen, merged = set(), []
    for fixes in fix_lists:
        for fix in fixes:
            key = fix.setting or fix.text
            if key not in seen:
                seen.add(key)
                merged.append(fix)
    return merged
