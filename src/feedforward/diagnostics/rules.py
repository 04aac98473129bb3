"""The doctor's rules: each reads the :class:`Evidence` of a run and returns a :class:`Finding`
with causes and fixes fitted to the run, or None.

This module holds the rules that read the network's state (gradients, units, weights,
inputs, the output's range and the regularization); :mod:`.progress` those that read the
course of training; :data:`RULES` lists them all, root causes first, and :data:`EXPLAINS`
the symptoms each root cause explains.

The thresholds were set on the labelled scenarios of ``benchmarks/doctor_scenarios.py``
(faults of every kind at two or more severities, and healthy runs that must raise nothing);
the benchmark's measured table is in ``docs/doctor.md``.
"""

from __future__ import annotations

import math

import numpy as np

from .advice import Fix
from .findings import Evidence, Finding
from .progress import (
    class_imbalance,
    learning_rate_too_high,
    learning_rate_too_low,
    not_learning,
    overfitting,
    underfitting,
)
from .signals import (
    deep_narrow,
    few_steps,
    fewer_wider,
    initial,
    large_inputs,
    lower_rate,
    poor,
    rate_large,
    rule,
    steps_large,
)

__all__ = ["EXPLAINS", "RULES", "class_imbalance", "dead_relus", "deep_narrow_network",
           "exploding_gradients",
           "learning_rate_too_high", "learning_rate_too_low", "not_learning", "output_mismatch",
           "over_regularization", "overfitting", "saturation", "symmetric_initialization",
           "underfitting", "unscaled_inputs", "unscaled_targets", "vanishing_gradients"]


# ---------------------------------------------------------------------------- the network
def _stalled(records) -> bool:
    """Whether the probe's loss fell by under 20 % since the record before the last."""
    losses = [r.get("loss") for r in records[-2:]]
    return len(losses) == 2 and None not in losses and losses[1] > 0.8 * losses[0]


def _shrunk(ev) -> float | None:
    """The median ratio of a layer's weight norm now to its norm at initialization, when
    every layer's weights have shrunk under half of it and most under a third (a penalty's
    work: a fit that fails on its own leaves the weights near their start); else None."""
    start = next((r for r in ev.records if r["epoch"] < 0), None)
    last = ev.last
    if start is None or last is None or last is start:
        return None
    before = {e["index"]: e.get("weight_norm") for e in start["layers"]}
    ratios = [e["weight_norm"] / before[e["index"]] for e in last["layers"]
              if e.get("weight_norm") is not None and before.get(e["index"])]
    if not ratios or max(ratios) >= 0.5 or float(np.median(ratios)) >= 1 / 3:
        return None
    return float(np.median(ratios))


def _climbing(records) -> bool:
    """Whether the probe's loss has had no new best over the last 5 records since training
    began and the median of the last 3 sits 15 % and 2.5 times the mean change between
    records above that best: the fit is being undone, not slowly made (a noisy regression
    that still improves swings by 10 % from one record to the next)."""
    losses = [r.get("loss") for r in records if r["epoch"] >= 0]
    if len(losses) < 6 or None in losses:
        return False
    best = min(losses[:-5])
    rise = float(np.median(losses[-3:])) - best
    noise = float(np.mean(np.abs(np.diff(losses[-10:]))))
    return min(losses[-5:]) >= best and rise >= 0.15 * best and rise >= 2.5 * noise


def _he(ev) -> str:
    return "he_uniform" if ev.run.relu_like or not ev.run.saturating else "glorot_uniform"


def _grad_ratio(record) -> float | None:
    norms = [e["grad_norm"] for e in record["layers"] if e.get("grad_norm") is not None]
    if len(norms) < 3 or not norms[-1] > 0 or not all(map(math.isfinite, norms)):
        return None
    return norms[0] / norms[-1]


