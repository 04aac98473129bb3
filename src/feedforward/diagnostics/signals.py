"""What the doctor's rules share: the docstring of a rule, and the signals several rules read
(how poor the fit still is, whether the rate or the steps are large, whether a curve is flat).
"""

from __future__ import annotations

import numpy as np

from .advice import Fix

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


def rule(func):
    """Give a rule the docstring sections that every rule shares (one text, not thirteen)."""
    func.__doc__ = func.__doc__.rstrip() + "\n" + _SECTIONS
    return func


def rounded_rate(value) -> float:
    """A learning rate rounded to one significant digit (0.0031 -> 0.003)."""
    return float(f"{value:.1g}")


def lower_rate(ev, factor=10) -> Fix:
    """A tenth of the rate in use, and never above the rate that overshoots on most problems
    (:func:`rate_large`): from 1e300, a tenth would still diverge."""
    rate = rounded_rate(min(ev.run.learning_rate / factor, large_rate(ev.run)))
    return Fix("learning_rate", rate,
               f"lower the learning rate from {ev.run.learning_rate:g} to {rate:g}")


def poor(ev, share=0.5) -> bool:
    """Whether the training loss is still above ``share`` of the chance loss (or the accuracy
    below 80 % when the chance loss is unknown)."""
    level = ev.level()
    if level is not None:
        return level > share
    acc = ev.accuracy()
    return acc is not None and acc < 0.8


def large_rate(run) -> float:
    """The rate that overshoots on most problems: 1 for SGD, 0.05 for adaptive optimizers."""
    return 0.05 if run.adaptive else 1.0


def rate_large(run) -> bool:
    """Whether the run's rate is at least :func:`large_rate`."""
    return run.learning_rate >= large_rate(run)


def step_ratios(record, start=None) -> list:
    """The update ratios of the record's layers, leaving out layers whose weights are under
    half their size at ``start`` (the record at initialization): a step is large beside tiny
    weights (a zero initialization, a max-norm cap) whatever the rate."""
    scale = {e["index"]: e.get("weight_norm") for e in start["layers"]} if start else {}
    return [e["update_ratio"] for e in record["layers"] if e.get("update_ratio") is not None
            and (not scale or (scale.get(e["index"]) or 0) > 0
                 and e["weight_norm"] >= 0.5 * scale[e["index"]])]


def steps_large(record, start=None) -> bool:
    """Whether the record's last step moved the weights by more than 10 % (1e-3 is healthy),
    as the median over the layers of :func:`step_ratios`."""
    ratios = step_ratios(record, start)
    return bool(ratios) and float(np.median(ratios)) > 0.1


def initial(ev) -> dict | None:
    """The record at initialization (``epoch`` -1), or None."""
    return ev.records[0] if ev.records and ev.records[0]["epoch"] < 0 else None


MIN_STEPS = 300  # optimizer steps before a run may be called stuck: slow starts are healthy


def few_steps(ev) -> bool:
    """Whether fewer than :data:`MIN_STEPS` optimizer steps were taken (the monitor's count,
    else epochs times batches per epoch; False when unknown)."""
    if ev.last is not None and ev.last.get("step"):
        return ev.last["step"] < MIN_STEPS
    run = ev.run
    if not (run.samples and run.batch_size):
        return False
    return ev.epochs * -(-run.samples // run.batch_size) < MIN_STEPS


def flat(losses, window) -> bool:
    """Whether the loss moved by under 1 % over its last ``window`` epochs (a loss that
    climbs is not flat: it is the learning rate's problem)."""
    tail = losses[-window:]
    return len(tail) >= 2 and tail[0] > 0 and abs(tail[0] - tail[-1]) / tail[0] < 0.01


def large_inputs(ev) -> bool:
    inputs = ev.inputs
    return bool(inputs) and max(float(np.max(np.abs(inputs["mean"]))),
                                float(np.max(inputs["std"]))) > 10


def deep_narrow(run) -> bool:
    """Whether the network is a deep stack of narrow ReLU-family layers: 6 or more hidden
    layers, the narrowest of 12 units or fewer. In such a stack a unit is easily silent on
    every sample and each layer passes on only a few directions of its input, so the signal
    fades with depth (digits: 20 layers of 8 trained to 31-48 %, 10 of 8 to 77 %, 64+64 to
    96 %)."""
    return (run.relu_like and len(run.units) >= 6 and 0 < min(run.units) <= 12)


def fewer_wider(run) -> Fix:
    """Three hidden layers of 64 units or of the run's widest, whichever is larger."""
    units = [max(64, max(run.units, default=0))] * min(3, len(run.units))
    return Fix("layers", units, "use fewer, wider hidden layers")
