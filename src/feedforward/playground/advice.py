"""The doctor's fixes in the page's own terms: each one a partial setup that the page sends as
its controls do, with the control named as the page shows it, or the reason the page cannot
do it.

A :class:`~feedforward.diagnostics.Fix` names an option of the library's config schema and a
value; here it becomes a change of the playground's setup (:mod:`.setup`): ``activation`` sets
every hidden layer's activation, ``l2`` the regularization and its rate, ``layers`` the hidden
layers within the page's limits. What the page has no control for (input scaling, the output
layer, the number of epochs) comes back with ``setup`` None and the reason.
"""

from __future__ import annotations

import math

from .setup import (
    HIDDEN_ACTIVATIONS,
    INITIALIZERS,
    INTEGERS,
    MAX_DROPOUT,
    MAX_LAYERS,
    MAX_UNITS,
    NUMBERS,
    OPTIMIZERS,
    SCHEDULE_PARAMETERS,
)

TITLES = {"dead_relus": "Dead ReLUs", "over_regularization": "Over-strong regularization"}
# how the page shows a name: its selects list the registry's names
NAMES = {"relu": "ReLU", "leaky_relu": "Leaky ReLU", "elu": "ELU", "selu": "SELU",
         "gelu": "GELU", "silu": "SiLU", "sgd": "SGD", "rmsprop": "RMSprop",
         "adam": "Adam", "adamw": "AdamW", "amsgrad": "AMSGrad", "nadam": "Nadam"}
SCHEDULES = {"cosine": "cosine_decay", "step": "step_decay", "exponential": "exponential_decay",
             "inverse_time": "inverse_time_decay"}  # the schema's names -> the page's
SCHEDULE_EPOCHS = 100  # a decay the page applies runs over this many epochs
RATE_KEYS = ("initial_learning_rate", "learning_rate", "schedule")  # a schedule's rate
NO_CONTROL = {
    "scaling": "the page feeds its feature columns to the network as they are: it has no "
               "input scaling (the inputs X\u2081\u00b2, X\u2082\u00b2 and X\u2081X\u2082 "
               "reach 36; leave them out instead)",
    "max_norm": "the page has no max-norm constraint",
    "output_activation": "the page picks the output layer from the problem",
    "loss": "the page picks the loss from the problem",
    "epochs": "the page trains until you pause it",
    "check": "the sanity recipe runs outside the page: feedforward check, or "
             "ff.diagnostics.check",
}


class Unavailable(Exception):
    """A fix the page cannot apply; the message says why."""


class AlreadySet(Unavailable):
    """A fix the network already has."""


def _name(name) -> str:
    return NAMES.get(name, name.replace("_", " ").capitalize())


def _number(value) -> str:
    return f"{value:g}"


def page_fix(fix, setup, train_size) -> dict:
    """One fix as the page shows it.

    Parameters
    ----------
    fix : feedforward.diagnostics.Fix
    setup : dict
        The session's complete setup.
    train_size : int
        Training points (a schedule's steps per epoch).

    Returns
    -------
    dict
        ``{"text", "control", "setup", "unavailable"}``: the fix's words; the control and its
        new value as the page shows them (``"Learning rate: 0.3"``); the partial setup that
        applies it (the message the controls send); or, when the page cannot, ``control`` and
        ``setup`` None and ``unavailable`` the reason.
    """
    try:
        if fix.setting in NO_CONTROL:
            raise Unavailable(NO_CONTROL[fix.setting])
        if fix.setting is None:  # advice in words (scale the targets, weigh the classes)
            raise Unavailable("a change outside the page: in the data, or in the exported code")
        make = CHANGES.get(fix.setting)
        if make is None:
            raise Unavailable(f"no control of the page sets {fix.setting}")
        control, partial = make(fix.value, setup, train_size)
        if all(_has(setup.get(key), value) for key, value in partial.items()):
            raise AlreadySet(f"the network has it already ({control})")
    except Unavailable as why:
        return {"text": fix.text, "control": None, "setup": None, "unavailable": str(why),
                "already": isinstance(why, AlreadySet)}
    return {"text": fix.text, "control": control, "setup": partial, "unavailable": None,
            "already": False}


def page_finding(finding, setup, train_size) -> dict:
    """A finding as the page shows it.

    Parameters
    ----------
    finding : feedforward.diagnostics.Finding
    setup : dict
        The session's complete setup.
    train_size : int
        Training points.

    Returns
    -------
    dict
        ``{"name", "title", "cause", "fixes"}``, each fix as :func:`page_fix` gives it. Fixes
        that no setting expresses are left out: their words name the command line and the
        Python API, which the page is not.
    """
    title = TITLES.get(finding.name, finding.name.replace("_", " ").capitalize())
    fixes = [page_fix(f, setup, train_size) for f in finding.fixes
             if getattr(f, "setting", None) is not None]
    return {"name": finding.name, "title": title, "cause": finding.cause, "fixes": fixes}


# ---------------------------------------------------------------------------- each setting
def _hidden(setup, key, value) -> list:
    if not setup["layers"]:
        raise Unavailable("the network has no hidden layer")
    return [{**layer, key: value} for layer in setup["layers"]]


def _activation(value, setup, _):
    if value not in HIDDEN_ACTIVATIONS:
        raise Unavailable(f"the page has no {value} activation")
    return f"Activation: {_name(value)}", {"layers": _hidden(setup, "activation", value)}


def _dropout(value, setup, _):
    value = min(float(value), MAX_DROPOUT)
    return (f"Dropout: {_number(value)} in every hidden layer",
            {"layers": _hidden(setup, "dropout", value)})