@rule
def vanishing_gradients(ev: Evidence):
    """Vanishing gradients: the first layer's gradient norm below 1 % of the last layer's, or
    below 5 % of it in a network of saturating layers (sigmoid, tanh) whose loss is still
    above half the chance loss.

    The median ratio over the recent records (the record at initialization included), with
    3 or more layers with parameters. The weaker evidence needs the activations that shrink
    the gradient at every layer and a fit that is still poor: healthy deep networks were
    measured down to 13 %, failing sigmoid ones up to 2.5 %.
    """
    ratios = [r for r in map(_grad_ratio, ev.recent) if r is not None]
    weak = ev.run.saturating and poor(ev)
    if not ratios or np.median(ratios) >= (5e-2 if weak else 1e-2):
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
    elif deep_narrow(run):
        cause = (f"the gradient shrinks on its way back through {depth} layers of as few as "
                 f"{min(run.units)} units: each narrow layer passes on only a few directions "
                 "of its input, and silent units pass nothing")
        fixes = [fewer_wider(run)]
    elif str(run.initializer).startswith("he_"):  # the initialization already suits ReLUs
        cause = (f"the gradient shrinks on its way back through {depth} layers, with He "
                 "initialization already in use: the depth itself is the likely cause")
        fixes = [fewer]
    else:
        cause = (f"the gradient shrinks on its way back through {depth} layers: the initial "
                 "weights are too small for the depth")
        fixes = [Fix("initializer", "he_uniform", "use He initialization"), fewer]
    return Finding("vanishing_gradients", evidence, cause, fixes)


def _forward_growth(record) -> float:
    """How many times the last hidden layer's outputs spread wider than the first's (3 or
    more hidden layers; 0 when fewer): at initialization, from weights too large for the
    depth. Measured 62 to 1400 for such networks and at most 1.4 otherwise."""
    hidden = [e["act_std"] for e in record["layers"][:-1] if e.get("act_std") is not None]
    if len(hidden) < 3 or not hidden[0] > 0 or not math.isfinite(hidden[-1]):
        return 0.0
    return hidden[-1] / hidden[0]


def _too_large_initially(ev) -> Finding | None:
    growth = _forward_growth(ev.records[0]) if ev.records else 0.0
    if growth < 10 or ev.records[0]["epoch"] >= 0:
        return None
    return Finding(
        "exploding_gradients", {"activation_growth_at_initialization": growth},
        f"the outputs of the hidden layers grow {growth:.0f}-fold from the first to the last "
        "before any step: the initial weights are too large for the depth, so activations "
        "and gradients explode",
        [Fix("initializer", _he(ev), "use an initialization scaled to the layer's size"),
         Fix("clipnorm", 1.0, "clip each gradient's norm")])


@rule
def exploding_gradients(ev: Evidence):
    """Exploding gradients: a non-finite loss, the loss ending above 3 times its first value,
    the probe's loss 10 times above its value at initialization and the chance loss, or, at
    initialization, the hidden layers' outputs spreading 10 times wider from the first to the
    last."""
    curve = ev.history.get("loss", [])
    bad = [i for i, v in enumerate(curve) if not math.isfinite(v)]
    finite = ev.losses
    probe = [r.get("loss") for r in ev.records]
    grown = (len(finite) >= 2 and finite[-1] > 3 * finite[0]
             or len(probe) >= 2 and None not in probe[-1:] and probe[0] is not None
             and probe[-1] > 10 * max(probe[0], ev.run.chance_loss or 0.0))
    if not bad and not grown:
        return _too_large_initially(ev)
    evidence = {"non_finite_at_epoch": bad[0] + 1} if bad else {}
    if finite:  # JSON has no NaN: only finite numbers are evidence
        evidence.update(first_loss=finite[0], last_finite_loss=finite[-1])
    fixes = [lower_rate(ev), Fix("clipnorm", 1.0, "clip each gradient's norm")]
    if not ev.run.scaled and large_inputs(ev):
        fixes.insert(0, Fix("scaling", "standard", "scale the inputs"))
    return Finding(
        "exploding_gradients", evidence,
        f"the updates grow until the loss diverges: the learning rate "
        f"({ev.run.learning_rate:g}) is too large for the curvature of the loss", fixes)


