"""Metrics, accumulated over batches: ``reset()``, ``update(y_pred, y_true)``, ``result()``.

Calling a metric, ``m(y_pred, y_true)``, resets it and returns the value on that data.
Targets may be labels ``(n,)`` or rows shaped like ``y_pred`` (see :func:`losses.match_targets`).
Sums are kept in float64, so the epoch value is exact, not an average of batch values.
"""

from __future__ import annotations

import numpy as np

from ._registry import Configurable, Registry
from .errors import FeedforwardError, as_array, check_number
from .losses import match_targets


class Metric(Configurable):
    """Base class: a value accumulated over batches, exact over an epoch.

    Subclasses keep sums in ``self._sums`` (``_n_sums`` of them), add one batch's sums in
    ``_batch_sums(y_pred, y_true)`` and turn them into the value in ``result()``.
    """

    name = "metric"
    aliases: tuple[str, ...] = ()
    labels = False  # whether integer label vectors mean classes

    def __init__(self):
        self.reset()

    def reset(self):
        """Forget everything seen: start a new epoch."""
        self._sums = np.zeros(self._n_sums)

    # the running sums, for a checkpoint (see feedforward.checkpoint)
    def get_state(self) -> np.ndarray | None:
        """A copy of the running sums since ``reset``.

        Returns
        -------
        ndarray of float64 or None
            Of :meth:`state_shape`; None where there is nothing yet (R2 before an update).
        """
        return None if self._sums is None else self._sums.copy()

    def state_shape(self, outputs: int) -> tuple:
        """The shape of :meth:`get_state`'s array for a model of ``outputs`` outputs.

        Parameters
        ----------
        outputs : int
            The model's number of outputs.

        Returns
        -------
        tuple of int
            ``(number of sums,)``; R2 keeps ``(4, outputs)``.
        """
        return (self._n_sums,)

    def set_state(self, sums) -> None:
        """Go on from running sums that :meth:`get_state` returned (of :meth:`state_shape`).

        Parameters
        ----------
        sums : ndarray
            The sums, copied as float64.
        """
        self._sums = np.asarray(sums).astype(np.float64)

    def update(self, y_pred, y_true):
        """Add one batch.

        Parameters
        ----------
        y_pred : ndarray of shape (n, outputs)
            The model's outputs.
        y_true : array-like of shape (n, outputs) or (n,)
            The targets: rows like ``y_pred``, or labels (see :func:`losses.match_targets`).
        """
        if not (isinstance(y_true, np.ndarray) and y_true.shape == y_pred.shape):
            y_true = match_targets(y_true, y_pred, self.labels)
        self._sums += self._batch_sums(y_pred, y_true)

    def __call__(self, y_pred, y_true) -> float:
        """Reset, then return the value on this data alone.

        Parameters
        ----------
        y_pred : array-like of shape (n, outputs)
            The model's outputs.
        y_true : array-like of shape (n, outputs) or (n,)
            The targets: rows like ``y_pred``, or labels.

        Returns
        -------
        float
            The metric's value on these ``n`` samples.
        """
        self.reset()
        self.update(as_array(y_pred, "y_pred", ndim=(2,)), y_true)
        return self.result()


class BinaryAccuracy(Metric):
    """Fraction of outputs on the right side of ``threshold``, element-wise (multi-label too).

    Parameters
    ----------
    threshold : float, default 0.5
        An output or target above it counts as class 1.
    """

    name = "binary_accuracy"
    _config_keys = ("threshold",)
    _n_sums = 2

    def __init__(self, threshold: float = 0.5):
        self.threshold = float(threshold)
        super().__init__()

    def _batch_sums(self, p, y):
        return np.sum((p > self.threshold) == (y > self.threshold)), p.size

    def result(self):
        """The fraction of correct outputs over everything seen since ``reset``.

        Returns
        -------
        float
            In [0, 1]; 0 before any update.
        """
        return float(self._sums[0] / max(self._sums[1], 1))


class CategoricalAccuracy(Metric):
    """Fraction of rows whose largest output is the true class."""

    name = "categorical_accuracy"
    aliases = ("sparse_categorical_accuracy",)
    labels = True
    _n_sums = 2

    def _batch_sums(self, p, y):
        if p.shape[1] == 1:  # the argmax of one column is always 0: accuracy 1, whatever p
            raise FeedforwardError(f"metrics: {self.name} needs an output per class; over one "
                                   "output column use binary_accuracy (or 'accuracy')")
        return np.sum(p.argmax(axis=1) == y.argmax(axis=1)), p.shape[0]

    def result(self):
        """The fraction of correctly classified rows over everything seen since ``reset``.

        Returns
        -------
        float
            In [0, 1]; 0 before any update.
        """
        return float(self._sums[0] / max(self._sums[1], 1))


class Accuracy(CategoricalAccuracy):
    """``"accuracy"``: binary for one output column, categorical otherwise.

    ``Sequential.compile`` replaces it by :class:`BinaryAccuracy` for binary cross-entropy
    (multi-label outputs) and by :class:`CategoricalAccuracy` for categorical cross-entropy.
    """

    name = "accuracy"
    aliases = ("acc",)

    def _batch_sums(self, p, y):
        if p.shape[1] == 1:
            return np.sum((p > 0.5) == (y > 0.5)), p.size
        return super()._batch_sums(p, y)


