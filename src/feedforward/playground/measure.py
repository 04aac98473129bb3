"""What a session shows: its scores, the ``frame`` message and the step-by-step ``inspect``.

Every value comes from the network itself: its forward pass in inference mode for the
heatmap, thumbnails and scores, and its own backward pass (``model.compute_gradients``,
which fills each layer's gradients) for the doctor's gradient norms and the inspector.
"""

from __future__ import annotations

import math
import weakref

import numpy as np

from .. import diagnostics, metrics
from ..errors import FeedforwardError
from ..layers import Dense
from . import advice, frames
from .dataset import SPLITS

INSPECT_ROWS = 64  # rows of the batch that ``inspect`` shows
_DOCTORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # driver -> last doctor


def evaluate(model, x, y) -> dict:
    """The loss and metric on every split, in inference mode.

    Parameters
    ----------
    model : Sequential
    x, y : dict
        ``{split: inputs (n, features)}`` and ``{split: prepared targets, or None}``.

    Returns
    -------
    dict
        ``{split: {"loss": float, "metric": float} or None}`` for ``"train"``, ``"val"`` and
        ``"test"``; None for an empty split.
    """
    scores = {}
    for split in SPLITS:
        if y[split] is None:
            scores[split] = None
            continue
        with np.errstate(all="ignore"):
            result = model.evaluate(x[split], y[split], return_dict=True)
        values = list(result.values())
        scores[split] = {"loss": float(values[0]), "metric": float(values[1])}
    return scores


def dense_layers(model) -> list:
    return [layer for layer in model.layers if isinstance(layer, Dense)]


def _dense_outputs(model, x) -> list:
    """Each dense layer's outputs (after its activation) for inputs ``x``, inference mode.

    The arrays are the layers' own buffers: valid until the next forward pass.
    """
    outputs = []
    with np.errstate(all="ignore"):
        for layer in model.layers:
            x = layer.forward(x, False)
            if isinstance(layer, Dense):
                outputs.append(x)
    return outputs


def frame(session, doctor=True) -> dict:
    """The ``frame`` message of a session (see :meth:`.session.Session.frame`)."""
    setup, model, driver = session.setup, session.model, session.driver
    last = _DOCTORS.get(driver)
    fresh = doctor or last is None
    # before the frame's forward pass, which reuses the layers' buffers
    initial = _initial_gradients(session) if fresh else None
    size, names = setup["grid"], tuple(setup["features"])
    heat_x = frames.grid_features(size, names)
    thumb_x = frames.grid_features(frames.THUMBNAIL, names)
    n_heat, n_thumb = len(heat_x), len(thumb_x)
    x = np.concatenate([heat_x, thumb_x, session.x["train"], session.x["test"]])
    outputs = _dense_outputs(model, x)
    out = outputs[-1]
    dense = dense_layers(model)
    message = {"type": "frame", "epoch": driver.epoch, "step": driver.step,
               "epoch_progress": driver.progress, "learning_rate": _rate(model),
               **_score_fields(session.scores, setup["problem"]),
               "heatmap": frames.pack(_heatmap(out[:n_heat], size, setup["problem"])),
               "neurons": [frames.feature_set(names), *frames.thumbnail_sets(
                   [o[n_heat:n_heat + n_thumb] for o in outputs[:-1]])],
               "weights": [frames.rounded(d.params["kernel"]) for d in dense],
               "biases": [frames.rounded(d.params["bias"]) for d in dense]}
    probe = slice(n_heat, n_heat + n_thumb + len(session.x["train"]))
    if fresh:
        last = _DOCTORS[driver] = _doctor(session, dense, [o[probe] for o in outputs],
                                          out[n_heat + n_thumb:probe.stop], initial)
    message["doctor"] = last
    test = out[len(x) - len(session.x["test"]):]
    message["confusion"] = _confusion(session, test)
    message["history"], message["history_reset"] = driver.take_history()
    return message


def _rate(model) -> float | None:
    """The learning rate the optimizer's next step takes (a schedule's, at its step count)."""
    rate = float(model.optimizer.lr)
    return rate if math.isfinite(rate) else None


def _score_fields(scores, problem) -> dict:
    name = "accuracy" if problem == "classification" else "r2"
    return {"loss": {k: None if v is None else v["loss"] for k, v in scores.items()},
            "metric": {"name": name,
                       **{k: None if v is None else v["metric"] for k, v in scores.items()}}}


def _heatmap(out, size, problem) -> np.ndarray:
    if problem == "regression":
        return out[:, 0].reshape(size, size)
    if out.shape[1] == 1:
        return (2 * out[:, 0] - 1).reshape(size, size)
    return out.reshape(size, size, -1)


def _confusion(session, test_out):
    y = session.data["test"][1]
    if session.setup["problem"] != "classification" or len(y) == 0:
        return None
    return metrics.confusion_matrix(y, test_out, session.setup["classes"]).tolist()