@rule
def dead_relus(ev: Evidence):
    """Dead ReLUs: half of a hidden ReLU layer's units dead since initialization, or three
    quarters killed by training, never active on the probe batch, while the loss is still
    above half the chance loss."""
    worst = max(ev.hidden("dead_fraction"), key=lambda p: p[1], default=None)
    first = initial(ev)
    start = {e["index"]: e.get("dead_fraction") or 0.0 for e in first["layers"]} if first else {}
    # dead from the start (a cause before training), or mostly killed by training
    if worst is None or worst[1] < (0.5 if start.get(worst[0], 0) >= 0.5 else 0.75) \
            or not poor(ev):
        return None
    fixes = [Fix("activation", "leaky_relu", "use leaky ReLU, which never dies")]
    run = ev.run
    cause = ("ReLU units whose input is negative for every sample output 0 and get no "
             "gradient, so they never recover")
    trained = ev.records[-1]["epoch"] >= 0
    if trained and (rate_large(run) or any(steps_large(r, initial(ev)) for r in ev.records)):
        fixes.insert(0, lower_rate(ev))
        cause += f": the steps at learning rate {run.learning_rate:g} pushed them there"
    elif deep_narrow(run):
        cause += (f": in {len(run.units)} layers of as few as {min(run.units)} units the "
                  "signal reaching a layer spans few directions, so a unit is easily silent "
                  "on every sample")
        fixes.insert(0, fewer_wider(run))
    else:
        cause += " (a negative bias or initialization put them there)"
    return Finding("dead_relus", {"layer": worst[0], "dead_fraction": worst[1]}, cause, fixes)


@rule
def deep_narrow_network(ev: Evidence):
    """A deep, narrow ReLU network that fits poorly: 6 or more hidden layers of the ReLU
    family, the narrowest of 12 units or fewer (:func:`~.signals.deep_narrow`), with the loss
    still above 30 % of chance after 3 epochs and 300 optimizer steps, whether or not it still
    falls slowly."""
    run = ev.run
    if not deep_narrow(run) or ev.epochs < 3 or few_steps(ev) or not poor(ev, 0.3):
        return None
    evidence = {"hidden_layers": len(run.units), "narrowest_layer": min(run.units),
                "loss_level": ev.level()}
    if ev.accuracy() is not None:
        evidence["accuracy"] = ev.accuracy()
    return Finding(
        "deep_narrow_network", {k: v for k, v in evidence.items() if v is not None},
        f"{len(run.units)} hidden layers of as few as {min(run.units)} units: each narrow "
        "layer passes on only a few directions of its input and many of its units are silent, "
        "so the signal and its gradient fade through the stack and the fit stays poor",
        [fewer_wider(run)])


@rule
def saturation(ev: Evidence):
    """Saturation: 60 % of a hidden sigmoid / tanh layer's outputs saturated, while the loss is
    still above a fifth of the chance loss (a network that fits its data may saturate). A
    bottleneck of 1 or 2 units is left out: it must use its whole range to encode the data."""
    wide = {e["index"] for e in (ev.last or {}).get("layers", []) if e["units"] > 2}
    worst = max([p for p in ev.hidden("saturated_fraction") if p[0] in wide],
                key=lambda p: p[1], default=None)
    if worst is None or worst[1] < 0.6 or not poor(ev, 0.2):
        return None
    fixes = []
    if not ev.run.scaled and large_inputs(ev):
        fixes.append(Fix("scaling", "standard", "scale the inputs"))
    fixes += [Fix("initializer", "glorot_uniform", "use smaller initial weights (Glorot)"),
              Fix("activation", "relu", "use ReLU, which does not saturate for z > 0")]
    return Finding(
        "saturation", {"layer": worst[0], "saturated_fraction": worst[1]},
        "sigmoid / tanh units sit on their flat tails, where the derivative is near zero, "
        "so little gradient passes through them", fixes)


@rule
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