class MeanSquaredError(Metric):
    """Mean of the squared differences, over every output of every sample."""

    name = "mse"
    aliases = ("mean_squared_error",)
    _n_sums = 2

    def _batch_sums(self, p, y):
        d = p - y
        return np.sum(d * d, dtype=np.float64), p.size

    def result(self):
        """The mean of the per-element values over everything seen since ``reset``.

        Returns
        -------
        float
            Non-negative; 0 before any update.
        """
        return float(self._sums[0] / max(self._sums[1], 1))


class MeanAbsoluteError(MeanSquaredError):
    """Mean of the absolute differences, over every output of every sample."""

    name = "mae"
    aliases = ("mean_absolute_error",)

    def _batch_sums(self, p, y):
        return np.sum(np.abs(p - y), dtype=np.float64), p.size


class R2(Metric):
    """Coefficient of determination, 1 - SS_res / SS_tot, averaged uniformly over outputs.

    SS_tot is accumulated by merging each batch's mean and centred sum of squares (Chan, Golub
    & LeVeque, 1979) rather than as ``sum(y^2) - sum(y)^2 / n``, which cancels catastrophically
    for targets far from 0. The epoch value equals the value on the whole data.
    """

    name = "r2"
    aliases = ("r2_score", "r_squared")

    def reset(self):
        """Forget everything seen: start a new epoch."""
        self._sums = None  # rows n, mean, SS_tot, SS_res; one column per output

    def state_shape(self, outputs: int) -> tuple:
        return (4, outputs)

    def update(self, y_pred, y_true):
        """Add one batch, merging its mean and sums of squares into the running ones.

        Parameters
        ----------
        y_pred : ndarray of shape (n, outputs)
            The model's outputs.
        y_true : array-like of shape (n, outputs) or (n,)
            The targets.
        """
        if not (isinstance(y_true, np.ndarray) and y_true.shape == y_pred.shape):
            y_true = match_targets(y_true, y_pred)
        y = y_true.astype(np.float64)
        d = y_pred - y_true
        mean = y.mean(axis=0)
        batch = np.stack([np.full(y.shape[1], y.shape[0], dtype=np.float64), mean,
                          np.sum((y - mean) ** 2, axis=0),
                          np.sum(d * d, axis=0, dtype=np.float64)])
        self._sums = batch if self._sums is None else _merge_r2(self._sums, batch)

    def result(self):
        """R2 over everything seen since ``reset``, averaged over the outputs.

        Returns
        -------
        float
            At most 1; NaN before any update. An output with constant targets scores 1 if
            predicted exactly, else 0.
        """
        if self._sums is None:
            return float("nan")
        _, _, tot, res = self._sums
        r2 = np.where(tot > 0, 1 - res / np.where(tot > 0, tot, 1), np.where(res == 0, 1.0, 0.0))
        return float(r2.mean())


def _merge_r2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Combine two ``(4, k)`` R2 accumulators (n, mean, SS_tot, SS_res) into one."""
    (na, ma, ta, ra), (nb, mb, tb, rb) = a, b
    n = na + nb
    delta = mb - ma
    return np.stack([n, ma + delta * (nb / n), ta + tb + delta * delta * (na * nb / n), ra + rb])


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of true class ``i`` predicted as class ``j``.

    ``y_true`` and ``y_pred`` are labels ``(n,)`` or rows of scores ``(n, k)`` (argmax taken;
    a single column is thresholded at 0.5).

    Parameters
    ----------
    y_true : array-like of shape (n,) or (n, k)
        The true classes: non-negative integer labels, or score rows.
    y_pred : array-like of shape (n,) or (n, k)
        The predicted classes, in the same form.
    num_classes : int, optional
        ``k``; by default one more than the largest label seen.

    Returns
    -------
    ndarray of shape (k, k)
        Integer counts; rows are true classes, columns predicted ones.
    """

    def labels(a, name):
        a = as_array(a, name, ndim=(1, 2))
        if a.ndim == 2:
            a = (a[:, 0] > 0.5) if a.shape[1] == 1 else a.argmax(axis=1)
        if a.dtype.kind == "f" and not np.array_equal(a, np.round(a)):
            raise FeedforwardError(f"{name}: expected integer class labels or score rows, "
                                   f"got the value {a[a != np.round(a)][0]}")
        a = a.astype(np.intp)
        if a.min() < 0:
            raise FeedforwardError(f"{name}: expected non-negative labels, got {a.min()}")
        return a

    t, p = labels(y_true, "y_true"), labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise FeedforwardError(
            f"y_pred: expected {t.shape[0]} samples like y_true, got {p.shape[0]}")
    if num_classes is not None:
        check_number(num_classes, "num_classes", low=1, integer=True)
    top = int(max(t.max(), p.max()))
    k = int(num_classes) if num_classes is not None else top + 1
    if top >= k:
        raise FeedforwardError(f"num_classes: {k} is too small for labels up to {top}")
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


ALL = [Accuracy, BinaryAccuracy, CategoricalAccuracy, MeanSquaredError, MeanAbsoluteError, R2]
registry = Registry("metric", ALL, base=Metric)
get, serialize, deserialize = registry.get, registry.serialize, registry.deserialize
