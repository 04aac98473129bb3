"""What the doctor knows of a run besides its curves: the network, its training and its data.

The rules read a :class:`RunInfo` so that their causes and fixes fit the actual run: a ReLU
network never gets sigmoid advice, a rate too high is lowered from the rate in use, and a run
is "at chance" against the loss of the best constant prediction for its own targets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..callbacks import EarlyStopping
from ..layers import Dropout

SATURATING = ("sigmoid", "tanh", "softsign")
RELU_FAMILY = ("relu", "leaky_relu", "elu", "selu", "gelu", "silu", "softplus")
# the values an output activation can reach: (low, high)
OUTPUT_RANGES = {"relu": (0.0, math.inf), "softplus": (0.0, math.inf),
                 "sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0),
                 "softsign": (-1.0, 1.0), "elu": (-1.0, math.inf),
                 "selu": (-1.7581, math.inf)}
CLASSIFICATION_LOSSES = ("categorical_crossentropy", "binary_crossentropy")


@dataclass
class RunInfo:
    """The run as the doctor's rules see it.

    Parameters
    ----------
    hidden : list of str
        The activation of each hidden layer with parameters (``"maxout"`` for Maxout).
    units : list of int
        The units of each hidden layer.
    output_activation, loss, optimizer : str
        Names; ``optimizer`` as its class is named (``"SGD"``, ``"Adam"``).
    learning_rate : float
        The rate of the optimizer's next step (a schedule evaluated now).
    initializer : str or None
        The first hidden layer's kernel initializer.
    l1, l2, max_norm : float
        The largest L1 and L2 kernel penalties and the smallest max-norm (0: none).
    dropout : float
        The largest dropout rate.
    scaled : bool
        Whether the model scales its inputs (``preprocessing``).
    clipnorm : float or None
    task : {"classification", "regression"}
        From the loss.
    chance_loss : float or None
        The loss of the best constant prediction for the training targets (the entropy of
        the class frequencies, per label for multilabel targets; the targets' variance for
        the mean squared error); None for a summed loss (``sse``) or unknown targets.
    chance_accuracy : float or None
        The largest class frequency (per label, averaged, for multilabel targets).
    class_share : list of float
        Each class's share of the training rows, by class id, for one class per sample
        (empty otherwise).
    outside_output : float
        The fraction of regression targets the output activation cannot reach.
    batch_size, samples : int or None
        Of the training data.
    reference_penalty : float
        The L1 and L2 penalties the kernels would carry at the scale of Glorot's
        initialization: the strength of the regularization, whatever the weights now.
    early_stopping : bool
        Whether an :class:`~feedforward.callbacks.EarlyStopping` watches the run.
    patience : int or None
        Its patience (None without one).
    restores_best : bool
        Whether it restores the best epoch's weights at the end.
    target_mean, target_std : float
        The largest absolute mean and the largest standard deviation of a regression's target
        columns (0 for a classification or unknown targets): the scale the output must reach.
    """

    hidden: list = field(default_factory=list)
    units: list = field(default_factory=list)
    output_activation: str = "linear"
    loss: str = "mse"
    optimizer: str = "SGD"
    learning_rate: float = 0.01
    initializer: str | None = None
    l1: float = 0.0
    l2: float = 0.0
    max_norm: float = 0.0
    dropout: float = 0.0
    scaled: bool = False
    clipnorm: float | None = None
    task: str = "regression"
    chance_loss: float | None = None
    chance_accuracy: float | None = None
    class_share: list = field(default_factory=list)
    outside_output: float = 0.0
    batch_size: int | None = None
    samples: int | None = None
    reference_penalty: float = 0.0
    target_mean: float = 0.0
    target_std: float = 0.0
    early_stopping: bool = False
    patience: int | None = None
    restores_best: bool = False

    @property
    def saturating(self) -> bool:
        """Whether any hidden layer has a saturating activation (sigmoid, tanh, ...)."""
        return any(a in SATURATING for a in self.hidden)

    @property
    def relu_like(self) -> bool:
        """Whether every hidden layer is of the ReLU family (or Maxout)."""
        return bool(self.hidden) and all(a in RELU_FAMILY or a == "maxout" for a in self.hidden)

    @property
    def adaptive(self) -> bool:
        """Whether the optimizer scales its steps per parameter (Adam, RMSprop, ...)."""
        return self.optimizer.lower() not in ("sgd",)

    @classmethod
    def of(cls, model, y=None, batch_size=None, callbacks=(), weights=None) -> RunInfo:
        """Describe a compiled, built model and its prepared training targets.

        Parameters
        ----------
        model : Sequential or None
            None: a run of which nothing is known (curves alone).
        y : ndarray, optional
            The prepared training targets (class labels or one-hot rows, or values).
        batch_size : int, optional
        callbacks : list of Callback, optional
            The fit's callbacks: an EarlyStopping among them is read.
        weights : ndarray of shape (n,), optional
            The rows' weights in the loss (``sample_weight``, ``class_weight``): the chance
            loss is then that of the weighted loss, which the logged loss is.

        Returns
        -------
        RunInfo
        """
        info = cls(batch_size=batch_size, samples=None if y is None else len(y))
        stopper = next((c for c in callbacks or () if isinstance(c, EarlyStopping)), None)
        if stopper is not None:
            info.early_stopping, info.patience = True, stopper.patience
            info.restores_best = stopper.restore_best_weights
        if model is None:
            return info
        _read_layers(info, model.layers)
        info.scaled = bool(getattr(model, "preprocessing", None))
        info.loss = getattr(model.loss, "name", "mse")
        info.task = "classification" if info.loss in CLASSIFICATION_LOSSES else "regression"
        opt = model.optimizer
        info.optimizer = type(opt).__name__
        rate = opt.learning_rate
        info.learning_rate = float(rate(opt.iterations) if callable(rate) else rate)
        info.clipnorm = getattr(opt, "clipnorm", None)
        if y is not None and len(y):
            _read_targets(info, np.asarray(y, dtype=np.float64), weights)
        return info


def _with_activations(layers) -> list:
    """``(layer, activation name)`` of each layer with parameters; an ``Activation`` layer
    right after a linear one gives it its activation (``Dense(32), Activation("sigmoid")``)."""
    out = []
    for layer in layers:
        act = getattr(layer, "activation", None)
        if getattr(layer, "params", None):
            out.append([layer, "maxout" if act is None else act.name])
        elif act is not None and out and out[-1][1] == "linear":
            out[-1][1] = act.name
    return out


def _read_layers(info, layers) -> None:
    with_params = _with_activations(layers)
    for i, (layer, name) in enumerate(with_params):
        if i == len(with_params) - 1:
            info.output_activation = name
        else:
            info.hidden.append(name)
            info.units.append(int(getattr(layer, "units", 0) or 0))
            if info.initializer is None and hasattr(layer, "kernel_initializer"):
                info.initializer = getattr(layer.kernel_initializer, "name", None)
        reg = getattr(layer, "regularizers", {}).get("kernel")
        if reg is not None:
            l1, l2 = float(getattr(reg, "l1", 0.0)), float(getattr(reg, "l2", 0.0))
            info.l1, info.l2 = max(info.l1, l1), max(info.l2, l2)
            info.reference_penalty += _reference_penalty(layer.params["kernel"].shape, l1, l2)
        con = getattr(layer, "constraints", {}).get("kernel")
        value = getattr(con, "max_value", None)
        if value is not None:
            info.max_norm = float(value) if not info.max_norm else min(info.max_norm, value)
    info.dropout = max([layer.rate for layer in layers if isinstance(layer, Dropout)],
                       default=0.0)


def _reference_penalty(shape, l1, l2) -> float:
    """``l1 * E|w|`` and ``l2 * E w^2`` summed over a kernel of Glorot's variance
    ``2 / (fan_in + fan_out)`` (for a normal w, ``E|w| = sigma sqrt(2 / pi)``)."""
    size = math.prod(shape)
    variance = 2.0 / (shape[0] + size // shape[0])
    return size * (l2 * variance + l1 * math.sqrt(variance * 2 / math.pi))


def _weighted_chance(y, weights) -> float:
    """The lowest weighted cross-entropy of a constant prediction, ``-sum_c m_c log(m_c / M)``
    with ``m_c`` the rows' weights of class ``c`` over ``n`` (the logged loss divides by the
    rows, not the weights) and ``M`` their sum."""
    onehot = y if y.ndim == 2 and y.shape[1] > 1 else np.stack([1 - y.ravel(), y.ravel()], 1)
    if y.ndim == 1 or y.shape[1] == 1 and y.max() > 1:  # labels
        onehot = np.eye(int(y.max()) + 1)[y.ravel().astype(np.int64)]
    m = (np.asarray(weights, dtype=np.float64)[:, None] * onehot).sum(axis=0) / len(y)
    m = m[m > 0]
    return float(-(m * np.log(m / m.sum())).sum())


def _read_targets(info, y, weights=None) -> None:
    if info.loss == "binary_crossentropy" and y.ndim == 2 and y.shape[1] > 1:
        p = np.clip(y.mean(axis=0), 1e-12, 1 - 1e-12)  # multilabel: one sigmoid per label
        info.chance_loss = float(-(p * np.log(p) + (1 - p) * np.log(1 - p)).mean())
        info.chance_accuracy = float(np.maximum(p, 1 - p).mean())
        return
    if info.task == "classification":
        if y.ndim == 2 and y.shape[1] > 1:  # one-hot rows
            freq = y.mean(axis=0)
        else:
            labels = y.ravel().astype(np.int64)
            freq = np.bincount(labels) / len(labels)
        if info.loss == "binary_crossentropy" and len(freq) == 1:
            freq = np.array([1 - freq[0], freq[0]])
        info.class_share = freq.tolist()
        p = freq[freq > 0]
        info.chance_loss = float(-(p * np.log(p)).sum())
        if weights is not None:  # the logged loss is weighted (class_weight, sample_weight)
            info.chance_loss = _weighted_chance(y, weights)
        info.chance_accuracy = float(freq.max())
        return
    y = y.reshape(len(y), -1)
    info.target_mean = float(np.max(np.abs(y.mean(axis=0))))
    info.target_std = float(np.max(y.std(axis=0)))
    # a summed loss (sse) has no per-row scale the rules could compare: chance stays unknown
    if info.loss == "mse":
        info.chance_loss = float(y.var(axis=0).mean())
    elif info.loss == "mae":
        info.chance_loss = float(np.abs(y - np.median(y, axis=0)).mean())
    low, high = OUTPUT_RANGES.get(info.output_activation, (-math.inf, math.inf))
    info.outside_output = float(((y < low) | (y > high)).mean())
