"""The doctor's rules over the course of training: the learning rate too high or too low,
over- and underfitting, and a run that does not learn at all.
"""

from __future__ import annotations

import math

import numpy as np

from .advice import Fix
from .findings import Evidence, Finding
from .signals import (
    few_steps,
    flat,
    initial,
    lower_rate,
    poor,
    rate_large,
    rounded_rate,
    rule,
    step_ratios,
    steps_large,
)


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
    if not floor or worst < 1.5 * floor or not poor(ev):
        return {}
    return {"worst_loss": worst, "loss_at_start": floor}


def _grown(ev) -> dict:
    """Evidence of steps too large for a rate known to be large: the weights' norm grew 2.5
    times in the first epoch."""
    first = [r for r in ev.records[:2] if r["epoch"] <= 0]
    if len(first) < 2 or first[0]["epoch"] != -1 or not rate_large(ev.run):
        return {}
    norm = [math.sqrt(sum(e.get("weight_norm", 0.0) ** 2 for e in r["layers"])) for r in first]
    if not norm[0] > 0 or norm[1] < 2.5 * norm[0]:
        return {}
    return {"weight_norm_growth_in_epoch_1": norm[1] / norm[0]}


def _huge_steps(ev) -> dict:
    """Evidence from the last step: it moved the weights by over 10 % (of weights still at
    half their initial size or more) while the loss is still above 70 % of chance and did not
    fall since the record before (large steps that keep lowering the loss are fine)."""
    if ev.last is None or not steps_large(ev.last, initial(ev)) or not poor(ev, 0.7):
        return {}
    losses = [r.get("loss") for r in ev.records[-2:]]
    if len(losses) == 2 and None not in losses and losses[1] < losses[0]:
        return {}
    return {"median_update_ratio": float(np.median(step_ratios(ev.last, initial(ev))))}


@rule
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
        [lower_rate(ev), Fix("schedule", "cosine", "decay the rate as training goes")])


@rule
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
    if not (poor(ev) if ev.level() is not None else drop < 0.1):
        return None
    rate = rounded_rate(ev.run.learning_rate * 30)
    return Finding(
        "learning_rate_too_low", {"median_update_ratio": float(np.median(ratios)),
                                  "loss_drop": float(drop),
                                  "learning_rate": ev.run.learning_rate},
        "each step changes the weights by a tiny fraction, so the loss moves slowly",
        [Fix("learning_rate", rate,
             f"raise the learning rate from {ev.run.learning_rate:g} to {rate:g} "
             "(the sanity recipe's range test finds one)")])


