"""Loss functions: ``value(y_pred, y_true) -> float`` and ``gradient(y_pred, y_true) -> array``.

``y_pred`` has shape ``(n, k)``. ``y_true`` may have the same shape, or shape ``(n,)``:
integer class labels for categorical cross-entropy, one target per sample otherwise.
Every loss is a mean over the batch (and over outputs), except ``sse``, which is a sum.

**The fused gradient.** Softmax followed by categorical cross-entropy, and sigmoid followed by
binary cross-entropy, have the joint derivative ``dL/dz = (p - y) / n`` with respect to the
pre-activation ``z`` (``n`` counts the averaged elements). Multiplying the loss gradient
``-y / p`` by the activation's Jacobian gives the same value, but divides by ``p`` (which
underflows to 0 for confident predictions) and costs more. ``Sequential.compile`` recognises
these pairs through ``Loss.fused_activation`` and calls ``Loss.fused_gradient`` instead.
"""

from __future__ import annotations

import numpy as np

from ._registry import Configurable, Registry
from .errors import FeedforwardError, as_array, cast, check_number

EPSILON = 1e-7  # probabilities are clipped to [EPSILON, 1 - EPSILON] before a log, as in Keras


def match_targets(y_true, y_pred: np.ndarray, labels: bool = False) -> np.ndarray:
    """Bring targets to the shape of ``y_pred``, checking them.

    Parameters
    ----------
    y_true : array_like of shape (n,) or (n, k)
        Targets. With ``labels=True`` and ``k > 1``, a vector of integer labels becomes
        one-hot rows, and so does a column of labels of shape ``(n, 1)`` (as Keras' sparse
        cross-entropy takes it). Otherwise a vector becomes a column.
    y_pred : ndarray of shape (n, k)
        Predictions, whose shape and float type the targets take.
    labels : bool
        Whether integer label vectors mean classes.

    Returns
    -------
    ndarray of shape (n, k)
        The targets, of ``y_pred``'s dtype.

    Raises
    ------
    FeedforwardError
        When the shapes or label values cannot match, or targets overflow the float type.
    """
    y = as_array(y_true, "y", ndim=(1, 2))
    n, k = y_pred.shape
    if y.shape[0] != n:
        raise FeedforwardError(f"y: expected {n} rows to match the predictions, got {y.shape[0]}")
    if labels and k > 1 and y.shape[1:] == (1,):
        y = y[:, 0]
    if y.ndim == 1 and labels and k > 1:
        if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
            raise FeedforwardError("y: expected integer class labels, got non-integer values")
        lo, hi = y.min().item(), y.max().item()
        if lo < 0 or hi >= k:
            fix = (f"; {int(hi) + 1} classes need an output layer of {int(hi) + 1} units"
                   if lo >= 0 else "")
            raise FeedforwardError(
                f"y: expected class labels in [0, {k - 1}] for {k} outputs, "
                f"got labels in [{lo:g}, {hi:g}]{fix}")
        onehot = np.zeros((n, k), dtype=y_pred.dtype)
        onehot[np.arange(n), y.astype(np.intp)] = 1
        return onehot
    if y.ndim == 1:
        y = y[:, None]
    if y.shape[1] != k:
        raise FeedforwardError(
            f"y: expected {k} column(s) to match the model's {k} output(s), got shape {y.shape}")
    return cast(y, y_pred.dtype, "y")


