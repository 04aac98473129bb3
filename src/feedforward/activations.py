"""Activation functions, each with its derivative written beside it.

An activation is a small object: ``f(x)`` computes ``y``, and ``f.backward(x, y, grad_y)``
returns ``grad_x = grad_y * f'(x)`` using whichever of ``x`` and ``y`` is cheaper.
All are element-wise except softmax, which acts on each row.

Every formula is arranged so that inputs of magnitude 1e4 give no overflow warning.
"""

from __future__ import annotations

import math

import numpy as np

from . import kernels
from ._registry import Configurable, Registry
from .errors import check_number


def _erf(x):
    """Exact erf, vectorised: SciPy's when installed (imported on first use, as it costs a
    quarter second of start-up), else math.erf element by element."""
    try:
        from scipy.special import erf
    except ImportError:  # pragma: no cover - depends on the environment
        return np.frompyfunc(math.erf, 1, 1)(x)
    return erf(x)


class Activation(Configurable):
    """Base class. Subclasses set ``name`` and define ``__call__`` and ``backward``."""

    name = "activation"
    aliases: tuple[str, ...] = ()
    kernel: int | None = None
    """The code of the compiled loop that adds the bias and applies this activation in one pass
    (see :func:`feedforward.kernels.bias_activation`); None where NumPy's functions are used."""

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Apply the activation: ``y = f(x)``.

        Parameters
        ----------
        x : ndarray
            The pre-activations, e.g. of shape (n, units); softmax acts on the last axis.

        Returns
        -------
        ndarray
            ``y``, of the shape of ``x``.
        """
        raise NotImplementedError

    def backward(self, x: np.ndarray, y: np.ndarray, grad_y: np.ndarray) -> np.ndarray:
        """Backpropagate through the activation: ``grad_x = grad_y * f'(x)``.

        Parameters
        ----------
        x : ndarray
            The input of the forward pass, e.g. of shape (n, units).
        y : ndarray
            The output ``f(x)`` of the forward pass, of the shape of ``x``.
        grad_y : ndarray
            The gradient of the loss with respect to ``y``, of the shape of ``x``.

        Returns
        -------
        ndarray
            ``grad_x``, the gradient of the loss with respect to ``x``, of the shape of ``x``.
        """
        raise NotImplementedError


class Linear(Activation):
    """f(x) = x;  f'(x) = 1."""

    name = "linear"
    aliases = ("identity", "none")
    kernel = 0

    def __call__(self, x):
        return x

    def backward(self, x, y, grad_y):
        return grad_y


class ReLU(Activation):
    """f(x) = max(0, x);  f'(x) = 1 if x > 0 else 0."""

    name = "relu"
    kernel = 1

    def __call__(self, x):
        return np.maximum(x, 0)

    def backward(self, x, y, grad_y):
        return grad_y * (y > 0)


class LeakyReLU(Activation):
    """f(x) = x if x > 0 else alpha * x;  f'(x) = 1 if x > 0 else alpha.

    Parameters
    ----------
    alpha : float
        The slope for negative inputs (default 0.01); at least 0.
    """

    name = "leaky_relu"
    _config_keys = ("alpha",)
    kernel = 2

    def __init__(self, alpha: float = 0.01):
        self.alpha = float(check_number(alpha, "alpha", low=0))

    def __call__(self, x):
        return np.where(x > 0, x, self.alpha * x)

    def backward(self, x, y, grad_y):
        return grad_y * np.where(x > 0, 1.0, self.alpha).astype(x.dtype, copy=False)


class ELU(Activation):
    """f(x) = x if x > 0 else alpha * (exp(x) - 1);  f'(x) = 1 if x > 0 else f(x) + alpha.

    Parameters
    ----------
    alpha : float
        The scale of the negative part: f(x) tends to -alpha as x goes to -inf (default 1.0);
        at least 0.
    """

    name = "elu"
    _config_keys = ("alpha",)

    def __init__(self, alpha: float = 1.0):
        self.alpha = float(check_number(alpha, "alpha", low=0))

    def __call__(self, x):
        # expm1 of the clipped input: exact near 0 and never overflows for large x
        return np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))

    def backward(self, x, y, grad_y):
        return grad_y * np.where(x > 0, 1, y + self.alpha)


class SELU(Activation):
    """f(x) = scale * elu(x, alpha) with the self-normalising constants of Klambauer et al. (2017).

    f'(x) = scale if x > 0 else f(x) + scale * alpha.
    """

    name = "selu"
    alpha = 1.6732632423543772848170429916717
    scale = 1.0507009873554804934193349852946

    def __call__(self, x):
        return self.scale * np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))

    def backward(self, x, y, grad_y):
        return grad_y * np.where(x > 0, self.scale, y + self.scale * self.alpha)