@rule
def overfitting(ev: Evidence):
    """Overfitting: the validation loss rises after its minimum while the training loss falls.

    Fires when the minimum is 3 or more epochs back, the median of the last 3 validation
    losses is above it by at least 20 % of it, 10 % of the descent to it and 2.5 times the
    mean change from one epoch to the next, and the training loss is lower than at
    the minimum and, for classes, than the chance loss. Needs 5 or more epochs of
    ``val_loss``.
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
    if run.task == "classification" and run.chance_loss and train[-1] >= run.chance_loss:
        return None  # no better than a constant guess on its own rows: nothing is memorised
    fixes = [Fix("early_stopping", True, f"stop at epoch {best + 1}, the best")]
    if run.early_stopping and run.restores_best and run.patience and run.patience > 3:
        # already on: the best epoch's weights are kept; what is left is the wasted epochs
        # and a best epoch that regularization could make better
        shorter = max(3, run.patience // 3)
        fixes = [Fix("patience", shorter, f"early stopping already keeps the weights of the "
                                          f"best epoch: a patience of {shorter} ends the run "
                                          "sooner")]
    elif run.early_stopping and not run.restores_best:
        fixes = [Fix("restore_best_weights", True,
                     f"keep the weights of epoch {best + 1}, the best, not the last")]
    if run.l2 < 1e-3:
        fixes.append(Fix("l2", 1e-3, "add an L2 penalty"))
    if run.dropout < 0.2:
        fixes.append(Fix("dropout", 0.3, "add dropout"))
    return Finding(
        "overfitting", {"started_epoch": best + 1, "best_val_loss": float(val[best]),
                        "last_val_loss": float(val[-1]), "last_loss": float(train[-1])},
        f"after epoch {best + 1} the validation loss rises while the training loss keeps "
        "falling: the network memorises the training set"
        + (" (early stopping keeps the best epoch's weights)" if run.restores_best else ""),
        fixes)


@rule
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
    if len(losses) < (3 if linear else 8) or losses[0] <= 0 or few_steps(ev) and not linear:
        return None
    accuracy, level = ev.accuracy(), ev.level()
    # a network of ordinary width (8 units or more in every hidden layer) that stalls at half
    # the targets' variance is more likely at the data's noise floor (multi_gaussian's is
    # 0.45-0.55 of chance) than too small: there, poor means above 70 % of chance
    floor = 0.7 if run.units and min(run.units) >= 8 else 0.5
    poor = (accuracy < 0.8 if accuracy is not None else level > floor if level is not None
            else losses[-1] > 0.5 * losses[0])
    val = [v for v in ev.history.get("val_loss", []) if math.isfinite(v)]
    if val and val[-1] > 1.5 * losses[-1]:
        return None  # the training set is fitted better than new data: not too simple
    stuck = flat(losses, max(5, len(losses) // 4)) or (
        linear and level is not None and level >= 0.9 and not few_steps(ev))
    if poor and not stuck and ev.final:
        return _ended_early(ev)
    if not (stuck and poor):
        return None
    evidence = {"last_loss": losses[-1], "first_loss": losses[0]}
    if accuracy is not None:
        evidence["accuracy"] = accuracy
    wider = [min(2 * u, 1024) for u in run.units] or [64]
    fixes = [Fix("layers", wider, "use a larger network")]
    for key, off in (("l2", 0.0), ("l1", 0.0), ("dropout", 0.0)):
        # a linear model's capacity is the cause: its penalty is beside the point
        if getattr(run, key) > 0 and not linear:
            fixes.append(Fix(key, off, f"remove the {key.upper() if key != 'dropout' else key}"))
    return Finding(
        "underfitting", evidence,
        "the training loss has stopped improving at a high value: the model is too simple "
        "for the data, or training cannot make progress", fixes)


def _ended_early(ev: Evidence):
    """Underfitting at the end of training while the loss still falls: a classification at
    under 80 % training accuracy and above 5 points over chance (at chance it is not
    learning), after 8 epochs and 300 steps. Spiral on one layer of 64 ended 30 epochs at 62 %
    with the loss falling 1 % an epoch; 90 epochs alone, or 128 units, left it there, and two
    layers of 64 for 90 epochs reached 99 %."""
    run, accuracy = ev.run, ev.accuracy()
    if (accuracy is None or run.chance_accuracy is None or accuracy <= run.chance_accuracy + 0.05
            or ev.epochs < 8 or few_steps(ev)):
        return None
    # a layer more, none narrower than 64 units (a bottleneck of 1 unit caps any depth)
    deeper = [max(64, u) for u in run.units] + [max(64, run.units[-1] if run.units else 0)]
    epochs = 3 * ev.epochs
    narrow = any(u < 64 for u in run.units)
    return Finding(
        "underfitting", {"accuracy": accuracy, "last_loss": ev.losses[-1],
                         "first_loss": ev.losses[0]},
        f"training ended at {accuracy:.0%} training accuracy with the loss still falling, "
        "slowly: the network is too small (too shallow or too narrow) for the data, or needs "
        "far more epochs",
        [Fix("layers", deeper, "add a hidden layer" + (", and widen the narrow ones"
                                                      if narrow else "")),
         Fix("epochs", epochs, f"and train for {epochs} epochs")])


@rule
def not_learning(ev: Evidence):
    """Not learning: after 3 or more epochs and 300 optimizer steps, the loss is still above
    the loss of the best constant prediction (chance), or above 90 % of it and flat over the
    last 3 epochs, with the accuracy (when logged) within 5 points of chance, or R² under
    0.05; a network with hidden layers (without, it is underfitting); no other rule names a
    cause. Once training has ended, a loss above chance counts whatever the number of steps:
    a short run that ends worse than a constant guess has a problem, slow start or not."""
    level, losses = ev.level(), ev.losses
    short = few_steps(ev) and not (ev.final and level is not None and level > 1)
    if ev.epochs < 3 or level is None or level < 0.9 or short or not ev.run.hidden:
        return None  # a linear model's plateau is underfitting
    accuracy, chance = ev.accuracy(), ev.run.chance_accuracy
    r2 = ev.history.get("r2")
    if (level < 1 and not flat(losses, 3)) or (accuracy is not None and chance is not None
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
    # a loss well above chance is worse than a constant guess, not level with one
    than = (f"{level:.2g} times that of a constant guess" if level >= 1.5
            else "still that of a constant guess")
    return Finding(
        "not_learning", evidence,
        f"after {ev.epochs} epochs the loss is {than}, and no rule found why: check that "
        "the targets match the inputs, then the learning rate", fixes)


def _ignored(record, share) -> list:
    """``(class, recall)`` of the minority classes (under half the share of a uniform draw)
    that the record's probe holds 5 or more rows of and predicts for under 20 % of them."""
    counts, recalls = record.get("class_count"), record.get("class_recall")
    if not counts or len(counts) != len(share):
        return []
    rare = 0.5 / len(share)
    return [(c, r) for c, (n, r, s) in enumerate(zip(counts, recalls, share, strict=True))
            if s < rare and n >= 5 and r is not None and r < 0.2]


@rule
def class_imbalance(ev: Evidence):
    """Class imbalance: a minority class (under half the share of a uniform draw) of which the
    model predicts under 20 % of the probe's rows, in the last 3 records, after 3 epochs and
    300 optimizer steps, with 5 or more of that class's rows on the probe.

    The accuracy hides it: predicting the majority class alone scores its share.
    """
    share = ev.run.class_share
    trained = [r for r in ev.records if r["epoch"] >= 0][-3:]
    if ev.epochs < 3 or few_steps(ev) or len(trained) < 3 or len(share) < 2:
        return None
    seen = [dict(_ignored(r, share)) for r in trained]
    classes = sorted(set(seen[0]).intersection(*seen[1:]))
    if not classes:
        return None
    worst = min(classes, key=lambda c: seen[-1][c])
    weights = {c: float(f"{max(share) / share[c]:.2g}") for c in classes}
    evidence = {"class": worst, "class_share": share[worst], "recall": seen[-1][worst],
                "majority_share": max(share)}
    if ev.accuracy() is not None:
        evidence["accuracy"] = ev.accuracy()
    return Finding(
        "class_imbalance", evidence,
        f"class {worst} makes up {share[worst]:.1%} of the training rows and the model "
        f"predicts it for only {seen[-1][worst]:.0%} of them: the loss is lowest by "
        f"predicting the majority, which alone scores an accuracy of {max(share):.1%}",
        [Fix(None, None, f"weigh the rare classes up in the loss: class_weight={weights} "
                         "(or 'balanced') in fit, --class-weight balanced on the command "
                         "line, class_weight='balanced' in the scikit-learn wrapper"),
         Fix(None, None, "judge the model by each class's recall or the balanced accuracy, "
                         "which the accuracy hides")])
