"""The training doctor: rules over a :class:`Monitor`'s records and the loss curves.

Each rule returns a :class:`Finding` (a name, the numbers it rests on, a plain-language cause
and fixes in terms of the library's options) or None. :func:`diagnose` runs them all; the
:class:`Doctor` callback runs them while training and prints what is new.

The thresholds are deliberately loose, so that healthy runs raise nothing:

- vanishing gradients: the first layer's gradient norm below 1e-3 of the last layer's;
- exploding gradients: a non-finite loss, or the loss ending above 3 times its first value;
- dead ReLUs: at least half of a hidden layer's units never active on the probe batch;
- saturation: at least 75 % of a hidden sigmoid / tanh layer's outputs saturated;
- learning rate too high: the loss rose in at least 40 % of the epochs and ends 50 % above
  its best;
- learning rate too low: every layer's updates below 1e-5 of its weights and the loss down
  by under 10 %;
- symmetric initialization: a hidden layer whose units all have the same weights;
- overfitting: the validation loss, 3 or more epochs after its minimum, ends 20 % above it
  (and 10 % of its descent) while the training loss kept falling;
- underfitting: the training loss flat over the last quarter of the epochs while the
  training accuracy stays below 80 % (or the loss above half its first value);
- unscaled inputs: a feature, as the first layer sees it, with mean or std above 10.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..callbacks import Callback
from .monitor import Monitor


@dataclass
class Finding:
    """One diagnosis: ``name``, ``evidence`` (numbers), ``cause`` and ``fixes``.

    Parameters
    ----------
    name : str
        The rule that fired, e.g. ``"dead_relus"``.
    evidence : dict
        The numbers the diagnosis rests on, by name (JSON-safe).
    cause : str
        The likely cause, in plain language.
    fixes : list of str
        Remedies in terms of the library's options.
    """

    name: str
    evidence: dict = field(default_factory=dict)
    cause: str = ""
    fixes: list = field(default_factory=list)

    def __str__(self):
        numbers = ", ".join(f"{k}={_fmt(v)}" for k, v in self.evidence.items())
        return (f"{self.name}: {self.cause} [{numbers}]\n"
                + "\n".join(f"  - {fix}" for fix in self.fixes))

    def to_dict(self) -> dict:
        """The finding as a JSON-safe dict.

        Returns
        -------
        dict
            ``name``, ``evidence``, ``cause`` and ``fixes``.
        """
        return {"name": self.name, "evidence": self.evidence, "cause": self.cause,
                "fixes": list(self.fixes)}


_RULE_SECTIONS = """
    Parameters
    ----------
    records : list of dict
        A :class:`Monitor`'s records (``Monitor.records``); may be empty.
    history : dict
        Per-epoch lists of the logged values, such as ``History.history``.
    inputs : dict
        ``{"mean": [...], "std": [...]}`` of the probe's features (``Monitor.inputs``); may
        be empty.

    Returns
    -------
    Finding or None
        The finding, or None when the rule does not fire.
    """


def _rule(func):
    """Give a rule the docstring sections that every rule shares (one text, not ten copies)."""
    func.__doc__ = func.__doc__.rstrip() + "\n" + _RULE_SECTIONS
    return func


def _fmt(v):
    return f"{v:.3g}" if isinstance(v, float) else str(v)


# ---------------------------------------------------------------------------- the rules
def _hidden(records, key):
    """``(index, value)`` of the last record's hidden-layer entries that carry ``key``."""
    if not records:
        return []
    return [(e["index"], e[key]) for e in records[-1]["layers"] if e.get(key) is not None]


RECENT = 10  # records the gradient rules look at: the state of training now, at a fixed cost


@_rule
def vanishing_gradients(records, history, inputs):
    """Vanishing gradients: the first layer's gradient norm below 1e-3 of the last layer's.

    The ratio is the median over the last 10 records, with 3 or more layers with parameters.
    """
    ratios = []
    for r in records[-RECENT:]:
        norms = [e["grad_norm"] for e in r["layers"] if "grad_norm" in e]
        if len(norms) >= 3 and norms[-1] > 0:
            ratios.append(norms[0] / norms[-1])
    if not ratios or np.median(ratios) >= 1e-3:
        return None
    return Finding(
        "vanishing_gradients", {"first_to_last_grad_norm": float(np.median(ratios)),
                                "layers": len(records[-1]["layers"])},
        "the gradient shrinks on its way back through the layers, so the first layers "
        "barely learn (saturating activations multiply it by f'(z) <= 0.25 per sigmoid layer)",
        ["use activation='relu' (or 'leaky_relu', 'elu') in the hidden layers",
         "use kernel_initializer='he_normal' for ReLU, 'glorot_uniform' for tanh",
         "use fewer layers"])


