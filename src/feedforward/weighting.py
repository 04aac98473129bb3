"""Per-sample weights in training: ``fit(sample_weight=...)`` and ``fit(class_weight=...)``.

A weighted batch uses :class:`~feedforward.losses.Weighted`: row ``i``'s loss and gradient are
multiplied by ``w_i`` and the batch's loss is ``sum_i w_i l_i / n``, divided by the batch's
size and not by the sum of its weights (Keras's default reduction, ``"sum_over_batch_size"``).
The epoch's logged ``loss`` is the mean of the batches' losses weighted by their sizes, so it is
``sum_i w_i l_i / n`` over the epoch, as in Keras. Metrics stay unweighted (Keras's ``metrics``;
it weights only its ``weighted_metrics``). Validation weights weight ``val_loss`` the same way.

The model keeps its own loss: the weighted one is put in place only for the duration of a
step or an evaluation, so callbacks (a checkpoint saving the model) never see it.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from . import losses
from .errors import FeedforwardError, as_array, describe, show


def check_sample_weight(w, n, name="sample_weight") -> np.ndarray:
    """Weights checked: ``n`` finite, non-negative numbers, not all zero.

    Parameters
    ----------
    w : array_like of shape (n,) or (n, 1)
        One weight per sample.
    n : int
        The number of samples they go with.
    name : str
        The argument's name in errors.

    Returns
    -------
    ndarray of shape (n,)
        float64.
    """
    w = as_array(w, name, ndim=(1, 2))
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    if w.ndim != 1 or w.shape[0] != n:
        raise FeedforwardError(f"{name}: expected one weight per sample, shape ({n},), got "
                               f"shape {w.shape}")
    if (w < 0).any():
        i = int(np.argmax(w < 0))
        raise FeedforwardError(f"{name}: expected weights >= 0, got {w[i]} at index {i}")
    if not w.any():
        raise FeedforwardError(f"{name}: expected at least one positive weight, got all zeros")
    return w.astype(np.float64)


def row_weights(model, y, sample_weight=None, class_weight=None):
    """The weights of a batch's rows from ``sample_weight`` or ``class_weight`` (one of the
    two, as ``fit`` and Keras take them), checked; None for neither.

    Parameters
    ----------
    model : Sequential
        Compiled and built.
    y : ndarray of shape (n, outputs)
        Prepared targets (a class's rows are read from them).
    sample_weight : array_like of shape (n,), optional
    class_weight : dict or "balanced", optional
        ``"balanced"`` counts the classes of these rows.

    Returns
    -------
    ndarray of shape (n,) or None
    """
    if sample_weight is not None and class_weight is not None:
        raise FeedforwardError("class_weight: cannot be combined with sample_weight (as in "
                               "Keras); multiply the class weights into sample_weight")
    if class_weight is not None:
        return class_weights(model, class_weight)(y)
    if sample_weight is None:
        return None
    check_weighted_loss(model, "sample_weight")
    return check_sample_weight(sample_weight, len(y))


def check_weighted_loss(model, name) -> None:
    """Refuse weights for a loss that cannot weight its rows.

    Parameters
    ----------
    model : Sequential
        Compiled.
    name : str
        The argument that brought the weights, named in the error.
    """
    try:
        losses.Weighted(model.loss)
    except FeedforwardError:
        raise FeedforwardError(
            f"{name}: weights need a loss with per-sample terms (mse, binary_crossentropy or "
            f"categorical_crossentropy); the model's loss is {model.loss.name}") from None


def class_weights(model, class_weight):
    """``class_weight`` checked, as a function from prepared targets to per-row weights.

    Parameters
    ----------
    model : Sequential
        Compiled and built: categorical cross-entropy (one class per row), or binary
        cross-entropy over one output (two classes).
    class_weight : dict or "balanced"
        ``{class: weight}``: class ids (``0 .. k-1``), or names from ``model.classes``. Classes
        left out weigh 1, as in Keras. ``"balanced"`` (scikit-learn's rule): class ``c``
        weighs ``n / (k n_c)``, with ``n_c`` its rows among the ``n`` that ``f`` is given (the
        whole training part), so each class weighs as much in all.

    Returns
    -------
    callable
        ``f(y)`` for prepared targets ``y`` of shape (n, outputs): weights of shape (n,). A
        row's class is its largest target (its rounded target for one output), as in Keras.
    """
    balanced = isinstance(class_weight, str) and class_weight == "balanced"
    if not isinstance(class_weight, dict) and not balanced:
        raise FeedforwardError(f"class_weight: expected a dict {{class: weight}} or "
                               f"'balanced', got {describe(class_weight)}")
    units = model.output_shape[-1]
    if isinstance(model.loss, losses.CategoricalCrossentropy):
        k = units
    elif isinstance(model.loss, losses.BinaryCrossentropy) and units == 1:
        k = 2
    else:
        what = ("multilabel targets (binary_crossentropy over several outputs)"
                if isinstance(model.loss, losses.BinaryCrossentropy) else
                f"the loss {model.loss.name}")
        raise FeedforwardError(f"class_weight: needs one class per sample (categorical "
                               f"cross-entropy, or binary cross-entropy over one output), not "
                               f"{what}; give sample_weight instead")

    def class_of(y):
        return (np.rint(y[:, 0]) > 0).astype(np.intp) if units == 1 else np.argmax(y, axis=1)

    if balanced:
        def weigh(y):
            c = class_of(y)
            counts = np.bincount(c, minlength=k)
            return len(c) / (np.count_nonzero(counts) * counts[c])
        return weigh
    table = np.ones(k)
    names = list(model.classes or [])
    for key, weight in class_weight.items():
        index = _class_index(key, k, names)
        value = float(as_array(weight, f"class_weight[{show(key)}]", ndim=(0,)))
        if value < 0:
            raise FeedforwardError(f"class_weight[{show(key)}]: expected a weight >= 0, got "
                                   f"{value}")
        table[index] = value
    return lambda y: table[class_of(y)]


def _class_index(key, k, names) -> int:
    is_id = isinstance(key, (int, np.integer)) and not isinstance(key, bool) and 0 <= key < k
    text = [str(n) for n in names]
    if key in names:
        if is_id and names.index(key) != key:  # class names 1, 2, 3 and ids 0, 1, 2
            raise FeedforwardError(
                f"class_weight: the key {show(key)} is both the class named {show(key)} (id "
                f"{names.index(key)}) and the class of id {key} (named {show(names[key])}); "
                f"key the dict by the class names as text ({', '.join(map(repr, text))})")
        return names.index(key)
    if isinstance(key, str) and key in text:  # a name written as text: 3 and "3" agree
        return text.index(key)
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool) and 0 <= key < k:
        return int(key)
    known = f"class ids 0..{k - 1}" + (f" or names {names}" if names else "")
    raise FeedforwardError(f"class_weight: unknown class {show(key)}; expected {known}")


def weighted_targets(y, w) -> np.ndarray:
    """Targets with the weights as a last column, as :class:`~feedforward.losses.Weighted`
    takes them.

    Parameters
    ----------
    y : ndarray of shape (n, k)
        Prepared targets.
    w : ndarray of shape (n,)
        The rows' weights.

    Returns
    -------
    ndarray of shape (n, k + 1)
        Of ``y``'s dtype.
    """
    return np.hstack([y, w[:, None].astype(y.dtype, copy=False)])


@contextmanager
def weighted(model):
    """The model's loss weighted for the duration of the block; its own loss after.

    Targets given to the model inside the block carry the weights as a last column (see
    :func:`weighted_targets`).

    Parameters
    ----------
    model : Sequential
        Compiled, with a loss that :class:`~feedforward.losses.Weighted` takes.
    """
    base = model.loss
    model.loss = losses.Weighted(base)
    try:
        yield
    finally:
        model.loss = base
