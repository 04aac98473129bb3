"""A training monitor: per-layer statistics of activations, gradients and weights.

Each record holds, for every layer with parameters or an activation:

- ``dead_fraction``: the fraction of ReLU units never active on the probe batch (hidden layers);
- ``saturated_fraction``: the fraction of sigmoid / tanh outputs where the derivative is below
  5 % of its maximum (hidden layers);
- ``grad_norm``, ``weight_norm``: Euclidean norms over the layer's parameters;
- ``update_ratio``: ``||w_t - w_{t-1}|| / ||w_t||`` for the last optimizer step;
- ``act_mean``, ``act_std``: of the layer's outputs on the probe batch;
- ``symmetric``: whether all units of the layer have the same incoming weights and bias, as
  when a constant initialization was never broken;
- ``capped_fraction``: for a layer with a max-norm constraint, the share of units whose
  incoming weights are at the cap.

Each record also holds the probe's data ``loss`` (None when its targets are unknown) and the
regularization ``penalty``; for a classifier with one class per sample, ``class_count``
(each class's rows) and ``class_recall`` (the share of each class's rows predicted as that
class, None for an absent class): on up to 1024 training rows when recording per epoch and a
class is rare among them, else on the probe. With ``initial=True`` a first record
(``epoch`` -1) is measured before the first step, with the gradients of the probe batch.

The probe batch is taken once from the training data, by default its first ``probe_size`` rows
as the first layer sees them (preprocessed), and run in inference mode:
the monitor draws no random numbers and leaves the training trajectory unchanged.
"""

from __future__ import annotations

import json

import numpy as np

from ..callbacks import Callback
from ..errors import FeedforwardError, check_number

SATURATION = {"sigmoid": lambda y: y * (1 - y) < 0.05 * 0.25,  # f' below 5 % of its peak
              "tanh": lambda y: 1 - y * y < 0.05}
DEAD = {"relu"}
CLASSIFIERS = ("categorical_crossentropy", "binary_crossentropy")
CLASS_PROBE = 1024  # rows whose predictions give each class's recall: 30 of a 3 % class