class Loss(Configurable):
    """Base class. ``labels`` says whether integer label vectors mean classes."""

    name = "loss"
    aliases: tuple[str, ...] = ()
    labels = False
    fused_activation: str | None = None
    # the output activations whose values the loss reads right (None: any)
    output_activations: tuple[str, ...] | None = None
    reduction = "mean"  # how batch values combine into an epoch value: "mean" or "sum"

    def check_output(self, activation: str, units: int) -> None:
        """Refuse an output layer that this loss cannot train to right answers.

        The rule for every surface (API, CLI, playground): the message names the fix.

        Parameters
        ----------
        activation : str
            The name of the output layer's activation (``"linear"`` for none).
        units : int
            The number of outputs.

        Raises
        ------
        FeedforwardError
            For softmax over one output (always 1, whatever the data), categorical
            cross-entropy over one output, or an activation whose values are not the
            probabilities the loss reads.
        """
        two = ("for two classes use Dense(1, activation='sigmoid') with "
               "loss='binary_crossentropy', or Dense(2, activation='softmax') with "
               "loss='categorical_crossentropy'")
        if activation == "softmax" and units == 1:
            raise FeedforwardError(f"softmax over a single output is always 1, so the model "
                                   f"predicts one class for every row; {two}")
        if self.labels and units == 1:
            raise FeedforwardError(f"{self.name} needs one output per class (at least 2), got "
                                   f"a single output; {two}")
        if self.output_activations and activation not in self.output_activations:
            want = self.output_activations[0]
            raise FeedforwardError(
                f"{self.name} reads the outputs as probabilities, which activation "
                f"{activation!r} does not give; end the model with activation={want!r}")

    def prepare(self, y_true, y_pred):
        """Targets in the shape of ``y_pred``; checked (see :func:`match_targets`).

        The public methods prepare their targets, unless told ``prepared=True``: the model
        prepares them once per ``fit`` and passes them prepared on every batch.

        Parameters
        ----------
        y_true : array_like of shape (n,) or (n, k)
            Targets: rows like ``y_pred``, or one value or (for ``labels``) class label per row.
        y_pred : ndarray of shape (n, k)
            Predictions, whose shape and float type the targets take.

        Returns
        -------
        ndarray of shape (n, k)
            The targets, of ``y_pred``'s dtype.
        """
        return match_targets(y_true, y_pred, self.labels)

    def value(self, y_pred, y_true, prepared=False) -> float:
        """The loss of a batch.

        Parameters
        ----------
        y_pred : ndarray of shape (n, k)
            Predictions (probabilities for the cross-entropies).
        y_true : array_like of shape (n,) or (n, k)
            Targets (see ``prepare``).
        prepared : bool, default False
            ``y_true`` is already what ``prepare`` returns: it is used as it is.

        Returns
        -------
        float
            The mean over the batch and outputs (the sum for ``sse``).
        """
        return float(self._value(y_pred, y_true if prepared else self.prepare(y_true, y_pred)))

    def gradient(self, y_pred, y_true, prepared=False) -> np.ndarray:
        """The gradient of ``value`` with respect to the predictions.

        Parameters
        ----------
        y_pred : ndarray of shape (n, k)
            Predictions (probabilities for the cross-entropies).
        y_true : array_like of shape (n,) or (n, k)
            Targets (see ``prepare``).
        prepared : bool, default False
            ``y_true`` is already what ``prepare`` returns: it is used as it is.

        Returns
        -------
        ndarray of shape (n, k)
            dL/dp, including the batch mean's ``1 / n`` (or ``1 / size``).
        """
        return self._gradient(y_pred, y_true if prepared else self.prepare(y_true, y_pred))

    def fused_gradient(self, p, y_true, prepared=False) -> np.ndarray:
        """dL/dz through the fused activation: ``(p - y) / size`` (see the module docstring).

        Parameters
        ----------
        p : ndarray of shape (n, k)
            The output of ``fused_activation`` (softmax or sigmoid probabilities).
        y_true : array_like of shape (n,) or (n, k)
            Targets (see ``prepare``).
        prepared : bool, default False
            ``y_true`` is already what ``prepare`` returns: it is used as it is.

        Returns
        -------
        ndarray of shape (n, k)
            The gradient with respect to the pre-activation ``z``.
        """
        return self._fused_gradient(p, y_true if prepared else self.prepare(y_true, p))

    def _fused_gradient(self, p, y):
        return (p - y) / (p.shape[0] if self.labels else p.size)