@rule
def unscaled_inputs(ev: Evidence):
    """Unscaled inputs: a feature, as the first layer sees it, with mean or std above 10.

    The mean is taken in absolute value.
    """
    if not large_inputs(ev):
        return None
    mean = float(np.max(np.abs(ev.inputs["mean"])))
    std = float(np.max(ev.inputs["std"]))
    return Finding(
        "unscaled_inputs", {"max_abs_feature_mean": mean, "max_feature_std": std},
        "the features reach the first layer with large values, which saturates units and "
        "makes the loss steep in some directions",
        [Fix("scaling", "standard", "scale the inputs to zero mean and unit variance")])


@rule
def over_regularization(ev: Evidence):
    """Over-strong regularization: an L1 / L2 penalty that would reach the chance loss at
    weights of Glorot's scale (:attr:`RunInfo.reference_penalty`), in a classification 10
    times over or with the loss still above a fifth of chance after an epoch, in a regression
    with the loss still above half of it after 3 epochs and no longer falling fast; or a
    max-norm that held most units at its cap at some epoch while it is above half of it; or
    dropout of 0.5 or more while it is above 70 % of it."""
    run = ev.run
    last = ev.last
    if last is None:
        return None
    chance = run.chance_loss
    # ten times the whole data loss at ordinary weights: the penalty will win, fit or not yet
    strength = run.reference_penalty / chance if chance else 0.0
    # (a regression's small targets need small weights: there the prior alone proves nothing)
    # and before the first epoch every fit is poor: the weaker prior waits for one (three,
    # and half the chance loss, for a regression, whose fit starts from further away)
    # a loss still falling fast is being fitted, whatever the prior says (a default L2 beside
    # the tiny entropy of imbalanced classes, or a noisy regression, looked 2-3 times over)
    if run.task == "classification":
        named = strength >= 10 or (strength >= 1 and last["epoch"] >= 0 and poor(ev, 0.2)
                                   and _stalled(ev.records))
    else:  # a regression may start far from small targets: wait until its fit stalls, and
        # under a weaker prior until its data loss climbs back, as the penalty wins
        held = _stalled(ev.records) if strength >= 10 else _climbing(ev.records)
        named = strength >= 1 and ev.epochs >= 3 and poor(ev) and held
    # a penalty of a quarter of chance or more (at ordinary weights) that shrank a hidden
    # network's weights while the loss stayed at chance; a weaker one also shrinks weights
    # whose gradient vanished, and a linear model's on data it cannot fit: not the cause
    shrunk = (_shrunk(ev) if strength >= 0.25 and run.hidden and ev.epochs >= 3
              and poor(ev, 0.9) else None)
    if named or shrunk is not None:
        key = "l1" if run.l1 >= run.l2 and run.l1 > 0 else "l2"
        value = getattr(run, key)
        lower = float(f"{value / (100 if named else 10):.1g}")
        why = ("would outweigh the whole data loss even at ordinary weights" if named else
               f"has shrunk the weights to {shrunk:.0%} of their starting size while the loss "
               "stays at that of a constant guess")
        return Finding(
            "over_regularization", {"penalty_at_glorot_scale": run.reference_penalty,
                                    "chance_loss": chance, key: value,
                                    **({} if shrunk is None else {"weight_shrink": shrunk})},
            f"the {key.upper()} penalty ({value:g}) {why}, so training shrinks the weights "
            "instead of fitting the data",
            [Fix(key, lower, f"lower {key.upper()} from {value:g} to {lower:g}")])
    # a cap that held nearly every unit after training began, while the fit is still poor
    capped = max((e["capped_fraction"] for r in ev.records if r["epoch"] >= 0
                  for e in r["layers"] if e.get("capped_fraction")), default=0.0)
    if run.max_norm and capped >= 0.9 and poor(ev):
        return Finding(
            "over_regularization", {"max_norm": run.max_norm, "capped_fraction": capped},
            f"the max-norm constraint ({run.max_norm:g}) holds most units' weights at its cap, "
            "too small for the network to fit the data",
            [Fix("max_norm", 3.0, "raise the max-norm to 3, or 0 to remove it")])
    if run.dropout >= 0.5 and ev.epochs >= 1 and poor(ev, 0.7):
        return Finding(
            "over_regularization", {"dropout": run.dropout, "loss_level": ev.level()},
            f"dropout drops {run.dropout:.0%} of the units at every step, too many for the "
            "network to fit the data",
            [Fix("dropout", 0.2, f"lower dropout from {run.dropout:g} to 0.2")])
    return None


