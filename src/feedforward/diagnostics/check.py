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

import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import losses, optimizers
from ..callbacks import Callback
from ..errors import FeedforwardError, check_number
from ..fileio import atomic_write
from ..layers import Dropout
from ..model import Sequential
from ..training import Trainer
from .advice import Fix
from .doctor import examine
from .findings import Evidence
from .gradient_check import float64_copy, relative_error
from .monitor import Monitor
from .runinfo import RunInfo


@dataclass
class Step:
    """One step of the recipe: ``passed`` is True, False, or None when it does not apply.

    Parameters
    ----------
    name : str
        The step: ``"doctor_at_initialization"``, ``"gradient_check"``, ``"initial_loss"``,
        ``"overfit_small_subset"`` or ``"learning_rate_range"``.
    passed : bool or None
        The verdict; None when the step does not apply.
    summary : str
        One line of the numbers behind the verdict.
    evidence : dict
        Those numbers, by name.
    reason : str
        Why the step failed, in plain words (empty when it passed); for a failure that
        findings at initialization explain, those findings and their numbers.
    fixes : list of Fix
        What to do about the failure, each a setting and its value
        (:class:`~feedforward.diagnostics.advice.Fix`), the first to try first.
    findings : list of Finding
        The doctor's findings that the step reports (the step at initialization).
    """

    name: str
    passed: bool | None
    summary: str
    evidence: dict = field(default_factory=dict)
    reason: str = ""
    fixes: list = field(default_factory=list)
    findings: list = field(default_factory=list)

    @property
    def advice(self) -> str:
        """What to do about a failure, fixes as Python arguments (empty when it passed)."""
        return self.advise("python")

    def advise(self, surface="python") -> str:
        """The reason and the fixes (or the findings), in the terms of ``surface``.

        Parameters
        ----------
        surface : {"python", "cli"}
            Python arguments for the API, ``feedforward train`` flags for the command line.

        Returns
        -------
        str
            ``"<reason>: <fix>; <fix>"``, or one finding per line; empty when there is none.
        """
        if self.findings:
            return "\n".join(f.render(surface) for f in self.findings)
        fixes = "; ".join(fix.render(surface) for fix in self.fixes)
        return ": ".join(part for part in (self.reason, fixes) if part)

    def render(self, surface="python") -> str:
        """``[PASS|FAIL|SKIP] name: summary`` and the advice (:meth:`advise`) indented below.

        Parameters
        ----------
        surface : {"python", "cli"}

        Returns
        -------
        str
        """
        mark = {True: "PASS", False: "FAIL", None: "SKIP"}[self.passed]
        advice = self.advise(surface)
        return f"[{mark}] {self.name}: {self.summary}" + "".join(
            f"\n       {line}" for line in advice.splitlines())

    def __str__(self):
        return self.render("python")

    def to_dict(self, surface="python") -> dict:
        """The step as a JSON-safe dict.

        Parameters
        ----------
        surface : {"python", "cli"}
            The terms of ``advice``.

        Returns
        -------
        dict
            ``name``, ``passed``, ``summary``, ``evidence``, ``reason``, ``fixes`` (each as
            :meth:`Fix.to_dict`, with its flag and its Python form), ``findings`` (each as
            :meth:`Finding.to_dict`) and ``advice`` (:meth:`advise`).
        """
        return {"name": self.name, "passed": self.passed, "summary": self.summary,
                "evidence": self.evidence, "reason": self.reason,
                "fixes": [fix.to_dict() for fix in self.fixes],
                "findings": [f.to_dict() for f in self.findings],
                "advice": self.advise(surface)}