class SSE(Loss):
    """L = sum_ij (p_ij - y_ij)^2;  dL/dp = 2 (p - y)."""

    name = "sse"
    aliases = ("sum_squared_error",)
    reduction = "sum"

    def _value(self, p, y):
        d = p - y
        return np.sum(d * d)

    def _gradient(self, p, y):
        return 2 * (p - y)


class MSE(Loss):
    """L = mean_ij (p_ij - y_ij)^2;  dL/dp = 2 (p - y) / size."""

    name = "mse"
    aliases = ("mean_squared_error", "squared_error")

    def _value(self, p, y):
        d = p - y
        return np.mean(d * d)

    def _gradient(self, p, y):
        return (2 / p.size) * (p - y)


class MAE(Loss):
    """L = mean_ij |p_ij - y_ij|;  dL/dp = sign(p - y) / size."""

    name = "mae"
    aliases = ("mean_absolute_error",)

    def _value(self, p, y):
        return np.mean(np.abs(p - y))

    def _gradient(self, p, y):
        return np.sign(p - y) / p.size


class Huber(Loss):
    """L = mean of 0.5 d^2 where |d| <= delta, else delta (|d| - 0.5 delta), d = p - y.

    dL/dp = clip(d, -delta, delta) / size.

    Parameters
    ----------
    delta : float, default 1.0
        Where the loss turns from quadratic to linear; positive.
    """

    name = "huber"
    aliases = ("huber_loss",)
    _config_keys = ("delta",)

    def __init__(self, delta: float = 1.0):
        self.delta = float(check_number(delta, "delta", low=0, low_open=True))

    def _value(self, p, y):
        a = np.abs(p - y)
        return np.mean(np.where(a <= self.delta, 0.5 * a * a, self.delta * (a - 0.5 * self.delta)))

    def _gradient(self, p, y):
        return np.clip(p - y, -self.delta, self.delta) / p.size


class BinaryCrossentropy(Loss):
    """L = -mean(y log p + (1 - y) log(1 - p)), targets in [0, 1], ``p`` probabilities.

    dL/dp = (p - y) / (p (1 - p)) / size. Fused with a sigmoid output: (p - y) / size.
    """

    name = "binary_crossentropy"
    aliases = ("log_loss", "bce")
    fused_activation = "sigmoid"
    output_activations = ("sigmoid", "softmax")  # softmax over k > 1 outputs (one-hot rows)

    def prepare(self, y_true, y_pred):
        k = y_pred.shape[1]
        if k > 1 and np.ndim(y_true) == 1:
            raise FeedforwardError(
                f"y: binary cross-entropy over {k} outputs takes {k} columns of targets in "
                f"[0, 1] (one per output), got a vector; for {k} classes given as labels use "
                f"Dense({k}, activation='softmax') with loss='categorical_crossentropy'")
        y = super().prepare(y_true, y_pred)
        lo, hi = y.min().item(), y.max().item()
        if lo < 0 or hi > 1:
            fix = (f"; for class labels 0 .. {hi:g} use Dense({int(hi) + 1}, "
                   "activation='softmax') with loss='categorical_crossentropy'"
                   if lo >= 0 and np.array_equal(y, np.round(y)) else "")
            raise FeedforwardError(
                f"y: binary cross-entropy expects targets in [0, 1], got values in "
                f"[{lo:g}, {hi:g}]{fix}")
        return y

    def _value(self, p, y):
        p = np.clip(p, EPSILON, 1 - EPSILON)
        return -np.mean(y * np.log(p) + (1 - y) * np.log1p(-p))

    def _gradient(self, p, y):
        p = np.clip(p, EPSILON, 1 - EPSILON)
        return (p - y) / (p * (1 - p)) / p.size


