"""Training checkpoints: what ``fit`` needs to go on exactly where a run stopped.

A checkpoint is a model file (see :mod:`feedforward.saving`) with the training state added:

- tensors: those of the model file (parameters, fitted preprocessing, optimizer slots), plus
  ``metrics.<i>`` (the running sums of the epoch's metrics) and ``callbacks.<i>.<key>`` (arrays
  that callbacks keep, such as EarlyStopping's best weights);
- metadata ``training_state`` (JSON): the epoch and the batches of it already done, the
  epoch's running loss, the learning rate, the callbacks' states, a fingerprint of the training
  data, and the state of every random stream. The shuffling stream is saved as it was at the
  start of the epoch, so that a run resumed mid-epoch draws that epoch's permutation again and
  skips the batches already done; the dropout and augmentation streams are saved as they are.

Resuming from it gives bit-identical weights to a run that was never interrupted, mid-epoch
included. Keras's ``BackupAndRestore`` re-runs the interrupted epoch and keeps no random state,
so its resumed runs differ.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save as st_save

from . import saving
from .errors import FeedforwardError
from .fileio import atomic_write

STATE_KEY = "training_state"


def fingerprint(x, y) -> str:
    """A digest of the training data, so a checkpoint is never resumed on other data.

    Parameters
    ----------
    x : array of shape (n, features)
        The training inputs.
    y : ndarray
        The training targets, e.g. of shape (n,) or (n, outputs).

    Returns
    -------
    str
        32 hexadecimal digits (BLAKE2b) of the dtypes, shapes and bytes of ``x`` and ``y``.
    """
    h = hashlib.blake2b(digest_size=16)
    for a in (x, y):
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.data)
    return h.hexdigest()


def _rng_states(model, shuffle_state):
    states = {k: g.bit_generator.state for k, g in model._rngs.items()}
    states["shuffle"] = shuffle_state
    return states


def write(path, model, position, shuffle_state, callbacks, data_digest):
    """Write the checkpoint of ``model`` at ``position`` atomically to ``path``.

    Non-finite weights are never written: a diverging run keeps its last good checkpoint.

    Parameters
    ----------
    path : str or Path
        The checkpoint file, replaced atomically.
    model : Sequential
        The compiled model being trained.
    position : dict
        Where training stands: ``epoch``, ``batch`` (batches of it done), ``total`` and
        ``seen`` (the epoch's running loss sum and sample count); ``stopped`` optional.
    shuffle_state : dict
        The state of the shuffling stream at the start of the epoch.
    callbacks : list of Callback
        The callbacks whose :meth:`~feedforward.callbacks.Callback.get_state` is saved.
    data_digest : str
        The :func:`fingerprint` of the training data.
    """
    if not np.isfinite(model.params).all():
        raise FeedforwardError(f"{path}: the weights are not finite; the last good checkpoint "
                               "is kept")
    tensors = saving.model_tensors(model)
    for i, m in enumerate(model.metrics):
        if getattr(m, "_sums", None) is not None:
            tensors[f"metrics.{i}"] = np.ascontiguousarray(m._sums)
    states = []
    for i, cb in enumerate(callbacks):
        state = dict(cb.get_state())
        for k in [k for k, v in state.items() if isinstance(v, np.ndarray)]:
            tensors[f"callbacks.{i}.{k}"] = np.ascontiguousarray(state.pop(k))
        states.append(state)
    lr = model.optimizer.learning_rate
    training = {**position, "rngs": _rng_states(model, shuffle_state), "callbacks": states,
                "learning_rate": None if callable(lr) else lr, "data": data_digest}
    meta = {"format": saving.FORMAT, "format_version": str(saving.FORMAT_VERSION),
            "config": json.dumps(model.get_config()),
            "compile": json.dumps(model.get_compile_config()),
            "optimizer_state": json.dumps(model.optimizer.get_state()),
            STATE_KEY: json.dumps(training)}
    atomic_write(Path(path), st_save(tensors, metadata=meta))


def _json(meta, key, path):
    try:
        return json.loads(meta[key])
    except (KeyError, TypeError, json.JSONDecodeError, RecursionError) as e:
        raise FeedforwardError(f"{path}: the checkpoint's {key!r} is missing or not valid JSON "
                               f"({type(e).__name__})") from None


def _read(path, model):
    """The metadata, training state and tensors of a checkpoint of ``model``.

    Refuses a file that is not a checkpoint, the checkpoint of another model or optimizer, and,
    before reading it, any tensor larger than the model's parameters.
    """
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            if meta.get("format") != saving.FORMAT or STATE_KEY not in meta:
                raise FeedforwardError(f"{path}: not a feedforward training checkpoint")
            for key, ours in (("config", model.get_config()),
                              ("compile", model.get_compile_config())):
                if _json(meta, key, path) != json.loads(json.dumps(ours)):
                    raise FeedforwardError(f"{path}: the checkpoint's {key} differs from this "
                                           "model's; it belongs to another run")
            limit = max(model.params.size, 64)
            for k in f.keys():
                if math.prod(f.get_slice(k).get_shape()) > limit:
                    raise FeedforwardError(f"{path}: tensor {k!r} is larger than any array of "
                                           "this model")
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except SafetensorError as e:
        raise FeedforwardError(f"{path}: not a readable checkpoint ({e})") from None
    return meta, _json(meta, STATE_KEY, path), tensors


def _take(tensors, name, like, path):
    a = tensors.get(name)
    if a is None or a.shape != like.shape or a.dtype != like.dtype:
        what = "missing" if a is None else f"{a.dtype}{list(a.shape)}"
        raise FeedforwardError(f"{path}: tensor {name!r} is {what}; this model needs "
                               f"{like.dtype}{list(like.shape)}")
    like[...] = a


def restore(path, model, callbacks, data_digest) -> dict:
    """Load the checkpoint at ``path`` into ``model`` and ``callbacks`` (in place).

    Refuses a checkpoint of another model, optimizer or training data.

    Parameters
    ----------
    path : str or Path
        The checkpoint file written by :func:`write`.
    model : Sequential
        The compiled model whose weights, optimizer state, metric sums and random streams
        are restored.
    callbacks : list of Callback
        The callbacks given their saved states, in the order of :func:`write`.
    data_digest : str
        The :func:`fingerprint` of the training data; it must match the checkpoint's.

    Returns
    -------
    dict
        The position: ``epoch``, ``batch``, ``total``, ``seen`` and ``stopped`` (a callback
        had ended training).
    """
    meta, state, tensors = _read(path, model)
    try:
        _restore(path, model, callbacks, data_digest, meta, state, tensors)
        return {k: state.get(k, False) for k in ("epoch", "batch", "total", "seen", "stopped")}
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        if isinstance(e, FeedforwardError):
            raise
        raise FeedforwardError(f"{path}: the training state is malformed ({e!r})") from None


def _restore(path, model, callbacks, data_digest, meta, state, tensors):
    if state["data"] != data_digest:
        raise FeedforwardError(f"{path}: the checkpoint was written while training on other "
                               "data (or another split); it cannot be resumed on this data")
    for i, layer in enumerate(model.layers):
        for k, p in layer.params.items():
            _take(tensors, f"layers.{i}.{k}", p, path)
    opt = model.optimizer
    if any(k.startswith("optimizer.") for k in tensors):
        if not opt.slots:
            opt.build([model.params])
        for slot, arrays in opt.slots.items():
            for j, a in enumerate(arrays):
                _take(tensors, f"optimizer.{slot}.{j}", a, path)
    opt.set_state(_json(meta, "optimizer_state", path))
    if state["learning_rate"] is not None:
        opt.learning_rate = float(state["learning_rate"])
    for i, m in enumerate(model.metrics):
        m.reset()
        if f"metrics.{i}" in tensors:
            m._sums = tensors[f"metrics.{i}"].copy()
    for name, generator in model._rngs.items():
        generator.bit_generator.state = state["rngs"][name]
    if len(state["callbacks"]) != len(callbacks):
        raise FeedforwardError(f"{path}: the checkpoint has {len(state['callbacks'])} callback "
                               f"states, this fit has {len(callbacks)} callbacks")
    for i, (cb, cb_state) in enumerate(zip(callbacks, state["callbacks"], strict=True)):
        prefix = f"callbacks.{i}."
        arrays = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        cb.set_state({**cb_state, **arrays})