@_rule
def exploding_gradients(records, history, inputs):
    """Exploding gradients: a non-finite loss, or the loss ending above 3 times its first value.
    """
    losses = history.get("loss", [])
    if not losses:
        return None
    bad = [i for i, v in enumerate(losses) if not math.isfinite(v)]
    finite = [v for v in losses if math.isfinite(v)]
    if not bad and not (len(finite) >= 2 and finite[-1] > 3 * finite[0]):
        return None
    grads = [sum(e.get("grad_norm", 0) ** 2 for e in r["layers"]) ** 0.5
             for r in records[-RECENT:]]
    evidence = {"non_finite_at_epoch": bad[0] + 1} if bad else {}
    if finite:  # JSON has no NaN: only finite numbers are evidence
        evidence.update(first_loss=finite[0], last_finite_loss=finite[-1])
    if grads and all(map(math.isfinite, grads)):
        evidence["max_grad_norm"] = float(max(grads))
    return Finding(
        "exploding_gradients", evidence,
        "the updates grow until the loss diverges: the learning rate is too large for the "
        "curvature of the loss, or the inputs or initial weights are too large",
        ["lower learning_rate by a factor of 10", "set clipnorm=1.0 on the optimizer",
         "scale the inputs (preprocessing=ff.data.StandardScaler())",
         "use a smaller initialization (glorot_uniform / he_normal)"])


@_rule
def dead_relus(records, history, inputs):
    """Dead ReLUs: at least half of a hidden layer's units never active on the probe batch.
    """
    worst = max(_hidden(records, "dead_fraction"), key=lambda p: p[1], default=None)
    if worst is None or worst[1] < 0.5:
        return None
    return Finding(
        "dead_relus", {"layer": worst[0], "dead_fraction": worst[1]},
        "ReLU units whose input is negative for every sample output 0 and get no gradient, "
        "so they never recover (often after a too-large step or a negative bias)",
        ["lower learning_rate", "use activation='leaky_relu' or 'elu'",
         "use kernel_initializer='he_normal' and bias_initializer='zeros'"])


@_rule
def saturation(records, history, inputs):
    """Saturation: at least 75 % of a hidden sigmoid / tanh layer's outputs saturated.
    """
    worst = max(_hidden(records, "saturated_fraction"), key=lambda p: p[1], default=None)
    if worst is None or worst[1] < 0.75:
        return None
    return Finding(
        "saturation", {"layer": worst[0], "saturated_fraction": worst[1]},
        "sigmoid / tanh units sit on their flat tails, where the derivative is near zero, "
        "so little gradient passes through them",
        ["scale the inputs (preprocessing=ff.data.StandardScaler())",
         "use kernel_initializer='glorot_uniform' (smaller initial weights)",
         "use activation='relu'", "lower learning_rate"])


@_rule
def learning_rate_too_high(records, history, inputs):
    """Learning rate too high: the loss rose in 40 % of the epochs and ends 50 % above its best.

    Needs 5 or more epochs with a finite loss.
    """
    losses = [v for v in history.get("loss", []) if math.isfinite(v)]
    if len(losses) < 5:
        return None
    rises = float(np.mean(np.diff(losses) > 0))
    if rises < 0.4 or losses[-1] < 1.5 * min(losses):
        return None
    return Finding(
        "learning_rate_too_high", {"epochs_with_rising_loss": rises,
                                   "last_loss": losses[-1], "best_loss": min(losses)},
        "the loss oscillates or climbs: each step overshoots the minimum",
        ["lower learning_rate by a factor of 3 to 10 (feedforward check finds one)",
         "use a schedule (schedule='cosine' or ReduceLROnPlateau)", "use a larger batch_size"])