@dataclass
class Report:
    """The steps of :func:`check`; ``passed`` when none failed.

    ``report["initial_loss"]`` is the step of that name. ``str(report)`` gives the fixes as
    Python arguments; ``report.render("cli")`` as ``feedforward train`` flags.

    Parameters
    ----------
    steps : list of Step
        The steps, in the order they ran.
    recommended_learning_rate : float, optional
        A tenth of the rate at the lowest smoothed loss of the range test; None when no rate
        made the loss fall meaningfully below its start (see :func:`lr_range_step`).
    lr_curve : dict
        ``{"learning_rate": [...], "loss": [...]}``: the range test's rates and smoothed losses.
    """

    steps: list
    recommended_learning_rate: float | None = None
    lr_curve: dict = field(default_factory=dict)  # {"learning_rate": [...], "loss": [...]}

    @property
    def passed(self) -> bool:
        return all(s.passed is not False for s in self.steps)

    @property
    def findings(self) -> list:
        """The doctor's findings at initialization (list of Finding; empty when none)."""
        return [f for s in self.steps if s.name == DOCTOR for f in s.findings]

    def __getitem__(self, name) -> Step:
        return next(s for s in self.steps if s.name == name)

    def render(self, surface="python") -> str:
        """Each step (:meth:`Step.render`) on its lines, fixes in the terms of ``surface``.

        Parameters
        ----------
        surface : {"python", "cli"}

        Returns
        -------
        str
        """
        return "\n".join(s.render(surface) for s in self.steps)

    def __str__(self):
        return self.render("python")

    def to_dict(self, surface="python") -> dict:
        """The report as a JSON-safe dict.

        Parameters
        ----------
        surface : {"python", "cli"}
            The terms of each step's ``advice``.

        Returns
        -------
        dict
            ``passed``, ``recommended_learning_rate`` (None when no rate worked), ``findings``
            (those at initialization, each as :meth:`Finding.to_dict`), ``steps`` (each as
            :meth:`Step.to_dict`) and ``lr_curve``.
        """
        return {"passed": self.passed, "recommended_learning_rate": self.recommended_learning_rate,
                "findings": [f.to_dict() for f in self.findings],
                "steps": [s.to_dict(surface) for s in self.steps], "lr_curve": self.lr_curve}


@dataclass(frozen=True)
class CheckFix(Fix):
    """A fix that is an option of :func:`check` itself (``lr_steps``, ``max_steps``), not of
    the run: ``lr_steps=2000`` in Python, ``--lr-steps 2000`` on ``feedforward check``.

    Parameters
    ----------
    setting : str
        The argument of :func:`check`, e.g. ``"lr_steps"``.
    value : int
        Its value.
    text : str
        The remedy in plain words.
    """

    def python(self) -> str:
        """The fix as an argument of :func:`check`, e.g. ``"lr_steps=2000"``.

        Returns
        -------
        str
        """
        return f"{self.setting}={self.value}"

    def flag(self) -> str:
        """The fix as a flag of ``feedforward check``, e.g. ``"--lr-steps 2000"``.

        Returns
        -------
        str
        """
        return f"--{self.setting.replace('_', '-')} {self.value}"


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
    for p in model.preprocessing:
        if not p.fitted:
            p.fit(x)
    return model.transform(x), model.prepare_y(y, x.shape[0])


# ---------------------------------------------------------------------------- the steps
DOCTOR = "doctor_at_initialization"
# what the doctor's rules can see before the first step (the curves come with training)
CHECKED = ("gradient flow", "dead and saturated units", "weight symmetry", "input scale",
           "regularization", "output range")


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
    numeric = np.empty(len(idx))
    eps = 1e-6
    for j, i in enumerate(idx):
        old = clone.params[i]
        clone.params[i] = old + eps
        plus = clone.loss_value(x, y)
        clone.params[i] = old - eps
        minus = clone.loss_value(x, y)
        clone.params[i] = old
        numeric[j] = (plus - minus) / (2 * eps)
    error = relative_error(analytic[idx], numeric)
    passed = error < 1e-4
    return Step("gradient_check", passed,
                f"relative error {error:.2e} over {len(idx)} parameters (float64, "
                f"{len(x)} samples)", {"relative_error": error, "parameters": len(idx)},
                "" if passed else "backpropagation disagrees with numerical differentiation: "
                "a custom layer, activation or loss has a wrong derivative")


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
    k = model.output_shape[0]
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