def _doctor(session, dense, probe_outputs, train_out, initial) -> dict:
    """Each hidden layer's dead and saturated units, each dense layer's gradient norm, and
    the doctor's findings over the network's records and curves.

    Parameters
    ----------
    session : Session
    dense : list of Dense
    probe_outputs : list of ndarray of shape (n, units)
        Each dense layer's outputs on the thumbnail grid and the training points.
    train_out : ndarray of shape (n_train, outputs)
        The network's outputs on the training points.
    initial : ndarray of shape (parameters,) or None
        Before the first step, the gradients of the training points (the model's own are
        zeros then); else None.

    Returns
    -------
    dict
        ``{"dead", "saturated", "grad_norms", "findings"}``; each gradient norm is None
        before the first step.
    """
    model, driver = session.model, session.driver
    dead, saturated = [], []
    for i, (layer, y) in enumerate(zip(dense[:-1], probe_outputs, strict=False)):
        d, s = frames.unit_flags(i, layer.activation.name, y)
        dead += d
        saturated += s
    record = _record(session, dense, probe_outputs, train_out, initial)
    started = driver.step > 0
    run = diagnostics.RunInfo.of(model, session.y["train"], session.setup["batch_size"])
    evidence = diagnostics.Evidence(frames.keep(driver, record), _curves(driver),
                                    session.inputs, run)
    return {"dead": dead, "saturated": saturated,
            "grad_norms": [e["grad_norm"] if started else None for e in record["layers"]],
            "findings": [advice.page_finding(f, session.setup, len(train_out))
                         for f in diagnostics.examine(evidence)]}


def _record(session, dense, probe_outputs, train_out, initial) -> dict:
    """A monitor's record of the network now (see :mod:`feedforward.diagnostics.monitor`):
    before the first step, ``epoch`` -1 and the gradients ``initial``; after it, the last
    step's gradients and the size of a step (:func:`.frames.step`)."""
    model, driver = session.model, session.driver
    started = driver.step > 0
    grads = initial if initial is not None else model.grads
    before = model.params - frames.step(model) if started else None
    last = len(dense) - 1
    entries = [frames.layer_record(i, layer, y, model.params[where], grads[where],
                                   None if before is None else before[where], hidden=i < last)
               for i, (layer, where, y) in enumerate(zip(dense, _slices(model), probe_outputs,
                                                         strict=True))]
    with np.errstate(all="ignore"):
        penalty = float(model.penalty())
    return {"epoch": max(driver.epoch - 1, 0) if started else -1, "step": driver.step,
            "layers": entries, "loss": _data_loss(session, train_out),
            "penalty": penalty if np.isfinite(penalty) else None}


def _slices(model) -> list:
    """Where each dense layer's parameters lie in ``model.params``."""
    where, offset = [], 0
    for layer in model.layers:
        size = layer.count_params()
        if isinstance(layer, Dense):
            where.append(slice(offset, offset + size))
        offset += size
    return where


def _data_loss(session, out) -> float | None:
    """The loss on the training points without the penalties (None: none, or not finite)."""
    y = session.y["train"]
    if y is None:
        return None
    with np.errstate(all="ignore"):
        value = float(session.model.loss.value(out, y, prepared=True))
    return value if np.isfinite(value) else None


def _curves(driver) -> dict:
    """The per-epoch curves as the rules read them: one value per epoch ended (the value
    before the first epoch left out), whole curves only; after a divergence, which the
    engine undid, the training loss ends in NaN (as the ``Doctor`` callback counts it)."""
    c = driver.curves
    curves = {"loss": c["train"][1:], "val_loss": c[driver.monitored()][1:],
              "accuracy": c["accuracy"][1:]}
    curves = {k: v for k, v in curves.items() if None not in v}
    if driver.stop is not None and driver.stop[0] == "diverged":
        curves["loss"] = [*curves.get("loss", []), math.nan]
    return curves


def _initial_gradients(session) -> np.ndarray | None:
    """Before the first step: the gradients of the training points, in inference mode (the
    model's own gradients are kept); None after it, or without training points."""
    model = session.model
    if session.driver.step > 0 or session.y["train"] is None:
        return None
    saved = model.grads.copy()
    try:
        with np.errstate(all="ignore"):
            model.compute_gradients(session.x["train"], session.y["train"], training=False)
        return model.grads.copy()
    finally:
        model.grads[...] = saved


def inspect(session) -> dict:
    """The ``inspect`` message of a session (see :meth:`.session.Session.inspect`)."""
    model = session.model
    if session.y["train"] is None:
        raise FeedforwardError("inspect: the training set is empty")
    x = session.x["train"][:min(session.setup["batch_size"], INSPECT_ROWS)]
    y = session.y["train"][:len(x)]
    dense = dense_layers(model)
    saved = model.grads.copy()
    try:
        with np.errstate(all="ignore"):
            grad_z = _grad_z(model, dense, x, y)
            model.compute_gradients(x, y, training=False)
        layers = [{"z": frames.rounded(layer.z), "a": frames.rounded(layer.y),
                   "grad_z": frames.rounded(gz),
                   "grad_kernel": frames.rounded(layer.grads["kernel"]),
                   "grad_bias": frames.rounded(layer.grads["bias"])}
                  for layer, gz in zip(dense, grad_z, strict=True)]
    finally:
        model.grads[...] = saved
    points = session.data["train"]
    return {"type": "inspect",
            "batch": {"x": frames.rounded(x), "y": points[1][:len(x)].tolist(),
                      "points": frames.rounded(points[0][:len(x)])},
            "layers": layers}


def _grad_z(model, dense, x, y) -> list:
    """dL/dz of each dense layer for each row of the batch (n, units), from the model's own
    backward pass, in inference mode.

    A dense layer's bias gradient is the sum over the rows of dL/dz, so the backward pass of a
    batch of one row gives that row's dL/dz; a mean loss divides it by the batch's size.
    """
    n = len(x)
    scale = n if model.loss.reduction == "mean" else 1
    result = [np.empty((n, layer.units)) for layer in dense]
    for i in range(n):
        model.compute_gradients(x[i:i + 1], y[i:i + 1], training=False)
        for rows, layer in zip(result, dense, strict=True):
            rows[i] = layer.grads["bias"] / scale
    return result
