"""The doctor's rules: each reads the :class:`Evidence` of a run and returns a :class:`Finding`
with causes and fixes fitted to the run, or None.

The thresholds were set on the labelled scenarios of ``benchmarks/doctor_scenarios.py`` (faults
of every kind at two or more severities, and healthy runs that must raise nothing); the
benchmark's measured table is in ``docs/doctor.md``.
"""

from __future__ import annotations

import math

import numpy as np

from .advice import Fix
from .findings import Evidence, Finding

_SECTIONS = """
    Parameters
    ----------
    ev : Evidence
        The records, curves, inputs and run (:class:`Evidence`).

    Returns
    -------
    Finding or None
        The finding, or None when the rule does not fire.
    """


def _rule(func):
    """Give a rule the docstring sections that every rule shares (one text, not thirteen)."""
    func.__doc__ = func.__doc__.rstrip() + "\n" + _SECTIONS
    return func


def _rate(value) -> float:
    """A learning rate rounded to one significant digit (0.0031 -> 0.003)."""
    return float(f"{value:.1g}")


def _lower_rate(ev, factor=10) -> Fix:
    rate = _rate(ev.run.learning_rate / factor)
    return Fix("learning_rate", rate,
               f"lower the learning rate from {ev.run.learning_rate:g} to {rate:g}")


def _he(ev) -> str:
    return "he_uniform" if ev.run.relu_like or not ev.run.saturating else "glorot_uniform"


def _poor(ev, share=0.5) -> bool:
    """Whether the training loss is still above ``share`` of the chance loss (or the accuracy
    below 80 % when the chance loss is unknown)."""
    level = ev.level()
    if level is not None:
        return level > share
    acc = ev.accuracy()
    return acc is not None and acc < 0.8


def _grad_ratio(record) -> float | None:
    norms = [e["grad_norm"] for e in record["layers"] if e.get("grad_norm") is not None]
    if len(norms) < 3 or not norms[-1] > 0 or not all(map(math.isfinite, norms)):
        return None
    return norms[0] / norms[-1]