class CategoricalCrossentropy(Loss):
    """L = -(1/n) sum_i sum_j y_ij log p_ij, with ``p`` rows of probabilities.

    ``y`` is one-hot (or probability) rows, or integer labels ``(n,)``.
    dL/dp = -y / (n p). Fused with a softmax output: (p - y) / n.
    """

    name = "categorical_crossentropy"
    aliases = ("sparse_categorical_crossentropy", "cce", "cross_entropy", "crossentropy")
    labels = True
    fused_activation = "softmax"
    output_activations = ("softmax",)

    def prepare(self, y_true, y_pred):
        y = super().prepare(y_true, y_pred)
        lo, hi = y.min().item(), y.max().item()
        if lo < 0 or hi > 1:
            raise FeedforwardError(
                f"y: categorical cross-entropy expects one-hot or probability rows in [0, 1], "
                f"got values in [{lo:g}, {hi:g}]")
        return y

    def _value(self, p, y):
        return -np.sum(y * np.log(np.clip(p, EPSILON, 1.0))) / p.shape[0]

    def _gradient(self, p, y):
        return -y / np.clip(p, EPSILON, 1.0) / p.shape[0]


class Weighted(Loss):
    """``base`` with each row's loss and gradient scaled by a weight stored as y's last column.

    ``L = (1/n) sum_i w_i l_i`` where ``l_i`` is row ``i``'s share of ``base`` (so that
    ``w = 1`` gives ``base`` back). The weights travel with the targets, so shuffling and
    batching keep each weight with its row (the scikit-learn estimators' ``sample_weight``).
    Registered in no registry: a model compiled with it is not saved with its loss.

    Parameters
    ----------
    base : MSE, BinaryCrossentropy or CategoricalCrossentropy
        The loss whose rows are weighted.

    Examples
    --------
    >>> import numpy as np
    >>> loss = Weighted(MSE())
    >>> float(loss.value(np.array([[1.0], [3.0]]), np.array([[0.0, 2.0], [0.0, 0.0]])))
    1.0
    """

    def __init__(self, base):
        if not isinstance(base, (MSE, BinaryCrossentropy, CategoricalCrossentropy)):
            raise FeedforwardError(f"base: expected mse, binary_crossentropy or "
                                   f"categorical_crossentropy, got {type(base).__name__}")
        self.base = base
        self.name, self.fused_activation = base.name, base.fused_activation

    def prepare(self, y_true, y_pred):
        """The base loss's targets ``(n, k)`` with the weights as a last column ``(n, k + 1)``.

        Parameters
        ----------
        y_true : array_like of shape (n, k + 1)
            Targets as the base loss takes them, then each row's weight.
        y_pred : ndarray of shape (n, k)
            Predictions, whose float type the result takes.

        Returns
        -------
        ndarray of shape (n, k + 1)
        """
        y = np.asarray(y_true)
        return np.hstack([self.base.prepare(y[:, :-1], y_pred), y[:, -1:].astype(y_pred.dtype)])

    def _rows(self, p, y):
        """Per-row losses ``l_i`` of shape (n,), whose mean is ``base._value(p, y)``."""
        if isinstance(self.base, MSE):
            return np.mean((p - y) ** 2, axis=1)
        p = np.clip(p, EPSILON, 1 - EPSILON)
        if isinstance(self.base, BinaryCrossentropy):
            return -np.mean(y * np.log(p) + (1 - y) * np.log1p(-p), axis=1)
        return -np.sum(y * np.log(p), axis=1)

    def _value(self, p, y):
        return np.mean(y[:, -1] * self._rows(p, y[:, :-1]))

    def _gradient(self, p, y):
        return y[:, -1:] * self.base._gradient(p, y[:, :-1])

    def _fused_gradient(self, p, y):
        return y[:, -1:] * self.base._fused_gradient(p, y[:, :-1])


ALL = [SSE, MSE, MAE, Huber, BinaryCrossentropy, CategoricalCrossentropy]
registry = Registry("loss", ALL, base=Loss)
get, serialize, deserialize = registry.get, registry.serialize, registry.deserialize
