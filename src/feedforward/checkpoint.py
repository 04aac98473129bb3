"""Training checkpoints: what ``fit`` needs to go on exactly where a run stopped, and
:class:`BackupAndRestore`, the callback that writes and resumes them.

A checkpoint is a model file (see :mod:`feedforward.saving`) with the training state added:

- tensors: those of the model file (parameters, fitted preprocessing, optimizer slots), plus
  ``metrics.<i>`` (the running sums of the epoch's metrics) and ``callbacks.<i>.<key>`` (arrays
  that callbacks keep, such as EarlyStopping's best weights);
- metadata ``training_state`` (JSON): the epoch and the batches of it already done, the
  epoch's running loss, the seconds spent training so far (every session of a resumed run
  added up), the learning rate, the callbacks' states, a fingerprint of the training
  data, and the state of every random stream. The shuffling stream is saved as it was at the
  start of the epoch, so that a run resumed mid-epoch draws that epoch's permutation again and
  skips the batches already done; the dropout and augmentation streams are saved as they are.

Resuming from it gives bit-identical weights to a run that was never interrupted, mid-epoch
included. Keras's ``BackupAndRestore`` re-runs the interrupted epoch and keeps no random state,
so its resumed runs differ.

A number as the learning rate is training state, not configuration: a callback such as
``ReduceLROnPlateau`` may have lowered it, and the resumed fit goes on with the checkpoint's
rate (as torch's ``Optimizer.load_state_dict`` does), so a model compiled with the rate the run
started from resumes it. Every field of the training state is checked before it is used; a
tampered or damaged one is refused, naming the field.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save as st_save

from . import saving
from .callbacks import Callback, has_state
from .errors import FeedforwardError, check_finite, check_number, describe
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


def is_checkpoint(path) -> bool:
    """Whether ``path`` is a training checkpoint (a model file with a training state).

    Parameters
    ----------
    path : str or Path
        Any path.

    Returns
    -------
    bool
        False for a model file, any other file, and a file that cannot be read.
    """
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError):
        return False
    return meta.get("format") == saving.FORMAT and STATE_KEY in meta


def _rng_states(model, shuffle_state):
    states = {k: g.bit_generator.state for k, g in model.rngs.items()}
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
        ``seen`` (the epoch's running loss sum and sample count); ``stopped`` and ``seconds``
        (the time spent training up to here) optional.
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
        sums = m.get_state()
        if sums is not None:
            tensors[f"metrics.{i}"] = np.ascontiguousarray(sums)
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


def _json(meta, key):
    try:
        return json.loads(meta[key])
    except (KeyError, TypeError, json.JSONDecodeError, RecursionError) as e:
        raise FeedforwardError(f"the checkpoint's {key!r} is missing or not valid JSON "
                               f"({type(e).__name__})") from None


def _comparable(compile_config):
    """``compile_config`` with the value of a numeric learning rate left out (training state)."""
    try:
        lr = compile_config["optimizer"]["config"]["learning_rate"]
    except (KeyError, TypeError):
        return compile_config
    if isinstance(lr, bool) or not isinstance(lr, (int, float)):
        return compile_config  # a schedule is configuration
    copy = json.loads(json.dumps(compile_config))
    copy["optimizer"]["config"]["learning_rate"] = "a number"
    return copy


def _read(model, path):
    """The metadata, training state and tensors of a checkpoint of ``model``.

    Refuses a file that is not a checkpoint, the checkpoint of another model or optimizer, and,
    before reading it, any tensor larger than the model's parameters.
    """
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            if meta.get("format") != saving.FORMAT or STATE_KEY not in meta:
                raise FeedforwardError("not a feedforward training checkpoint")
            ours = json.loads(json.dumps([model.get_config(), model.get_compile_config()]))
            theirs = [_json(meta, "config"), _json(meta, "compile")]
            ours[1], theirs[1] = _comparable(ours[1]), _comparable(theirs[1])
            for key, a, b in zip(("config", "compile"), ours, theirs, strict=True):
                if a != b:
                    raise FeedforwardError(f"the checkpoint's {key} differs from this model's; "
                                           "it belongs to another run")
            limit = max(model.params.size, 64)
            for k in f.keys():
                if math.prod(f.get_slice(k).get_shape()) > limit:
                    raise FeedforwardError(f"tensor {k!r} is larger than any array of this "
                                           "model")
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except SafetensorError as e:
        raise FeedforwardError(f"not a readable checkpoint ({e})") from None
    return meta, _json(meta, STATE_KEY), tensors


def _take(tensors, name, like):
    a = tensors.get(name)
    if a is None or a.shape != like.shape or a.dtype != like.dtype:
        what = "missing" if a is None else f"{a.dtype}{list(a.shape)}"
        raise FeedforwardError(f"tensor {name!r} is {what}; this model needs "
                               f"{like.dtype}{list(like.shape)}")
    check_finite(a, f"tensor {name!r}")
    like[...] = a


def restore(path, model, callbacks, data_digest, params) -> dict:
    """Load the checkpoint at ``path`` into ``model`` and ``callbacks`` (in place).

    Refuses a checkpoint of another model, optimizer or training data, and any field of the
    training state that is missing, of the wrong type or out of range.

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
    params : dict
        The resuming training's ``epochs`` (None: no end), ``steps`` and ``batch_size``
        (a callback's ``params``); they bound the position.

    Returns
    -------
    dict
        The position: ``epoch``, ``batch``, ``total``, ``seen``, ``stopped`` (a callback
        had ended training) and ``seconds`` (spent training up to the checkpoint; None in a
        checkpoint that does not record it).
    """
    try:
        meta, state, tensors = _read(model, path)
        if not isinstance(state, dict) or set(state) - _STATE_FIELDS:
            raise FeedforwardError(f"{STATE_KEY}: expected an object with the fields "
                                   f"{', '.join(sorted(_STATE_FIELDS))}, got {describe(state)}")
        if state.get("data") != data_digest:
            raise FeedforwardError("the checkpoint was written while training on other data (or "
                                   "another split); it cannot be resumed on this data")
        position = _position(state, params)
        _restore(model, callbacks, meta, state, tensors)
    except FeedforwardError as e:
        raise FeedforwardError(f"{path}: {e}") from None
    return position


_STATE_FIELDS = {"epoch", "batch", "total", "seen", "stopped", "seconds", "rngs", "callbacks",
                 "learning_rate", "data"}


def _field(state, key, **bounds):
    """``state[key]``, checked by :func:`~feedforward.errors.check_number` with ``bounds``."""
    return check_number(state.get(key), f"{STATE_KEY}.{key}", **bounds)


def _position(state, fit):
    """Where the checkpoint stands, checked against the fit that resumes it."""
    epoch = _field(state, "epoch", low=0, high=fit["epochs"], integer=True)
    # batch == steps: saved after the epoch's last step, before its end
    batch = _field(state, "batch", low=0, high=fit["steps"], integer=True)
    seen = _field(state, "seen", low=0, high=batch * fit["batch_size"], integer=True)
    total = _field(state, "total")
    seconds = None if state.get("seconds") is None else float(_field(state, "seconds", low=0))
    stopped = state.get("stopped", False)
    if not isinstance(stopped, bool):
        raise FeedforwardError(f"{STATE_KEY}.stopped: expected true or false, got "
                               f"{describe(stopped)}")
    if batch and epoch == fit["epochs"]:
        raise FeedforwardError(f"{STATE_KEY}.batch: {batch} batches into epoch {epoch + 1}, "
                               f"beyond this fit's {fit['epochs']} epochs")
    return {"epoch": int(epoch), "batch": int(batch), "total": float(total), "seen": int(seen),
            "stopped": stopped, "seconds": seconds}


def _restore(model, callbacks, meta, state, tensors):
    for i, layer in enumerate(model.layers):
        for k, p in layer.params.items():
            _take(tensors, f"layers.{i}.{k}", p)
    opt = model.optimizer
    if any(k.startswith("optimizer.") for k in tensors):
        if not opt.slots:
            opt.build([model.params])
        for slot, arrays in opt.slots.items():
            for j, a in enumerate(arrays):
                _take(tensors, f"optimizer.{slot}.{j}", a)
    opt.set_state(_optimizer_state(_json(meta, "optimizer_state"), opt))
    opt.learning_rate = _learning_rate(state, opt)
    _metric_sums(model, tensors)
    _random_streams(model, state.get("rngs"))
    states = state.get("callbacks")
    if not isinstance(states, list) or not all(isinstance(s, dict) for s in states):
        raise FeedforwardError(f"{STATE_KEY}.callbacks: expected a list of objects, got "
                               f"{describe(states)}")
    if len(states) != len(callbacks):
        raise FeedforwardError(f"the checkpoint has {len(states)} callback states, this fit has "
                               f"{len(callbacks)} callbacks")
    for i, (cb, cb_state) in enumerate(zip(callbacks, states, strict=True)):
        prefix = f"callbacks.{i}."
        arrays = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        cb.set_state({**cb_state, **arrays})


def _optimizer_state(state, opt):
    """The optimizer's scalar state (its step count and ``state_scalars``), checked."""
    if not isinstance(state, dict) or set(state) - {"iterations", *opt.state_scalars}:
        raise FeedforwardError(f"optimizer_state: expected the keys iterations"
                               f"{''.join(', ' + k for k in opt.state_scalars)}, got "
                               f"{describe(state)}")
    check_number(state.get("iterations"), "optimizer_state.iterations", low=0, integer=True)
    for k in opt.state_scalars:
        if k in state:
            check_number(state[k], f"optimizer_state.{k}")
    return state


def _learning_rate(state, opt):
    """The rate to go on with: the checkpoint's number, or the optimizer's own schedule."""
    lr = state.get("learning_rate")
    if callable(opt.learning_rate):
        if lr is not None:
            raise FeedforwardError(f"{STATE_KEY}.learning_rate: this optimizer follows the "
                                   f"schedule {opt.learning_rate!r}, got the number {lr!r}")
        return opt.learning_rate
    return float(_field(state, "learning_rate", low=0, low_open=True))


def _metric_sums(model, tensors):
    for i, m in enumerate(model.metrics):
        m.reset()
        a = tensors.get(f"metrics.{i}")
        if a is None:
            continue
        if a.shape != m.state_shape(model.output_shape[-1]):
            raise FeedforwardError(f"tensor 'metrics.{i}' has the wrong shape {list(a.shape)} "
                                   f"for the metric {model.metric_names[i]!r}")
        check_finite(a, f"tensor 'metrics.{i}'")
        m.set_state(a)


def _random_streams(model, states):
    if not isinstance(states, dict) or set(states) != set(model.rngs):
        raise FeedforwardError(f"{STATE_KEY}.rngs: expected the states of the streams "
                               f"{', '.join(sorted(model.rngs))}, got {describe(states)}")
    for name, generator in model.rngs.items():
        try:
            generator.bit_generator.state = states[name]
        except (TypeError, ValueError, KeyError, OverflowError) as e:
            raise FeedforwardError(f"{STATE_KEY}.rngs.{name}: not a state of "
                                   f"{type(generator.bit_generator).__name__} ({e})") from None


class BackupAndRestore(Callback):
    """Save everything training needs to resume, and resume from it: crash-safe training.

    At each save the file ``backup_dir/checkpoint.safetensors`` is replaced atomically by the
    weights, the optimizer state, the epoch and batch position, the running loss and metric
    sums, every random stream's state and the other callbacks' states (see
    this module). A ``fit`` with this callback that finds the file continues
    exactly where the interrupted run stopped, mid-epoch included: its final weights are
    bit-identical to those of a run that was never interrupted.

    Parameters
    ----------
    backup_dir : str or Path
        The folder of the checkpoint (created if missing).
    save_freq : "epoch" or int
        Save at the end of every epoch, or every ``save_freq`` optimizer steps.
    delete_checkpoint : bool
        Delete the checkpoint when ``fit`` ends without error (as in Keras), so that the next
        ``fit`` starts afresh.

    Attributes
    ----------
    seconds_before : float or None
        After ``on_train_begin``: the seconds spent training before this fit, by the sessions
        that the checkpoint it resumed from continues (0.0 when it found none; None for a
        checkpoint that does not record them). Each checkpoint records them plus this fit's.

    Notes
    -----
    Non-finite weights are never saved: after a divergence the last good checkpoint stays.
    The resumed ``fit`` must be given the same model configuration, data, batch size and
    callbacks; anything else is refused with an error.
    """

    FILE = "checkpoint.safetensors"
    runs_last = True  # it saves what every other callback holds

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        if save_freq != "epoch":
            save_freq = int(check_number(save_freq, "save_freq", low=1, integer=True))
        self.backup_dir, self.save_freq = str(backup_dir), save_freq
        self.delete_checkpoint = bool(delete_checkpoint)

    @property
    def path(self) -> str:
        return os.path.join(self.backup_dir, self.FILE)

    def _others(self):
        return [cb for cb in self.trainer.callbacks if has_state(cb)]

    def on_train_begin(self, logs=None):
        try:
            os.makedirs(self.backup_dir, exist_ok=True)
        except OSError as e:
            raise FeedforwardError(f"backup_dir: cannot create {self.backup_dir!r} "
                                   f"({e.strerror or e})") from None
        trainer = self.trainer
        self.digest = fingerprint(trainer.x, trainer.y)
        self._start, self.seconds_before = time.perf_counter(), 0.0
        if os.path.exists(self.path):
            position = restore(self.path, self.model, self._others(), self.digest, self.params)
            self.seconds_before = position["seconds"]
            trainer.resume_from(position)

    def on_batch_end(self, batch, logs=None):
        if not np.isfinite((logs or {}).get("loss", 0.0)):
            return  # a diverged step: the engine has undone the epoch and is stopping
        if self.save_freq != "epoch" and self.model.optimizer.iterations % self.save_freq == 0:
            # epoch, batches done, running sums; the permutation of this epoch is drawn
            # again from the shuffling stream's state at its start
            self._save(self.trainer.position, self.trainer.shuffle_state)

    def on_epoch_end(self, epoch, logs=None):
        if np.isfinite((logs or {}).get("loss", 0.0)):
            self._save({"epoch": epoch + 1, "batch": 0, "total": 0.0, "seen": 0,
                        "stopped": bool(self.model.stop_training)},
                       self.model.rngs["shuffle"].bit_generator.state)

    def _save(self, position, shuffle_state):
        if np.isfinite(self.model.params).all():  # else the run diverged: keep the last good
            if self.seconds_before is not None:
                now = time.perf_counter()
                position = {**position, "seconds": self.seconds_before + now - self._start}
            write(self.path, self.model, position, shuffle_state, self._others(), self.digest)

    def on_train_end(self, logs=None):
        if self.trainer.finished and self.delete_checkpoint and os.path.exists(self.path):
            os.remove(self.path)
            if not os.listdir(self.backup_dir):  # a folder made for the checkpoint alone
                os.rmdir(self.backup_dir)
