"""Weight penalties: ``penalty(w) -> float`` is added to the loss, ``gradient(w)`` to dL/dw.

As in Keras, ``L2(l2)`` is ``l2 * sum(w^2)`` (no factor 1/2), so its gradient is ``2 l2 w``.
"""

from __future__ import annotations

import numpy as np

from ._registry import Configurable, Registry
from .errors import check_number


class Regularizer(Configurable):
    """R(w) = l1 * sum|w| + l2 * sum w^2; the base of the weight penalties.

    Parameters
    ----------
    l1 : float
        The L1 factor (default 0); at least 0.
    l2 : float
        The L2 factor (default 0); at least 0.
    """

    name = "regularizer"
    aliases: tuple[str, ...] = ()
    _config_keys = ("l1", "l2")

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = float(check_number(l1, "l1", low=0))
        self.l2 = float(check_number(l2, "l2", low=0))

    def penalty(self, w: np.ndarray) -> float:
        """R(w) = l1 * sum|w| + l2 * sum w^2.

        Parameters
        ----------
        w : ndarray
            The parameter array, e.g. a kernel of shape (in, out).

        Returns
        -------
        float
            The penalty added to the loss.
        """
        out = 0.0
        if self.l1:
            out += self.l1 * float(np.abs(w).sum())
        if self.l2:
            out += self.l2 * float(np.vdot(w, w))
        return out

    def gradient(self, w: np.ndarray) -> np.ndarray:
        """dR/dw = l1 * sign(w) + 2 l2 w.

        Parameters
        ----------
        w : ndarray
            The parameter array, e.g. a kernel of shape (in, out).

        Returns
        -------
        ndarray
            The gradient of the penalty, of the shape of ``w``.
        """
        g = np.zeros_like(w)
        if self.l1:
            g += self.l1 * np.sign(w)
        if self.l2:
            g += (2 * self.l2) * w
        return g


class L1L2(Regularizer):
    """R(w) = l1 * sum|w| + l2 * sum w^2.

    Parameters
    ----------
    l1 : float
        The L1 factor (default 0); at least 0.
    l2 : float
        The L2 factor (default 0); at least 0.
    """

    name = "l1_l2"


class L1(Regularizer):
    """R(w) = l1 * sum|w| (lasso; drives weights to exactly zero).

    Parameters
    ----------
    l1 : float
        The factor (default 0.01); at least 0.
    """

    name = "l1"
    _config_keys = ("l1",)

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)


class L2(Regularizer):
    """R(w) = l2 * sum w^2 (ridge, weight decay).

    Parameters
    ----------
    l2 : float
        The factor (default 0.01); at least 0.
    """

    name = "l2"
    _config_keys = ("l2",)

    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)


ALL = [L1, L2, L1L2]
registry = Registry("regularizer", ALL, base=Regularizer)
get, serialize, deserialize = registry.get, registry.serialize, registry.deserialize


class Constraint(Configurable):
    """A projection applied to a parameter, in place, after every optimizer step."""

    name = "constraint"
    aliases: tuple[str, ...] = ()

    def __call__(self, w: np.ndarray) -> None:
        """Project ``w`` in place.

        Parameters
        ----------
        w : ndarray
            The parameter array, e.g. a kernel of shape (in, out); modified in place.
        """
        raise NotImplementedError


class MaxNorm(Constraint):
    """Rescale each unit's incoming weight vector to norm at most ``max_value``.

    ``w[:, j] *= min(1, max_value / ||w[:, j]||)`` for ``axis=0`` (a Dense kernel of shape
    (in, out): one column per unit). Srivastava et al. (2014) use it with dropout.

    Parameters
    ----------
    max_value : float
        The largest norm allowed (default 2.0); positive.
    axis : int
        The axis along which norms are taken (default 0); a 1-D array is one vector.
    """

    name = "max_norm"
    aliases = ("maxnorm",)
    _config_keys = ("max_value", "axis")

    def __init__(self, max_value: float = 2.0, axis: int = 0):
        self.max_value = float(check_number(max_value, "max_value", low=0, low_open=True))
        self.axis = int(check_number(axis, "axis", integer=True))

    def __call__(self, w):
        norms = np.sqrt(np.sum(w * w, axis=self.axis if w.ndim > 1 else None, keepdims=True))
        w *= np.minimum(1.0, self.max_value / np.maximum(norms, 1e-12)).astype(w.dtype, copy=False)


constraints = Registry("constraint", [MaxNorm], base=Constraint)