@_rule
def learning_rate_too_low(records, history, inputs):
    """Learning rate too low: updates below 1e-5 of the weights and the loss down under 10 %.

    The update ratios are those of the last 10 records; needs 3 or more finite epochs.
    """
    losses = [v for v in history.get("loss", []) if math.isfinite(v)]
    ratios = [e["update_ratio"] for r in records[-RECENT:] for e in r["layers"]
              if e.get("update_ratio") is not None]
    if len(losses) < 3 or not ratios:
        return None
    drop = 1 - losses[-1] / losses[0] if losses[0] > 0 else 0.0
    if max(ratios) >= 1e-5 or drop >= 0.1:
        return None
    return Finding(
        "learning_rate_too_low", {"max_update_ratio": float(max(ratios)),
                                  "loss_drop": float(drop)},
        "each step changes the weights by a tiny fraction, so the loss barely moves",
        ["raise learning_rate by a factor of 10 (feedforward check finds one)",
         "use optimizer='adam'"])


@_rule
def symmetric_initialization(records, history, inputs):
    """Symmetric initialization: a hidden layer whose units all have the same weights.
    """
    if not records:
        return None
    stuck = [e for e in records[-1]["layers"][:-1] if e.get("symmetric")]
    if not stuck:
        return None
    return Finding(
        "symmetric_initialization", {"layer": stuck[0]["index"],
                                     "identical_units": stuck[0]["units"]},
        "all units of a layer started with the same weights, so they get the same gradient "
        "and stay equal: the layer acts as a single unit",
        ["use a random kernel_initializer ('he_normal' for ReLU, 'glorot_uniform' otherwise)",
         "never initialize kernels with 'zeros', 'ones' or 'constant'"])


@_rule
def overfitting(records, history, inputs):
    """Overfitting: the validation loss rises after its minimum while the training loss falls.

    Fires when the minimum is 3 or more epochs back, the last validation loss is above it by
    at least 20 % of it and 10 % of the descent to it, and the training loss is lower than at
    the minimum. Needs 5 or more epochs of ``val_loss``.
    """
    val, train = history.get("val_loss", []), history.get("loss", [])
    if len(val) < 5 or len(train) != len(val):
        return None
    best = int(np.argmin(val))
    rise = val[-1] - val[best]
    # a rise that matters beside both the best value and the ground covered to reach it
    # (near-zero losses double on noise alone)
    if (len(val) - best <= 3 or rise < 0.2 * val[best] or rise < 0.1 * (val[0] - val[best])
            or train[-1] >= train[best]):
        return None
    return Finding(
        "overfitting", {"started_epoch": best + 1, "best_val_loss": float(val[best]),
                        "last_val_loss": float(val[-1]), "last_loss": float(train[-1])},
        f"after epoch {best + 1} the validation loss rises while the training loss keeps "
        "falling: the network memorises the training set",
        [f"stop at epoch {best + 1}: EarlyStopping(monitor='val_loss', "
         "restore_best_weights=True)",
         "add regularization: kernel_regularizer=L2(1e-4) or Dropout(0.2-0.5)",
         "use a smaller network or more training data (augmentation)"])