class Monitor(Callback):
    """Record per-layer statistics every ``every`` epochs, or every ``every_steps`` steps.

    Parameters
    ----------
    every : int
        Record at the end of every ``every``-th epoch (the default frequency: each epoch).
    every_steps : int, optional
        Record after every ``every_steps``-th optimizer step instead.
    probe_size : int
        Rows of the probe batch.
    probe : array of shape (n, features), optional
        Raw inputs to use as the probe (preprocessed like ``fit``'s inputs); by default the
        first ``probe_size`` training rows that the first layer sees.
    initial : bool
        Also record once before the first step (``epoch`` -1), with the probe's gradients; not
        for a run resumed from a checkpoint.

    Attributes
    ----------
    records : list of dict
        ``{"epoch", "step", "layers": [{"index", "layer", "activation", ...}]}``, one per
        recording. ``fit``'s History holds the monitor as ``history.monitor``.
    inputs : dict
        ``{"mean": [...], "std": [...]}`` of each feature of the probe, as the first layer sees it.
    """

    def __init__(self, every=1, every_steps=None, probe_size=256, probe=None, initial=False):
        self.every = int(check_number(every, "every", low=1, integer=True))
        self.every_steps = None if every_steps is None else int(
            check_number(every_steps, "every_steps", low=1, integer=True))
        self.probe_size = int(check_number(probe_size, "probe_size", low=1, integer=True))
        self._raw_probe = probe
        self.initial = bool(initial)
        self._probe_y = self._class_probe = None
        self.records: list[dict] = []
        self.inputs: dict = {}
        self._probe = None
        self._epoch = self._step = 0
        self._previous = None

    def set_data(self, x):
        """Use the raw inputs ``x`` (n, features) as the probe batch.

        Parameters
        ----------
        x : array of shape (n, features)
            Raw inputs, preprocessed like ``fit``'s at the start of training; the first
            ``probe_size`` rows are used.
        """
        self._raw_probe = x

    # ------------------------------------------------------------------ hooks
    def on_train_begin(self, logs=None):
        model, trainer = self.model, self.trainer
        self.records, self.inputs, self._step, self._previous = [], {}, 0, None
        self._latest = None  # the weights after the latest step (a stream of unknown length)
        if self._raw_probe is not None:
            self._probe = model.prepare_x(self._raw_probe, "probe")[:self.probe_size].copy()
            self._probe_y = None
        else:  # the first training rows (of a stream's first batch), as the layer sees them
            self._probe, self._probe_y = trainer.sample(self.probe_size)
        self._class_probe = None
        # per epoch only: a record every few steps would pay a pass over those rows each time
        if (getattr(model.loss, "name", "") in CLASSIFIERS and self._raw_probe is None
                and self.every_steps is None):
            self._class_probe = _rare_class_rows(*trainer.sample(CLASS_PROBE))
        trainer.history.monitor = self
        self._pending = self.initial  # recorded at the first epoch's start: see on_epoch_begin

    def _initial_due(self, epoch) -> bool:
        """Whether to take the record at initialization now: at the start of the first epoch,
        after every callback's ``on_train_begin`` (a checkpoint restores its weights there),
        and never for a resumed run, whose weights are not the initial ones."""
        due = self._pending and epoch == 0 and self.trainer.position["batch"] == 0
        self._pending = False
        return due

    def _record_initial(self):
        """A record with the probe's gradients (the model's own gradients are kept)."""
        model = self.model
        saved = model.grads.copy()
        try:
            if self._probe_y is not None:
                with np.errstate(all="ignore"):
                    model.compute_gradients(self._probe, self._probe_y, training=False)
            self.record()
        finally:
            model.grads[...] = saved

    def on_epoch_begin(self, epoch, logs=None):
        if self._initial_due(epoch):
            self._epoch = -1
            self._record_initial()
        self._epoch = epoch
        if self.every_steps is None and self.params["steps"] == 1 and self._due_epoch(epoch):
            self._previous = self.model.params.copy()

    def on_batch_end(self, batch, logs=None):
        self._step += 1
        if self.every_steps is not None:
            if self.every_steps == 1 or self._step % self.every_steps == self.every_steps - 1:
                self._previous = self.model.params.copy()
            if self._step % self.every_steps == 0:
                self.record()
        elif self.params["steps"] is None and self._due_epoch(self._epoch):
            # a stream of unknown length: which step is the last is seen only after it
            self._previous, self._latest = self._latest, self.model.params.copy()
        elif batch == self.params["steps"] - 2 and self._due_epoch(self._epoch):
            self._previous = self.model.params.copy()  # the weights before the last step

    def on_epoch_end(self, epoch, logs=None):
        if self.every_steps is None and self._due_epoch(epoch):
            self.record()

    def _due_epoch(self, epoch):
        return (epoch + 1) % self.every == 0

    # ------------------------------------------------------------------ measuring
    def record(self) -> dict:
        """Measure the model now; append and return the record.

        Returns
        -------
        dict
            ``{"epoch", "step", "layers"}``, as in :attr:`records`.
        """
        model = self.model
        probe = self._probe
        if probe is None:
            raise FeedforwardError("Monitor: no probe batch yet; pass probe= or call set_data")
        if not self.inputs:
            self.inputs = {"mean": probe.mean(axis=0).tolist(), "std": probe.std(axis=0).tolist()}
        layers, offset = [], 0
        last = len(model.layers) - 1
        outputs = self._outputs(probe)
        for i, (layer, y) in enumerate(zip(model.layers, outputs, strict=True)):
            size = layer.count_params()
            if size == 0 and getattr(layer, "activation", None) is None:
                continue  # Dropout: the identity in inference
            entry = {"index": i, "layer": type(layer).__name__, "units": int(y.shape[1]),
                     "activation": getattr(getattr(layer, "activation", None), "name", None),
                     **activation_stats(y, _activation_name(layer), hidden=i < last)}
            if size:
                s = slice(offset, offset + size)
                entry.update(parameter_stats(layer, model.params[s], model.grads[s],
                                              None if self._previous is None
                                              else self._previous[s]))
                offset += size
            layers.append(entry)
        record = {"epoch": self._epoch, "step": self._step, "layers": layers,
                  "loss": self._loss(outputs[-1]), "penalty": float(model.penalty())}
        record.update(self._class_stats(outputs[-1]))
        self.records.append(record)
        return record

    def _class_stats(self, out) -> dict:
        """:func:`class_stats` on the class probe (:data:`CLASS_PROBE` training rows, when a
        class is rare: it has few rows among the probe's), else on the probe; empty without
        targets."""
        loss = getattr(self.model.loss, "name", "")
        if self._class_probe is not None:
            x, y = self._class_probe
            with np.errstate(all="ignore"):
                return class_stats(self.model.forward(x, False), y, loss)
        return {} if self._probe_y is None else class_stats(out, self._probe_y, loss)

    def _loss(self, out):
        """The data loss on the probe, or None when its targets are unknown or it overflows."""
        if self._probe_y is None:
            return None
        with np.errstate(all="ignore"):
            value = float(self.model.loss.value(out, self._probe_y, prepared=True))
        return value if np.isfinite(value) else None

    def _outputs(self, probe):
        """Each layer's outputs on the probe, in inference mode, in one pass."""
        outputs, x = [], probe
        for layer in self.model.layers:
            x = layer.forward(x, False)
            outputs.append(x.copy())  # layers reuse their buffers from one call to the next
        return outputs

    def measure(self, model, epoch=0, y=None) -> dict:
        """One record of ``model`` outside ``fit``, on the probe given to the constructor.

        Parameters
        ----------
        model : Sequential
            A built, compiled model.
        epoch : int
            The epoch the record is labelled with (default 0; -1 for "at initialization").
        y : array of shape (n,) or (n, outputs), optional
            Raw targets of the probe's rows: then the record has the probe's loss and the
            gradients of one backward pass over it (the model's own are kept).

        Returns
        -------
        dict
            The record, also appended to :attr:`records`; its ``update_ratio`` values are None.
        """
        if self._raw_probe is None:
            raise FeedforwardError("Monitor.measure: pass probe= (raw inputs) first")
        self.set_model(model)
        self._probe = model.prepare_x(self._raw_probe, "probe")[:self.probe_size]
        self._probe_y = None if y is None else model.prepare_y(
            y, len(self._raw_probe), "probe", "y")[:self.probe_size]
        self._epoch, self._step, self._previous = epoch, 0, None
        self.inputs = {}
        if y is None:
            return self.record()
        self._record_initial()
        return self.records[-1]

    # ------------------------------------------------------------------ export
    def to_dict(self) -> dict:
        """The probe's input statistics and the records, JSON-safe.

        Returns
        -------
        dict
            ``{"inputs": ..., "records": [...]}``.
        """
        return {"inputs": self.inputs, "records": self.records}

    def to_json(self, path=None, indent=None) -> str:
        """The records as JSON; written to ``path`` when given.

        Parameters
        ----------
        path : str or Path, optional
            The file to write.
        indent : int, optional
            The indentation of :func:`json.dumps` (default: one line).

        Returns
        -------
        str
            The JSON text of :meth:`to_dict`.
        """
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            with open(path, "w") as f:
                f.write(text)
        return text