# ---------------------------------------------------------------------------- gradients
@_rule
def vanishing_gradients(ev: Evidence):
    """Vanishing gradients: the first layer's gradient norm below 1 % of the last layer's.

    The median ratio over the recent records (the record at initialization included), with
    3 or more layers with parameters.
    """
    ratios = [r for r in map(_grad_ratio, ev.recent) if r is not None]
    if not ratios or np.median(ratios) >= 1e-2:
        return None
    run = ev.run
    depth = len(run.hidden)
    evidence = {"first_to_last_grad_norm": float(np.median(ratios)), "hidden_layers": depth}
    fewer = Fix("layers", run.units[:max(2, depth // 2)], "use fewer hidden layers")
    if run.saturating:
        names = sorted({a for a in run.hidden if a in ("sigmoid", "tanh", "softsign")})
        cause = (f"the gradient shrinks on its way back through {depth} {'/'.join(names)} "
                 "layers (their derivative is at most 0.25 for sigmoid, 1 for tanh, and much "
                 "less off-centre), so the first layers barely learn")
        fixes = [Fix("activation", "relu", "use ReLU in the hidden layers"), fewer]
    else:
        cause = (f"the gradient shrinks on its way back through {depth} layers: the initial "
                 "weights are too small for the depth")
        fixes = [Fix("initializer", "he_uniform", "use He initialization"), fewer]
    return Finding("vanishing_gradients", evidence, cause, fixes)


@_rule
def exploding_gradients(ev: Evidence):
    """Exploding gradients: a non-finite loss, the loss ending above 3 times its first value,
    or the probe's loss 10 times above its value at initialization and the chance loss."""
    curve = ev.history.get("loss", [])
    bad = [i for i, v in enumerate(curve) if not math.isfinite(v)]
    finite = ev.losses
    probe = [r.get("loss") for r in ev.records]
    grown = (len(finite) >= 2 and finite[-1] > 3 * finite[0]
             or len(probe) >= 2 and None not in probe[-1:] and probe[0] is not None
             and probe[-1] > 10 * max(probe[0], ev.run.chance_loss or 0.0))
    if not bad and not grown:
        return None
    evidence = {"non_finite_at_epoch": bad[0] + 1} if bad else {}
    if finite:  # JSON has no NaN: only finite numbers are evidence
        evidence.update(first_loss=finite[0], last_finite_loss=finite[-1])
    fixes = [_lower_rate(ev), Fix("clipnorm", 1.0, "clip each gradient's norm")]
    if not ev.run.scaled and _large_inputs(ev):
        fixes.insert(0, Fix("scaling", "standard", "scale the inputs"))
    return Finding(
        "exploding_gradients", evidence,
        f"the updates grow until the loss diverges: the learning rate "
        f"({ev.run.learning_rate:g}) is too large for the curvature of the loss", fixes)


# ---------------------------------------------------------------------------- units
@_rule
def dead_relus(ev: Evidence):
    """Dead ReLUs: half of a hidden ReLU layer's units dead since initialization, or three
    quarters killed by training, never active on the probe batch, while the loss is still
    above half the chance loss."""
    worst = max(ev.hidden("dead_fraction"), key=lambda p: p[1], default=None)
    start = {e["index"]: e.get("dead_fraction") or 0.0 for e in ev.records[0]["layers"]} \
        if ev.records else {}
    # dead from the start (a cause before training), or mostly killed by training
    if worst is None or worst[1] < (0.5 if start.get(worst[0], 0) >= 0.5 else 0.75) \
            or not _poor(ev):
        return None
    fixes = [Fix("activation", "leaky_relu", "use leaky ReLU, which never dies")]
    run = ev.run
    cause = ("ReLU units whose input is negative for every sample output 0 and get no "
             "gradient, so they never recover")
    trained = ev.records[-1]["epoch"] >= 0
    if trained and (_rate_large(run) or any(_steps_large(r) for r in ev.records)):
        fixes.insert(0, _lower_rate(ev))
        cause += f": the steps at learning rate {run.learning_rate:g} pushed them there"
    else:
        cause += " (a negative bias or initialization put them there)"
    return Finding("dead_relus", {"layer": worst[0], "dead_fraction": worst[1]}, cause, fixes)


def _rate_large(run) -> bool:
    """A rate that overshoots on most problems: 1 for SGD, 0.05 for adaptive optimizers."""
    return run.learning_rate >= (0.05 if run.adaptive else 1.0)


@_rule
def saturation(ev: Evidence):
    """Saturation: 60 % of a hidden sigmoid / tanh layer's outputs saturated, while the loss is
    still above a fifth of the chance loss (a network that fits its data may saturate). A
    bottleneck of 1 or 2 units is left out: it must use its whole range to encode the data."""
    wide = {e["index"] for e in (ev.last or {}).get("layers", []) if e["units"] > 2}
    worst = max([p for p in ev.hidden("saturated_fraction") if p[0] in wide],
                key=lambda p: p[1], default=None)
    if worst is None or worst[1] < 0.6 or not _poor(ev, 0.2):
        return None
    fixes = []
    if not ev.run.scaled and _large_inputs(ev):
        fixes.append(Fix("scaling", "standard", "scale the inputs"))
    fixes += [Fix("initializer", "glorot_uniform", "use smaller initial weights (Glorot)"),
              Fix("activation", "relu", "use ReLU, which does not saturate for z > 0")]
    return Finding(
        "saturation", {"layer": worst[0], "saturated_fraction": worst[1]},
        "sigmoid / tanh units sit on their flat tails, where the derivative is near zero, "
        "so little gradient passes through them", fixes)


@_rule
def symmetric_initialization(ev: Evidence):
    """Symmetric initialization: a hidden layer whose units all have the same weights.
    """
    if not ev.records:
        return None
    stuck = [e for e in ev.records[-1]["layers"][:-1] if e.get("symmetric")]
    if not stuck:
        return None
    return Finding(
        "symmetric_initialization", {"layer": stuck[0]["index"],
                                     "identical_units": stuck[0]["units"]},
        "all units of a layer started with the same weights, so they get the same gradient "
        "and stay equal: the layer acts as a single unit",
        [Fix("initializer", _he(ev), "use a random initialization")])


# ---------------------------------------------------------------------------- rate
def _steps_large(record) -> bool:
    """Whether the record's last step moved the weights by more than 10 % (1e-3 is healthy)."""
    ratios = [e["update_ratio"] for e in record["layers"] if e.get("update_ratio") is not None]
    return bool(ratios) and float(np.median(ratios)) > 0.1


def _rising(losses, chance) -> dict:
    """Evidence that the loss climbs: it rose in 30 % of the epochs and ends 50 % above its
    best, or rose in half of them and ends 15 % above it; by 5 % of the chance loss at least
    (near-zero losses double on noise alone). Needs 5 epochs."""
    if len(losses) < 5:
        return {}
    rises, best = float(np.mean(np.diff(losses) > 0)), min(losses)
    up = losses[-1] >= 1.5 * best and rises >= 0.3 or losses[-1] >= 1.15 * best and rises >= 0.5
    if not up or losses[-1] - best < 0.05 * (chance or 0.0):
        return {}
    return {"epochs_with_rising_loss": rises, "last_loss": losses[-1], "best_loss": best}


def _overshoot(ev) -> dict:
    """Evidence that steps overshoot: the probe's loss after an epoch 1.5 times above both
    its loss at initialization and the chance loss (a constant guess did better), while the
    fit is still poor."""
    start = (ev.records[0].get("loss") if ev.records and ev.records[0]["epoch"] < 0 else None)
    floor = max(start or 0.0, ev.run.chance_loss or 0.0)
    # the probe's data loss: the logged loss carries the penalty, which regularization grows
    worst = max((r["loss"] for r in ev.records if r["epoch"] >= 0 and r.get("loss")),
                default=0.0)
    if not floor or worst < 1.5 * floor or not _poor(ev):
        return {}
    return {"worst_loss": worst, "loss_at_start": floor}


def _grown(ev) -> dict:
    """Evidence of steps too large for a rate known to be large: the weights' norm grew 2.5
    times in the first epoch."""
    first = [r for r in ev.records[:2] if r["epoch"] <= 0]
    if len(first) < 2 or first[0]["epoch"] != -1 or not _rate_large(ev.run):
        return {}
    norm = [math.sqrt(sum(e.get("weight_norm", 0.0) ** 2 for e in r["layers"])) for r in first]
    if not norm[0] > 0 or norm[1] < 2.5 * norm[0]:
        return {}
    return {"weight_norm_growth_in_epoch_1": norm[1] / norm[0]}


def _huge_steps(ev) -> dict:
    """Evidence from the last step: it moved the weights by over 10 % while the loss is
    still above 70 % of chance."""
    if ev.last is None or not _steps_large(ev.last) or not _poor(ev, 0.7):
        return {}
    ratios = [e["update_ratio"] for e in ev.last["layers"] if e.get("update_ratio") is not None]
    return {"median_update_ratio": float(np.median(ratios))}


@_rule
def learning_rate_too_high(ev: Evidence):
    """Learning rate too high: the loss climbs or swings, or the steps overshoot.

    Any of: the loss rose in 30 % of 5 or more epochs and ends 50 % above its best (or in
    half of them and 15 % above); an epoch's loss 1.5 times above the start and chance while
    the fit is poor; the median step moving the weights by 10 % while the loss is above 70 %
    of chance; the weights' norm growing 2.5 times in the first epoch at a large rate (1 for
    SGD, 0.05 for adaptive optimizers).
    """
    evidence = (_rising(ev.losses, ev.run.chance_loss) or _overshoot(ev) or _huge_steps(ev)
                or _grown(ev))
    if not evidence:
        return None
    return Finding(
        "learning_rate_too_high", {**evidence, "learning_rate": ev.run.learning_rate},
        f"each step at learning rate {ev.run.learning_rate:g} overshoots the minimum, so the "
        "loss oscillates or climbs",
        [_lower_rate(ev), Fix("schedule", "cosine", "decay the rate as training goes")])


@_rule
def learning_rate_too_low(ev: Evidence):
    """Learning rate too low: a rate of at most 1e-3 (SGD) or 1e-4 (adaptive optimizers) whose
    last step, after 3 or more epochs, moved the weights by under 5e-4 of their norm (median
    over layers; about 1e-3 is healthy) while the loss is still above half the chance loss
    (or, with the chance loss unknown, fell by under 10 %). Small steps at a larger rate come
    from small gradients, which other rules explain."""
    losses = ev.losses
    ratios = [e["update_ratio"] for e in (ev.last or {}).get("layers", [])
              if e.get("update_ratio") is not None]
    if len(losses) < 3 or not ratios or float(np.median(ratios)) >= 5e-4 \
            or ev.run.learning_rate > (1e-4 if ev.run.adaptive else 1e-3):
        return None
    drop = 1 - losses[-1] / losses[0] if losses[0] > 0 else 0.0
    if not (_poor(ev) if ev.level() is not None else drop < 0.1):
        return None
    rate = _rate(ev.run.learning_rate * 30)
    return Finding(
        "learning_rate_too_low", {"median_update_ratio": float(np.median(ratios)),
                                  "loss_drop": float(drop),
                                  "learning_rate": ev.run.learning_rate},
        "each step changes the weights by a tiny fraction, so the loss moves slowly",
        [Fix("learning_rate", rate,
             f"raise the learning rate from {ev.run.learning_rate:g} to {rate:g} "
             "(the sanity recipe's range test finds one)")])


# ---------------------------------------------------------------------------- fit
@_rule
def overfitting(ev: Evidence):
    """Overfitting: the validation loss rises after its minimum while the training loss falls.

    Fires when the minimum is 3 or more epochs back, the median of the last 3 validation
    losses is above it by at least 20 % of it, 10 % of the descent to it and 2.5 times the
    mean change from one epoch to the next, and the training loss is lower than at
    the minimum. Needs 5 or more epochs of ``val_loss``.
    """
    val, train = ev.history.get("val_loss", []), ev.history.get("loss", [])
    if len(val) < 5 or len(train) != len(val) or not all(map(math.isfinite, val)):
        return None
    best = int(np.argmin(val))
    rise = float(np.median(val[-3:])) - val[best]  # a rise that lasts, not one noisy epoch
    # a rise that matters beside both the best value and the ground covered to reach it
    # (near-zero losses double on noise alone)
    noise = float(np.mean(np.abs(np.diff(val))))  # a small validation set's epoch-to-epoch jitter
    if (len(val) - best <= 3 or rise < 0.2 * val[best] or rise < 0.1 * (val[0] - val[best])
            or rise < 2.5 * noise or train[-1] >= train[best]):
        return None
    run = ev.run
    fixes = [Fix("early_stopping", True, f"stop at epoch {best + 1}, the best")]
    if run.l2 < 1e-3:
        fixes.append(Fix("l2", 1e-3, "add an L2 penalty"))
    if run.dropout < 0.2:
        fixes.append(Fix("dropout", 0.3, "add dropout"))
    return Finding(
        "overfitting", {"started_epoch": best + 1, "best_val_loss": float(val[best]),
                        "last_val_loss": float(val[-1]), "last_loss": float(train[-1])},
        f"after epoch {best + 1} the validation loss rises while the training loss keeps "
        "falling: the network memorises the training set", fixes)


MIN_STEPS = 300  # optimizer steps before a run may be called stuck: slow starts are healthy


def _few_steps(ev) -> bool:
    """Whether fewer than :data:`MIN_STEPS` optimizer steps were taken (the monitor's count,
    else epochs times batches per epoch; False when unknown)."""
    if ev.last is not None and ev.last.get("step"):
        return ev.last["step"] < MIN_STEPS
    run = ev.run
    if not (run.samples and run.batch_size):
        return False
    return ev.epochs * -(-run.samples // run.batch_size) < MIN_STEPS


def _flat(losses, window) -> bool:
    """Whether the loss moved by under 1 % over its last ``window`` epochs (a loss that
    climbs is not flat: it is the learning rate's problem)."""
    tail = losses[-window:]
    return len(tail) >= 2 and tail[0] > 0 and abs(tail[0] - tail[-1]) / tail[0] < 0.01


@_rule
def underfitting(ev: Evidence):
    """Underfitting: the training loss flat over the last quarter of the epochs at a poor value.

    Flat: down by under 1 % over that quarter (5 epochs at least); for a network without
    hidden layers, also a loss still at 90 % of chance after 300 steps. Poor: a training accuracy
    below 80 % or, without an accuracy metric, a loss above half the chance loss (half its
    first value when that is unknown). Needs 8 or
    more epochs and 300 optimizer steps; 3 epochs for a network without hidden layers.
    """
    losses, run = ev.losses, ev.run
    linear = bool(ev.records) and not run.hidden  # no hidden layer: a linear model
    if len(losses) < (3 if linear else 8) or losses[0] <= 0 or _few_steps(ev) and not linear:
        return None
    accuracy, level = ev.accuracy(), ev.level()
    poor = (accuracy < 0.8 if accuracy is not None else level > 0.5 if level is not None
            else losses[-1] > 0.5 * losses[0])
    val = [v for v in ev.history.get("val_loss", []) if math.isfinite(v)]
    if val and val[-1] > 1.5 * losses[-1]:
        return None  # the training set is fitted better than new data: not too simple
    stuck = _flat(losses, max(5, len(losses) // 4)) or (
        linear and level is not None and level >= 0.9 and not _few_steps(ev))
    if not (stuck and poor):
        return None
    evidence = {"last_loss": losses[-1], "first_loss": losses[0]}
    if accuracy is not None:
        evidence["accuracy"] = accuracy
    wider = [min(2 * u, 1024) for u in run.units] or [64]
    fixes = [Fix("layers", wider, "use a larger network")]
    for key, off in (("l2", 0.0), ("l1", 0.0), ("dropout", 0.0)):
        if getattr(run, key) > 0:
            fixes.append(Fix(key, off, f"remove the {key.upper() if key != 'dropout' else key}"))
    return Finding(
        "underfitting", evidence,
        "the training loss has stopped improving at a high value: the model is too simple "
        "for the data, or training cannot make progress", fixes)


@_rule
def not_learning(ev: Evidence):
    """Not learning: after 3 or more epochs and 300 optimizer steps, the loss is still above
    the loss of the best constant prediction (chance), or above 90 % of it and flat over the
    last 3 epochs, with the accuracy (when logged) within 5 points of chance, or R² under
    0.05; a network with hidden layers (without, it is underfitting); no other rule names a
    cause."""
    level, losses = ev.level(), ev.losses
    if ev.epochs < 3 or level is None or level < 0.9 or _few_steps(ev) or not ev.run.hidden:
        return None  # a linear model's plateau is underfitting
    accuracy, chance = ev.accuracy(), ev.run.chance_accuracy
    r2 = ev.history.get("r2")
    if (level < 1 and not _flat(losses, 3)) or (accuracy is not None and chance is not None
                                                and accuracy > chance + 0.05) \
            or (r2 and r2[-1] > 0.05):
        return None
    evidence = {"epochs": ev.epochs, "loss": losses[-1] if losses else None,
                "chance_loss": ev.run.chance_loss}
    evidence = {k: v for k, v in evidence.items() if v is not None}
    fixes = [Fix("check", None, "first run the sanity recipe: it checks the gradients, "
                                "overfits 64 samples and finds a learning rate"),
             Fix("optimizer", "adam", "use Adam"),
             Fix("learning_rate", 0.001, "at learning rate 0.001")]
    return Finding(
        "not_learning", evidence,
        f"after {ev.epochs} epochs the loss is still that of a constant guess, and no "
        "rule found why: check that the targets match the inputs, then the learning rate",
        fixes)


# ---------------------------------------------------------------------------- setup
def _large_inputs(ev) -> bool:
    inputs = ev.inputs
    return bool(inputs) and max(float(np.max(np.abs(inputs["mean"]))),
                                float(np.max(inputs["std"]))) > 10


@_rule
def unscaled_inputs(ev: Evidence):
    """Unscaled inputs: a feature, as the first layer sees it, with mean or std above 10.

    The mean is taken in absolute value.
    """
    if not _large_inputs(ev):
        return None
    mean = float(np.max(np.abs(ev.inputs["mean"])))
    std = float(np.max(ev.inputs["std"]))
    return Finding(
        "unscaled_inputs", {"max_abs_feature_mean": mean, "max_feature_std": std},
        "the features reach the first layer with large values, which saturates units and "
        "makes the loss steep in some directions",
        [Fix("scaling", "standard", "scale the inputs to zero mean and unit variance")])


@_rule
def over_regularization(ev: Evidence):
    """Over-strong regularization: an L1 / L2 penalty that would reach the chance loss at
    weights of Glorot's scale (:attr:`RunInfo.reference_penalty`) while the loss is still above
    a fifth of the chance loss; or a max-norm that holds most units at its cap while it is
    above half of it; or dropout of 0.5 or more while it is above 70 % of it."""
    run = ev.run
    last = ev.last
    if last is None:
        return None
    chance = run.chance_loss
    if chance and run.reference_penalty >= chance and _poor(ev, 0.2):
        key = "l1" if run.l1 >= run.l2 and run.l1 > 0 else "l2"
        value = getattr(run, key)
        lower = float(f"{value / 100:.1g}")
        return Finding(
            "over_regularization", {"penalty_at_glorot_scale": run.reference_penalty,
                                    "chance_loss": chance, key: value},
            f"the {key.upper()} penalty ({value:g}) would outweigh the whole data loss even at "
            "ordinary weights, so training shrinks the weights instead of fitting the data",
            [Fix(key, lower, f"lower {key.upper()} from {value:g} to {lower:g}")])
    capped = [e["capped_fraction"] for e in last["layers"] if e.get("capped_fraction")]
    if run.max_norm and capped and max(capped) >= 0.9 and last["epoch"] >= 0 and _poor(ev):
        return Finding(
            "over_regularization", {"max_norm": run.max_norm,
                                    "capped_fraction": float(max(capped))},
            f"the max-norm constraint ({run.max_norm:g}) holds most units' weights at its cap, "
            "too small for the network to fit the data",
            [Fix("max_norm", 3.0, "raise the max-norm to 3, or 0 to remove it")])
    if run.dropout >= 0.5 and ev.epochs >= 1 and _poor(ev, 0.7):
        return Finding(
            "over_regularization", {"dropout": run.dropout, "loss_level": ev.level()},
            f"dropout drops {run.dropout:.0%} of the units at every step, too many for the "
            "network to fit the data",
            [Fix("dropout", 0.2, f"lower dropout from {run.dropout:g} to 0.2")])
    return None


@_rule
def output_mismatch(ev: Evidence):
    """Output mismatch: 5 % or more of the regression targets lie outside the values the
    output activation can reach (a ReLU output for negative targets, sigmoid beyond [0, 1])."""
    run = ev.run
    if run.task != "regression" or run.outside_output < 0.05:
        return None
    return Finding(
        "output_mismatch", {"output_activation": run.output_activation,
                            "targets_out_of_range": run.outside_output},
        f"the output activation {run.output_activation!r} cannot reach "
        f"{run.outside_output:.0%} of the targets, so their error can never fall",
        [Fix("output_activation", "linear", "use a linear output for regression")])


# root causes first; the rules of the symptoms each explains are left out of a report
RULES = [output_mismatch, unscaled_inputs, symmetric_initialization, exploding_gradients,
         over_regularization, learning_rate_too_high, dead_relus, vanishing_gradients,
         saturation, learning_rate_too_low, overfitting, underfitting, not_learning]
_SYMPTOMS = ("underfitting", "not_learning")
EXPLAINS = {
    "output_mismatch": ("learning_rate_too_low", *_SYMPTOMS),
    "unscaled_inputs": ("saturation", "dead_relus", "learning_rate_too_high", *_SYMPTOMS),
    "symmetric_initialization": ("vanishing_gradients", "dead_relus", "saturation",
                                 "learning_rate_too_low", *_SYMPTOMS),
    "exploding_gradients": ("learning_rate_too_high", "dead_relus", "vanishing_gradients",
                            "saturation", *_SYMPTOMS),
    "over_regularization": ("vanishing_gradients", "dead_relus", "saturation",
                            "learning_rate_too_high", "learning_rate_too_low", *_SYMPTOMS),
    "learning_rate_too_high": ("dead_relus", "vanishing_gradients", "saturation", "overfitting",
                               *_SYMPTOMS),
    "dead_relus": ("vanishing_gradients", "learning_rate_too_low", *_SYMPTOMS),
    "vanishing_gradients": ("learning_rate_too_low", *_SYMPTOMS),
    "saturation": ("learning_rate_too_low", *_SYMPTOMS),
    "learning_rate_too_low": _SYMPTOMS,
    "underfitting": ("not_learning",),
}
