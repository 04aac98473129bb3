"""Weight penalties: ``penalty(w) -> float`` is added to the loss, ``gradient(w)`` to dL/dw.

As in Keras, ``L2(l2)`` is ``l2 * sum(w^2)`` (no factor 1/2), so its gradient is ``2 l2 w``.
"""

from __future__ import annotations

import numpy as np

from ._registry import Configurable, Registry
from .errors import check_number


class Regularizer(Configurable):
    name = "regularizer"
    aliases: tuple[str, ...] = ()
    _config_keys = ("l1", "l2")

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = float(check_number(l1, "l1", low=0))
        self.l2 = float(check_number(l2, "l2", low=0))

    def penalty(self, w: np.ndarray) -> float:
        """R(w) = l1 * sum|w| + l2 * sum w^2."""
        out = 0.0
        if self.l1:
            out += self.l1 * float(np.abs(w).sum())
        if self.l2:
            out += self.l2 * float(np.vdot(w, w))
        return out

    def gradient(self, w: np.ndarray) -> np.ndarray:
        """dR/dw = l1 * sign(w) + 2 l2 w."""
        g = np.zeros_like(w)
        if self.l1:
            g += self.l1 * np.sign(w)
        if self.l2:
            g += (2 * self.l2) * w
        return g


class L1L2(Regularizer):
    """R(w) = l1 * sum|w| + l2 * sum w^2."""

    name = "l1_l2"


class L1(Regularizer):
    """R(w) = l1 * sum|w| (lasso; drives weights to exactly zero)."""

    name = "l1"
    _config_keys = ("l1",)

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)


class L2(Regularizer):
    """R(w) = l2 * sum w^2 (ridge, weight decay)."""

    name = "l2"
    _config_keys = ("l2",)

    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)


ALL = [L1, L2, L1L2]
registry = Registry("regularizer", ALL, base=Regularizer)
get, serialize, deserialize = registry.get, registry.serialize, registry.deserialize