@_rule
def underfitting(records, history, inputs):
    """Underfitting: the training loss flat over the last quarter of the epochs at a poor value.

    Flat: down by under 2 % over that quarter. Poor: a training accuracy below 80 % or,
    without an accuracy metric, a loss above half its first value. Needs 8 or more epochs.
    """
    losses = [v for v in history.get("loss", []) if math.isfinite(v)]
    if len(losses) < 8 or losses[0] <= 0:
        return None
    tail = losses[-max(2, len(losses) // 4):]
    flat = (tail[0] - tail[-1]) / tail[0] < 0.02
    accuracy = history.get("accuracy")
    poor = accuracy[-1] < 0.8 if accuracy else losses[-1] > 0.5 * losses[0]
    if not (flat and poor):
        return None
    evidence = {"last_loss": losses[-1], "first_loss": losses[0]}
    if accuracy:
        evidence["accuracy"] = float(accuracy[-1])
    return Finding(
        "underfitting", evidence,
        "the training loss has stopped improving at a high value: the model is too simple "
        "for the data, or training cannot make progress",
        ["add units or hidden layers (layers=[128, 64])",
         "remove or lower regularization (l2, dropout)",
         "train longer or raise learning_rate"])


@_rule
def unscaled_inputs(records, history, inputs):
    """Unscaled inputs: a feature, as the first layer sees it, with mean or std above 10.

    The mean is taken in absolute value.
    """
    if not inputs:
        return None
    mean = float(np.max(np.abs(inputs["mean"])))
    std = float(np.max(inputs["std"]))
    if max(mean, std) <= 10:
        return None
    return Finding(
        "unscaled_inputs", {"max_abs_feature_mean": mean, "max_feature_std": std},
        "the features reach the first layer with large values, which saturates units and "
        "makes the loss steep in some directions",
        ["scale the inputs: Sequential(..., preprocessing=ff.data.StandardScaler()) "
         "(feedforward train --scaling standard)"])


RULES = [exploding_gradients, vanishing_gradients, dead_relus, saturation,
         learning_rate_too_high, learning_rate_too_low, symmetric_initialization, overfitting,
         underfitting, unscaled_inputs]


def diagnose(model, history, monitor=None, x=None) -> list:
    """Run every rule; returns the list of :class:`Finding`, in the order of :data:`RULES`.

    Parameters
    ----------
    model : Sequential
    history : History or dict
        ``fit``'s History (its ``monitor`` records are used when a :class:`Monitor` ran), or
        a dict of per-epoch lists such as ``history.history``.
    monitor : Monitor, optional
        The monitor that watched the run (default: the records found on ``history``).
    x : array of shape (n, features), optional
        Raw inputs; when given and no monitor ran, one record is measured on them now.

    Returns
    -------
    list of Finding
        The findings of the rules that fired; empty for a healthy run.
    """
    curves = history if isinstance(history, dict) else getattr(history, "history", {})
    if monitor is None:
        monitor = getattr(history, "monitor", None)
    if monitor is None and x is not None:
        monitor = Monitor(probe=x)
        monitor.measure(model, epoch=len(curves.get("loss", [])) - 1)
    records, inputs = ([], {}) if monitor is None else (monitor.records, monitor.inputs)
    findings = [rule(records, curves, inputs) for rule in RULES]
    return [f for f in findings if f is not None]


class Doctor(Callback):
    """Diagnose while training: prints each new finding once, and all of them at the end.

    Parameters
    ----------
    monitor : Monitor, optional
        A monitor that is also in ``fit``'s callbacks; by default the doctor runs its own.
    print_fn : callable
        Receives each new finding as text (``print`` by default).
    every, probe_size : int
        Epochs between records, and rows of the probe batch, of the doctor's own monitor.

    Attributes
    ----------
    findings : list of Finding
        Those of the last diagnosis (at the end of training).
    """

    def __init__(self, monitor=None, print_fn=print, every=1, probe_size=256):
        self.monitor = monitor
        self._own = monitor is None
        self.print_fn = print_fn
        self.every, self.probe_size = every, probe_size
        self.findings: list[Finding] = []

    def set_model(self, model):
        super().set_model(model)
        if self._own:
            self.monitor = Monitor(every=self.every, probe_size=self.probe_size)
            self.monitor.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        self._forward("set_params", params)

    def set_trainer(self, trainer):
        super().set_trainer(trainer)
        self._forward("set_trainer", trainer)

    def _forward(self, hook, *args):
        if self._own:
            getattr(self.monitor, hook)(*args)

    def on_train_begin(self, logs=None):
        self._forward("on_train_begin", logs)
        self._seen: set[str] = set()

    def on_epoch_begin(self, epoch, logs=None):
        self._forward("on_epoch_begin", epoch, logs)

    def on_batch_end(self, batch, logs=None):
        self._forward("on_batch_end", batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._forward("on_epoch_end", epoch, logs)
        for finding in self.diagnose():
            if finding.name not in self._seen:
                self._seen.add(finding.name)
                self.print_fn(f"doctor (epoch {epoch + 1}): {finding}")

    def on_train_end(self, logs=None):
        self._forward("on_train_end", logs)
        self.findings = self.diagnose()

    def diagnose(self, error=None) -> list:
        """Findings now; ``error`` (a Diverged exception) counts as a non-finite loss.

        Parameters
        ----------
        error : Exception, optional
            The error that ended training, if any.

        Returns
        -------
        list of Finding
            As :func:`diagnose` returns them, on the model's History and the monitor's records.
        """
        curves = {k: list(v) for k, v in self.model.history.history.items()}
        if error is not None:
            curves.setdefault("loss", []).append(float("nan"))
        return diagnose(self.model, curves, self.monitor)