class GELU(Activation):
    """f(x) = x * Phi(x), Phi the standard normal CDF (Hendrycks & Gimpel, 2016).

    f'(x) = Phi(x) + x * phi(x). With ``approximate=True``, Phi(x) is replaced by
    0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))).

    Parameters
    ----------
    approximate : bool
        Use the tanh approximation of Phi instead of the exact erf (default False).
    """

    name = "gelu"
    _config_keys = ("approximate",)
    _c = math.sqrt(2 / math.pi)

    def __init__(self, approximate: bool = False):
        self.approximate = bool(approximate)

    def _cdf(self, x):
        if self.approximate:
            return 0.5 * (1 + np.tanh(self._c * (x + 0.044715 * x**3)))
        return (0.5 * (1 + _erf(x / math.sqrt(2)))).astype(x.dtype, copy=False)

    def __call__(self, x):
        return x * self._cdf(x)

    def backward(self, x, y, grad_y):
        if self.approximate:
            t = np.tanh(self._c * (x + 0.044715 * x**3))
            d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * self._c * (1 + 3 * 0.044715 * x * x)
        else:
            pdf = np.exp(-0.5 * np.minimum(x * x, 1e4)) / math.sqrt(2 * math.pi)
            d = self._cdf(x) + x * pdf
        return grad_y * d


def _sigmoid(x):
    # exp of -|x| only, so neither branch overflows
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Activation):
    """f(x) = 1 / (1 + exp(-x));  f'(x) = f(x) * (1 - f(x))."""

    name = "sigmoid"
    aliases = ("logistic",)

    def __call__(self, x):
        return _sigmoid(x)

    def backward(self, x, y, grad_y):
        return grad_y * y * (1 - y)


class SiLU(Activation):
    """f(x) = x * sigmoid(x) (Elfwing et al., 2017; "swish").

    f'(x) = s + x s (1 - s), with s = sigmoid(x).
    """

    name = "silu"
    aliases = ("swish",)

    def __call__(self, x):
        return x * _sigmoid(x)

    def backward(self, x, y, grad_y):
        s = _sigmoid(x)
        return grad_y * (s + x * s * (1 - s))


class Softplus(Activation):
    """f(x) = log(1 + exp(x));  f'(x) = sigmoid(x)."""

    name = "softplus"

    def __call__(self, x):
        return np.logaddexp(0, x).astype(x.dtype, copy=False)

    def backward(self, x, y, grad_y):
        return grad_y * _sigmoid(x)


class Softsign(Activation):
    """f(x) = x / (1 + |x|);  f'(x) = 1 / (1 + |x|)^2."""

    name = "softsign"

    def __call__(self, x):
        return x / (1 + np.abs(x))

    def backward(self, x, y, grad_y):
        return grad_y / (1 + np.abs(x)) ** 2


class Tanh(Activation):
    """f(x) = tanh(x);  f'(x) = 1 - f(x)^2."""

    name = "tanh"

    def __call__(self, x):
        return np.tanh(x)

    def backward(self, x, y, grad_y):
        return grad_y * (1 - y * y)


class Softmax(Activation):
    """f(x)_j = exp(x_j) / sum_k exp(x_k) over the last axis.

    The Jacobian is diag(y) - y y^T, so grad_x = y * (grad_y - sum_k grad_y_k y_k).
    Followed by categorical cross-entropy, ``compile`` skips this and uses the fused
    gradient (p - y) / n instead (see :mod:`feedforward.losses`).
    """

    name = "softmax"

    def __call__(self, x, out=None):
        """``y = f(x)``, written into ``out`` (of the shape of ``x``) when given.

        Parameters
        ----------
        x : ndarray of shape (n, classes)
            The pre-activations.
        out : ndarray of shape (n, classes), optional
            Where to write ``y`` (may be ``x``); a new array by default.

        Returns
        -------
        ndarray of shape (n, classes)
            ``y``.
        """
        return kernels.softmax(x, out)

    def backward(self, x, y, grad_y):
        return y * (grad_y - (grad_y * y).sum(axis=-1, keepdims=True))


_STOCK_CALLS = {cls: cls.__call__ for cls in (Linear, ReLU, LeakyReLU)}


def kernel_code(activation) -> int | None:
    """The ``kernel`` code of ``activation`` when the compiled loop may stand in for it: its
    class is one of those defined here, with its ``__call__`` as written here (a subclass or a
    replaced method runs as its own Python code).

    Parameters
    ----------
    activation : Activation

    Returns
    -------
    int or None
    """
    cls = type(activation)
    return cls.kernel if _STOCK_CALLS.get(cls) is cls.__call__ else None


ALL = [Linear, ReLU, LeakyReLU, ELU, SELU, GELU, Sigmoid, SiLU, Softplus, Softsign, Tanh, Softmax]
registry = Registry("activation", ALL, base=Activation)
get, serialize, deserialize = registry.get, registry.serialize, registry.deserialize