def lr_range_step(model, x, y, batch_size=32, steps=200, low=1e-6, high=10.0, callbacks=None):
    """Train with the rate growing exponentially from ``low`` to ``high``.

    The training is the engine's (:class:`~feedforward.training.Trainer`, the model's step with
    its constraints); a callback raises the rate after each step. The loss is smoothed
    (exponential moving average, weight 0.1, debiased as in fastai); the test stops early once
    it exceeds 4 times its lowest value, or at a non-finite loss. ``model`` is trained in
    place and its optimizer's rate replaced: pass a fresh one.

    A rate *worked* when the lowest smoothed loss (after the first :data:`_WARMUP` steps, whose
    average is over too few batches) fell meaningfully below the start: below 90 % of the
    untrained loss and by more than :data:`_NOISE_SIGMAS` times the smoothed loss's noise
    (both measured on the untrained model over the test's first batches). When none worked,
    no rate is recommended: a tenth of the rate at a flat or noisy minimum would be a guess.

    Parameters
    ----------
    model : Sequential
        A compiled, built model.
    x : array of shape (n, features)
        Inputs as the first layer sees them (preprocessed).
    y : ndarray
        Targets as the loss sees them (prepared by it), e.g. of shape (n, outputs).
    batch_size : int
        Rows per step, drawn in a fixed random order (default 32): each pass over that order
        is an epoch, and the next one starts where the last batch ended.
    steps : int
        The most steps (default 200).
    low, high : float
        The rates of the first and of the last step (defaults 1e-6 and 10).
    callbacks : list of Callback, optional
        More callbacks for the training, as in ``fit``.

    Returns
    -------
    step : Step
        ``"learning_rate_range"``; passes when a rate worked.
    rate : float or None
        The recommended rate, a tenth of the rate at the lowest smoothed loss; None when no
        rate worked.
    curve : dict
        ``{"learning_rate": [...], "loss": [...]}``, the rates and smoothed losses.
    """
    order = np.random.default_rng(0).permutation(x.shape[0])
    start, start_noise = _untrained_loss(model, x, y, batch_size, order)
    test = RangeTest(low, (high / low) ** (1 / (steps - 1)))
    _run_range_test(Trainer(model, x[order], y[order], batch_size=batch_size, shuffle=False,
                            callbacks=[test, *(callbacks or [])]), x, y, order, batch_size,
                    steps)
    rates, losses_, curve = test.rates, test.losses, test.curve
    if not curve:
        return Step("learning_rate_range", False, f"the loss was not finite even at rate {low:g}",
                    {"steps": 0}, "check the data for extreme values and the loss"), None, {}
    i = _WARMUP + int(np.argmin(curve[_WARMUP:])) if len(curve) > _WARMUP else 0
    lowest, at = curve[i], rates[i]
    # the batches that the minimum averages may be noisier than the untrained model's
    noise = max(start_noise, _smoothed_noise(losses_[max(0, i + 1 - 2 * _WARMUP):i + 1]))
    threshold = min(0.9 * start, start - _NOISE_SIGMAS * noise)
    worked = i >= _WARMUP and math.isfinite(start) and lowest < threshold
    evidence = {"recommended_learning_rate": at / 10 if worked else None,
                "start_loss": start, "noise": noise, "lowest_loss": lowest,
                "rate_at_min": at, "steps": len(rates)}
    curve_dict = {"learning_rate": rates, "loss": curve}
    if worked:
        return Step("learning_rate_range", True,
                    f"lowest smoothed loss {lowest:.3g} (from {start:.3g}) at rate {at:.2g}; "
                    f"recommended learning rate {at / 10:.2g}", evidence), at / 10, curve_dict
    longer = min(10 * steps, MAX_STEPS)
    return Step("learning_rate_range", False,
                f"no rate made the loss fall: the smoothed loss stayed near its start "
                f"{start:.3g} (lowest {lowest:.3g} at rate {at:.2g}, noise {noise:.2g}) over "
                f"{len(rates)} steps; no learning rate is recommended", evidence,
                "no rate lowered the loss within the test, which may be too short for data "
                "this hard: keep the configured rate; if a longer test finds none either, "
                "check the data, the labels and the loss",
                [CheckFix("lr_steps", longer, "run a longer test")]
                ), None, curve_dict


_WARMUP = 10  # steps before the smoothed loss averages enough batches to mean anything
_NOISE_SIGMAS = 4  # a fall smaller than this many standard deviations may be noise
_NOISE_BATCHES = 32  # batches of the untrained model that measure the start and its noise


def _smoothed_noise(batch_losses):
    """The standard deviation that batch-to-batch noise of these losses leaves in their
    smoothed (weight 0.1) average."""
    return float(np.std(batch_losses) * math.sqrt(0.1 / 1.9))