def _learning_rate(value, setup, _):
    partial = {"optimizer": {**setup["optimizer"], "learning_rate": value}}
    schedule = setup["schedule"]
    if schedule is not None:  # the schedule sets the rate: it starts from the new one
        keys = [k for k in RATE_KEYS if isinstance(schedule.get(k), (int, float))]
        if keys:
            partial["schedule"] = {**schedule, **dict.fromkeys(keys, value)}
        else:  # piecewise constant: its values scaled alike
            scale = value / schedule["values"][0]
            partial["schedule"] = {**schedule, "values": [v * scale for v in schedule["values"]]}
    return f"Learning rate: {_number(value)}", partial


def _optimizer(value, setup, _):
    name = str(value).lower()
    if name not in OPTIMIZERS:
        raise Unavailable(f"the page has no {value} optimizer")
    # at its own default rate, as compile(optimizer=name) would: a rate tuned for another
    # optimizer (SGD at 3) would be far off
    rate = OPTIMIZERS[name].get("learning_rate", setup["optimizer"]["learning_rate"])
    return (f"Optimizer: {_name(name)} (learning rate {_number(rate)})",
            {"optimizer": {"name": name, "learning_rate": rate}})


def _clipnorm(value, setup, _):
    return (f"Optimizer clipnorm: {_number(value)}",
            {"optimizer": {**setup["optimizer"], "clipnorm": value}})


def _initializer(value, setup, _):
    if value not in INITIALIZERS:
        raise Unavailable(f"the page has no {value} initializer")
    return f"Initializer: {value.replace('_', ' ')}", {"initializer": value}


def _penalty(key):
    def change(value, setup, _):
        if not value:
            if setup["regularization"] != key:
                raise Unavailable(f"the network has no {key.upper()} penalty")
            return "Regularization: None", {"regularization": "none", "reg_rate": 0}
        rate = min(float(value), NUMBERS["reg_rate"][1])
        return (f"Regularization: {key.upper()}, rate {_number(rate)}",
                {"regularization": key, "reg_rate": rate})
    return change


def _layers(value, setup, _):
    if len(value) > MAX_LAYERS:
        raise Unavailable(f"the page allows at most {MAX_LAYERS} hidden layers")
    old = setup["layers"]
    if [int(u) for u in value] == [layer["units"] for layer in old]:
        raise AlreadySet("the network has these layers already")
    units = [min(int(u), MAX_UNITS) for u in value]
    template = old[-1] if old else {"units": 4, "activation": "tanh", "dropout": 0}
    layers = [{**(old[i] if i < len(old) else template), "units": u}
              for i, u in enumerate(units)]
    if layers == old:
        raise Unavailable(f"the page allows at most {MAX_UNITS} neurons a layer, and the "
                          "network has them")
    sizes = ", ".join(map(str, units)) or "none"
    return f"Hidden layers: {len(units)} ({sizes} neurons)", {"layers": layers}


def _batch_size(value, setup, train_size):
    size = max(1, min(int(value), train_size or INTEGERS["batch_size"][1]))
    return f"Batch size: {size}", {"batch_size": size}


def _early_stopping(value, setup, _):
    patience = setup["early_stopping"] or 10
    if not value:
        return "Early stopping patience: 0 (off)", {"early_stopping": 0}
    return f"Early stopping patience: {patience}", {"early_stopping": patience}


def _patience(value, setup, _):
    return f"Early stopping patience: {int(value)}", {"early_stopping": int(value)}


def _samples(value, setup, _):
    if setup["dataset"] == "custom":
        raise Unavailable("your own data has the points you gave it")
    high = INTEGERS["samples"][1]
    wanted = int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else 2 * setup["samples"]
    samples = min(wanted, high)
    if samples <= setup["samples"]:
        raise Unavailable(f"the page makes at most {high} points")
    return f"Samples: {samples}", {"samples": samples}


def _schedule(value, setup, train_size):
    name = value.get("name") if isinstance(value, dict) else SCHEDULES.get(value, value)
    if name == "constant":
        return "Learning-rate schedule: constant (none)", {"schedule": None}
    if name not in SCHEDULE_PARAMETERS:
        raise Unavailable(f"the page has no {name} schedule")
    steps = SCHEDULE_EPOCHS * max(1, math.ceil(train_size / setup["batch_size"]))
    partial = {"name": name}
    for key in ("decay_steps", "step_size"):
        if key in SCHEDULE_PARAMETERS[name]:
            partial[key] = steps
    over = f" over {SCHEDULE_EPOCHS} epochs" if len(partial) > 1 else ""
    return (f"Learning-rate schedule: {name.replace('_', ' ')}{over}",
            {"schedule": partial})


def _has(current, value) -> bool:
    """Whether the setup's ``current`` value already is ``value``: for a table (a schedule),
    whether it holds each of ``value``'s entries (the setup fills in the others)."""
    if isinstance(current, dict) and isinstance(value, dict):
        return all(current.get(k) == v for k, v in value.items())
    return current == value


CHANGES = {"activation": _activation, "dropout": _dropout, "learning_rate": _learning_rate,
           "optimizer": _optimizer, "clipnorm": _clipnorm, "initializer": _initializer,
           "l1": _penalty("l1"), "l2": _penalty("l2"), "layers": _layers,
           "batch_size": _batch_size, "early_stopping": _early_stopping,
           "patience": _patience, "samples": _samples, "schedule": _schedule}