def _activation_name(layer) -> str | None:
    act = getattr(layer, "activation", None)
    return None if act is None else act.name


def activation_stats(y, activation, hidden) -> dict:
    """Mean, std, dead and saturated fractions of a layer's outputs.

    Parameters
    ----------
    y : ndarray of shape (n, units)
        The layer's outputs on a batch.
    activation : str or None
        The layer's activation's name (``"relu"``, ``"sigmoid"``, ...), None for none.
    hidden : bool
        Whether the layer is hidden: only hidden layers get the dead and saturated fractions
        (a confident output layer is not a problem).

    Returns
    -------
    dict
        ``act_mean`` and ``act_std``; ``dead_fraction`` for a hidden ReLU layer (units never
        active on the batch); ``saturated_fraction`` for a hidden sigmoid or tanh layer.
    """
    stats = {"act_mean": float(y.mean()), "act_std": float(y.std())}
    if hidden and activation in DEAD:
        stats["dead_fraction"] = float(1 - (y > 0).any(axis=0).mean())
    if hidden and activation in SATURATION:
        stats["saturated_fraction"] = float(SATURATION[activation](y).mean())
    return stats


def _rare_class_rows(x, y):
    """``(x, y)`` when a class has under half the share of a uniform draw among these rows
    (one-hot or 0/1 targets), else None: balanced classes need no larger probe than the
    monitor's, and the pass over these rows would cost a tenth of a digits epoch."""
    counts = y.sum(axis=0) if y.shape[1] > 1 else np.array([len(y) - y.sum(), y.sum()])
    return (x, y) if len(y) and counts.min() < 0.5 * len(y) / len(counts) else None