def _untrained_loss(model, x, y, batch_size, order):
    """The untrained model's mean batch loss over the test's first batches, and its smoothed
    noise."""
    n = min(_NOISE_BATCHES, max(1, len(order) // batch_size))
    values = [model.loss_value(x[rows], y[rows], training=True)
              for rows in (order[t * batch_size:][:batch_size] for t in range(n))]
    if not np.isfinite(values).all():
        return math.inf, 0.0
    return float(np.mean(values)), _smoothed_noise(values)


class RangeTest(Callback):
    """The learning-rate range test as a callback: the rate grows by ``growth`` each step.

    Records each step's rate, batch loss and smoothed loss (weight 0.1, debiased as in
    fastai), and ends the training once the smoothed loss exceeds 4 times its lowest value
    after the first :data:`_WARMUP` steps. A non-finite loss ends it quietly: that step is
    not recorded.

    Parameters
    ----------
    low : float
        The rate of the first step.
    growth : float
        The factor between the rates of consecutive steps.

    Attributes
    ----------
    rates, losses, curve : list of float
        Per step: the rate, the batch's loss (with penalties, before the update) and the
        smoothed loss.
    """

    handles_divergence = True  # a non-finite loss ends the test; it is no error

    def __init__(self, low, growth):
        self.low, self.growth = low, growth
        self.rates, self.losses, self.curve = [], [], []
        self._average, self._lowest = 0.0, math.inf

    def on_train_begin(self, logs=None):
        self.model.optimizer.learning_rate = self.low

    def on_batch_end(self, batch, logs=None):
        loss = self.trainer.batch_loss
        if not math.isfinite(loss):
            return  # the engine stops the training
        t = len(self.rates)
        optimizer = self.model.optimizer
        self.rates.append(optimizer.lr)
        self.losses.append(loss)
        self._average = 0.9 * self._average + 0.1 * loss
        self.curve.append(self._average / (1 - 0.9 ** (t + 1)))  # fastai's debiased smoothing
        self._lowest = min(self._lowest, self.curve[-1])
        if self.curve[-1] > 4 * self._lowest and t > _WARMUP:
            self.trainer.stop_training = True
        optimizer.learning_rate = self.low * self.growth ** (t + 1)  # the next step's


def _run_range_test(trainer, x, y, order, batch_size, steps):
    """``steps`` steps of ``trainer`` (made on ``x[order]``), unless its callbacks stop it
    sooner. An epoch that ends with a short batch is followed by one on the rows of ``order``
    from where the next batch of the same size would have started (its remainder: the
    batches go on over the order as if it repeated)."""
    n = len(order)
    while trainer.step < steps and not trainer.finished:
        trainer.run(steps=steps - trainer.step, epochs=1)
        if trainer.step < steps and not trainer.finished:
            rows = order[(trainer.step * batch_size) % n:]
            trainer.set_data(x[rows], y[rows])
    trainer.end()


MAX_STEPS = 100_000
"""The most steps (and subset samples) :func:`check` takes: a sanity check, not a training run."""


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
        _image_format(plot)
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


def plot_lr_curve(report: Report, path) -> bool:
    """Save the range test's loss against rate (log scale); False without matplotlib.

    Parameters
    ----------
    report : Report
        A report of :func:`check`.
    path : str or Path
        The image file to write; its extension gives the format.

    Returns
    -------
    bool
        True when the plot was saved, False when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(report.lr_curve.get("learning_rate", []), report.lr_curve.get("loss", []))
    if report.recommended_learning_rate is not None:
        ax.axvline(report.recommended_learning_rate, ls="--", c="gray", label="recommended")
        ax.legend()
    ax.set(xscale="log", xlabel="learning rate", ylabel="smoothed loss",
           title="learning-rate range test" + ("" if report.recommended_learning_rate
                                                else ": no rate recommended"))
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=_image_format(path))
    plt.close(fig)
    atomic_write(path, buffer.getvalue(), label="plot")
    return True


def _image_format(path) -> str:
    """The image format that ``path``'s extension names; refused when matplotlib has none."""
    kind = Path(path).suffix.lower().lstrip(".")
    known = ("png", "svg", "pdf", "jpg", "jpeg", "eps", "ps", "tif", "tiff", "webp")
    if kind not in known:
        raise FeedforwardError(f"plot: expected an image file ending in .{', .'.join(known)}; "
                               f"got {str(path)!r}")
    return kind
