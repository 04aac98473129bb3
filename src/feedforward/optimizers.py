"""Optimizers: one object per model, holding per-parameter state, updating in place.

``apply(params, grads)`` takes lists of arrays (the model passes its flat parameter and
gradient buffers, so one update touches the whole model in a few vectorised passes).
Numerics follow ``torch.optim`` of the same name; argument names follow Keras.
"""

from __future__ import annotations

import numpy as np

from ._registry import Configurable, Registry
from .errors import FeedforwardError, check_number, describe


class Optimizer(Configurable):
    """Base class: learning rate (a float or a schedule ``step -> rate``), step counter, slots.

    ``slots`` maps a slot name (``"velocity"``, ...) to a list of arrays, one per parameter
    array given to ``apply``; they are saved in model files as ``optimizer.<slot>.<i>``.
    """

    name = "optimizer"
    aliases: tuple[str, ...] = ()
    slot_names: tuple[str, ...] = ()

    def __init__(self, learning_rate=0.01):
        if callable(learning_rate):
            self.learning_rate = learning_rate
        else:
            self.learning_rate = float(check_number(learning_rate, "learning_rate", low=0,
                                                    low_open=True))
        self.iterations = 0
        self.slots: dict[str, list[np.ndarray]] = {}

    @property
    def lr(self) -> float:
        """The learning rate for the current step (a schedule is evaluated at ``iterations``)."""
        if callable(self.learning_rate):
            return float(self.learning_rate(self.iterations))
        return self.learning_rate

    def get_config(self):
        lr = self.learning_rate
        if callable(lr):
            if not hasattr(lr, "get_config"):
                raise FeedforwardError(
                    f"learning_rate: a schedule without get_config cannot be saved, got {describe(lr)}")
            lr = {"class_name": type(lr).name, "config": lr.get_config()}
        return {"learning_rate": lr, **{k: getattr(self, k) for k in self._config_keys}}

    def build(self, params):
        """Create the slots for these parameter arrays (zeros, as in torch.optim)."""
        self.slots = {s: [np.zeros_like(p) for p in params] for s in self.slot_names}

    def apply(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """One step: update every array of ``params`` in place from ``grads``."""
        if self.slot_names and not self.slots:
            self.build(params)
        lr = self.lr
        for i, (p, g) in enumerate(zip(params, grads)):
            self._update(i, p, g, lr)
        self.iterations += 1

    def _update(self, i, p, g, lr):
        raise NotImplementedError


class SGD(Optimizer):
    r"""Stochastic gradient descent.

    .. math::
        \theta_t = \theta_{t-1} - \gamma\, g_t

    with :math:`\gamma` = ``learning_rate`` and :math:`g_t` the gradient of the loss on the batch.
    Batch, stochastic and mini-batch gradient descent are this rule with ``batch_size`` = n, 1, k.
    (Robbins & Monro, 1951.)
    """

    name = "SGD"
    aliases = ("gradient_descent",)

    def _update(self, i, p, g, lr):
        p -= lr * g


ALL = [SGD]
registry = Registry("optimizer", ALL, base=Optimizer)
get, serialize, deserialize = registry.get, registry.serialize, registry.deserialize