@rule
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


# diabetes' targets times 1e3 (mean 1.5e5) cost a quarter to a half of the test R², plane's
# times 1e5 (std 4.9e4) all of it in 10 epochs; diabetes' times 100 (mean 1.5e4) trained as
# well as the raw ones in 30, where scaling them, the fix, does no harm
TARGET_SCALE = 1e4


@rule
def unscaled_targets(ev: Evidence):
    """Unscaled targets: a regression target column whose absolute mean or standard deviation
    is above :data:`TARGET_SCALE` (1e4).

    The network's output starts near 0 with a spread near 1, and the steps of an adaptive
    optimizer move each weight by about the learning rate whatever the loss's size, so the
    output takes very many steps to reach such values (a rate far above the usual one may
    get there, but scaling the targets makes the usual rates work).
    """
    run = ev.run
    scale = max(run.target_mean, run.target_std)
    if run.task != "regression" or not scale > TARGET_SCALE:
        return None
    factor = 10.0 ** math.floor(math.log10(scale))  # the targets end between 1 and 10
    return Finding(
        "unscaled_targets", {"max_abs_target_mean": run.target_mean,
                             "max_target_std": run.target_std},
        f"the regression targets are of the order of {scale:.2g}, while the network's output "
        "starts near 0 on a scale of 1: it needs very many steps, or an unusually large "
        "learning rate, to grow that large, and the rate that suits scaled targets fails",
        [Fix(None, None, f"scale the targets before training: divide them by {factor:g} (or "
                         "standardize them: subtract their mean, divide by their standard "
                         "deviation), then undo it on the predictions")])


# root causes first; the rules of the symptoms each explains are left out of a report


# ---------------------------------------------------------------------------- the report
RULES = [output_mismatch, unscaled_targets, unscaled_inputs, symmetric_initialization,
         exploding_gradients, over_regularization, learning_rate_too_high,
         deep_narrow_network, dead_relus,
         vanishing_gradients, saturation, learning_rate_too_low, overfitting, underfitting,
         class_imbalance, not_learning]


_SYMPTOMS = ("underfitting", "not_learning")


EXPLAINS = {
    "output_mismatch": ("learning_rate_too_low", *_SYMPTOMS),
    "unscaled_targets": ("exploding_gradients", "deep_narrow_network", "learning_rate_too_high",
                         "learning_rate_too_low", "dead_relus", "over_regularization",
                         *_SYMPTOMS),
    "unscaled_inputs": ("saturation", "deep_narrow_network", "dead_relus",
                        "learning_rate_too_high", *_SYMPTOMS),
    "symmetric_initialization": ("vanishing_gradients", "deep_narrow_network", "dead_relus",
                                 "saturation", "learning_rate_too_low", *_SYMPTOMS),
    "exploding_gradients": ("learning_rate_too_high", "deep_narrow_network", "dead_relus",
                            "vanishing_gradients", "saturation", *_SYMPTOMS),
    "over_regularization": ("vanishing_gradients", "deep_narrow_network", "dead_relus",
                            "saturation", "learning_rate_too_high", "learning_rate_too_low",
                            *_SYMPTOMS),
    "learning_rate_too_high": ("dead_relus", "deep_narrow_network", "vanishing_gradients",
                               "saturation", "overfitting", *_SYMPTOMS),
    "deep_narrow_network": ("dead_relus", "vanishing_gradients", "learning_rate_too_low",
                            *_SYMPTOMS),
    "dead_relus": ("vanishing_gradients", "learning_rate_too_low", *_SYMPTOMS),
    "vanishing_gradients": ("learning_rate_too_low", *_SYMPTOMS),
    "saturation": ("learning_rate_too_low", *_SYMPTOMS),
    "learning_rate_too_low": _SYMPTOMS,
    "underfitting": ("not_learning",),
    "class_imbalance": ("not_learning",),
}