def class_stats(out, y, loss) -> dict:
    """Each class's rows in a batch and the share of them predicted as that class.

    Parameters
    ----------
    out : ndarray of shape (n, outputs)
        The network's outputs: softmax probabilities, or one sigmoid output.
    y : ndarray of shape (n, outputs)
        The prepared targets: one-hot rows, or 0/1.
    loss : str
        The loss's name: only ``"categorical_crossentropy"`` and ``"binary_crossentropy"``
        over one output have one class per sample.

    Returns
    -------
    dict
        ``class_count`` and ``class_recall`` (lists by class id; a recall is None for a class
        with no row); empty for other losses or an empty batch.
    """
    if not len(y) or loss not in CLASSIFIERS:
        return {}
    if out.shape[1] == 1 and loss == "binary_crossentropy":
        truth, predicted = y[:, 0] > 0.5, out[:, 0] > 0.5
        truth, predicted = np.stack([~truth, truth], 1), np.stack([~predicted, predicted], 1)
    elif loss == "categorical_crossentropy":
        truth = y == y.max(axis=1, keepdims=True)
        predicted = out == out.max(axis=1, keepdims=True)
    else:  # multilabel: a sample has several classes
        return {}
    count = truth.sum(axis=0)
    hits = (truth & predicted).sum(axis=0)
    return {"class_count": count.tolist(),
            "class_recall": [float(h / c) if c else None for h, c in zip(hits, count, strict=True)]}


def parameter_stats(layer, w, g, previous) -> dict:
    """Norms, the last update's size and the symmetry of a layer's parameters.

    Parameters
    ----------
    layer : Layer
        The layer; its ``kernel`` (and ``bias``) are checked for symmetric units.
    w, g : ndarray of shape (size,)
        The layer's parameters and their gradients, flat.
    previous : ndarray of shape (size,) or None
        The parameters before the last optimizer step; None when unknown.

    Returns
    -------
    dict
        ``grad_norm`` and ``weight_norm`` (Euclidean), ``update_ratio``
        (``||w - previous|| / ||w||``, None without ``previous``) and, for a kernel of 2 or
        more units, ``symmetric``: whether every unit's incoming weights and bias are the
        first unit's (to rounding); with a max-norm constraint, ``capped_fraction``: the share
        of units whose incoming weights' norm is at the cap.
    """
    weight_norm = float(np.linalg.norm(w))
    ratio = None
    if previous is not None:
        ratio = float(np.linalg.norm(w - previous) / weight_norm) if weight_norm > 0 else 0.0
    stats = {"grad_norm": float(np.linalg.norm(g)), "weight_norm": weight_norm,
             "update_ratio": ratio}
    kernel = layer.params.get("kernel")
    if kernel is not None and kernel.ndim == 2 and kernel.shape[1] > 1:
        # every unit's incoming weights (and bias) equal to the first unit's, to rounding
        spread = np.abs(kernel - kernel[:, :1]).max()
        bias = layer.params.get("bias")
        if bias is not None:
            spread = max(spread, np.abs(bias - bias[0]).max())
        stats["symmetric"] = bool(spread <= 1e-6 * max(float(np.abs(kernel).max()), 1e-30))
    cap = getattr(layer.constraints.get("kernel"), "max_value", None)
    if kernel is not None and cap:
        norms = np.linalg.norm(kernel, axis=0)
        stats["capped_fraction"] = float((norms >= 0.99 * cap).mean())
    return stats
