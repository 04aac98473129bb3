"""Splitting data into training, validation and test sets, stratified by class.

Sizes: the three fractions of ``n`` are rounded by largest remainder, so they add up to ``n``
(ties go to the test set, then validation). The default 60 / 20 / 20 and the common
60-80 / 10-20 / 10-20 ranges are all expressible through ``val`` and ``test``.

Stratification: each class is split in the same proportions, each split's count of a class
being its ideal share rounded down or up (so within one sample of it), while the split sizes
stay exactly those above. Choosing which classes round up is a small flow problem (classes
supply their left-over samples, splits demand theirs); a feasible rounding always exists, and
it is found by rounding up the largest fractions first and then moving samples along
augmenting paths until every split has its size.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import FeedforwardError, as_samples, check_number, describe

_NAMES = ("train", "val", "test")


class Split(NamedTuple):
    """The result of :func:`train_val_test_split`; unpacks like scikit-learn's splits.

    Parameters
    ----------
    x_train, x_val, x_test : ndarray of shape (n_part, ...), or pandas DataFrame
        The samples of each part, rows taken from ``x``; a part may have no rows. A pandas
        ``x`` gives pandas parts (its rows by ``iloc``, column names and index kept), so that
        a model fitted on ``x_train`` records its ``feature_names``.
    y_train, y_val, y_test : ndarray of shape (n_part, ...), pandas Series/DataFrame or None
        The matching rows of ``y`` (pandas when ``y`` is); None when no ``y`` was given.
    """

    x_train: np.ndarray
    x_val: np.ndarray
    x_test: np.ndarray
    y_train: np.ndarray | None
    y_val: np.ndarray | None
    y_test: np.ndarray | None


def _sizes(n, fractions):
    """``n * fractions`` rounded to integers that sum to ``n`` (largest remainder)."""
    ideal = np.round(n * np.asarray(fractions), 9)  # 0.6 * 5 must be 3, not 2.9999999999999996
    sizes = np.floor(ideal).astype(np.int64)
    # larger remainders first; among equal ones the later split (test, then val) first
    order = sorted(range(len(sizes)), key=lambda s: (-(ideal[s] - sizes[s]), -s))
    for s in order[:n - sizes.sum()]:
        sizes[s] += 1
    return sizes


def _class_labels(y, stratify):
    """Integer class codes for stratification, or None when not stratifying."""
    if stratify is False:
        return None
    if y is None:
        if stratify is True:
            raise FeedforwardError("stratify=True: stratified splitting needs labels y, got None")
        return None
    labels = y.argmax(axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(len(y), -1)[:, 0]
    if labels.dtype.kind == "f" and not np.array_equal(labels, np.round(labels)):
        if stratify is True:
            bad = labels[np.argmax(labels != np.round(labels))]
            raise FeedforwardError(
                f"stratify=True: y holds continuous targets (e.g. {bad}), not class labels; "
                "pass stratify=False (or 'auto') to split regression data")
        return None
    try:
        return np.unique(labels, return_inverse=True)[1].ravel()
    except TypeError:
        raise FeedforwardError("y: class labels must be all numbers or all strings") from None


def _round_classes(counts, fractions, sizes, rng):
    """Per-class split counts ``(classes, 3)``: ideals rounded down or up, column sums ``sizes``."""
    ideal = np.round(counts[:, None] * np.asarray(fractions)[None, :], 9)
    floors = np.floor(ideal).astype(np.int64)
    frac = ideal - floors
    extra = counts - floors.sum(axis=1)  # samples each class still has to place: 0, 1 or 2
    # round up the largest fractions (random among equal ones)
    key = frac + rng.random(frac.shape) * 1e-12
    rank = np.argsort(np.argsort(-key, axis=1), axis=1)
    up = rank < extra[:, None]
    need = sizes - floors.sum(axis=0)
    while True:
        load = up.sum(axis=0)
        over = np.flatnonzero(load > need)
        if over.size == 0:
            return floors + up
        _augment(up, frac, over[0], load < need)


def _augment(up, frac, source, under):
    """Move one rounded-up sample from split ``source`` towards a split that lacks one.

    Breadth-first over splits: an edge a -> b exists when some class rounds up in a but not
    in b, and may round up in b (its ideal share there is fractional).
    """
    parent = {source: None}
    queue = [source]
    for a in queue:
        for b in range(up.shape[1]):
            if b in parent:
                continue
            movable = up[:, a] & ~up[:, b] & (frac[:, b] > 0)
            if not movable.any():
                continue
            parent[b] = (a, int(np.argmax(np.where(movable, frac[:, b], -1.0))))
            if under[b]:
                while parent[b] is not None:
                    a, c = parent[b]
                    up[c, a], up[c, b] = False, True
                    b = a
                return
            queue.append(b)
    raise RuntimeError("stratified rounding found no augmenting path")  # impossible; see above


def train_val_test_split(x, y=None, val=0.2, test=0.2, stratify="auto", seed=None) -> Split:
    """Split ``(x, y)`` at random into training, validation and test sets.

    Parameters
    ----------
    x : array of shape (n, ...)
        Arrays, lists and pandas objects are accepted. A pandas DataFrame (or Series) gives
        parts of its own type, keeping the column names; anything else (lists, other frame
        libraries) gives ndarrays.
    y : array of shape (n,) or (n, k), optional
        Labels (numbers or strings), one-hot rows, or regression targets; pandas as ``x``.
    val, test : float
        Fractions of ``n`` for validation and test, each in ``[0, 1)`` with ``val + test < 1``;
        the rest is for training. ``val=0`` gives an empty validation set.
    stratify : bool or "auto"
        True: keep each class's proportion in every split (within one sample per class);
        continuous ``y`` is refused. ``"auto"``: stratify when ``y`` holds class labels
        (integers, strings, booleans, integral floats or one-hot rows), else not.
        False: a plain random split.
    seed : int, numpy.random.Generator or None
        The same seed gives the same split.

    Returns
    -------
    Split
        ``(x_train, x_val, x_test, y_train, y_val, y_test)``, each split in random order;
        the ``y_*`` are None when ``y`` is.
    """
    given_x, given_y = x, y
    x = as_samples(x, "x")
    y = None if y is None else as_samples(y, "y")
    n = x.shape[0]
    if y is not None and y.shape[0] != n:
        raise FeedforwardError(f"y: expected {n} samples to match x, got {y.shape[0]}")
    val = float(check_number(val, "val", low=0, high=1, high_open=True))
    test = float(check_number(test, "test", low=0, high=1, high_open=True))
    if val + test >= 1:
        raise FeedforwardError(f"val + test: expected less than 1 to leave training data, got "
                               f"{val} + {test}")
    if stratify not in (True, False, "auto"):
        raise FeedforwardError(
            f"stratify: expected True, False or 'auto', got {describe(stratify)}")
    fractions = (1 - val - test, val, test)
    sizes = _sizes(n, fractions)
    for name, frac, size in zip(_NAMES, fractions, sizes, strict=True):
        if frac > 0 and size == 0:
            raise FeedforwardError(
                f"{name}: a fraction of {frac:g} of {n} samples leaves an empty {name} set; "
                "use more data or a larger fraction")
    rng = np.random.default_rng(seed)
    codes = _class_labels(y, stratify)
    if codes is None:
        perm = rng.permutation(n)
        parts = np.split(perm, np.cumsum(sizes)[:2])
    else:
        parts = _stratified(codes, fractions, sizes, rng)
    xs = [_rows(given_x, x, p) for p in parts]
    ys = [None] * 3 if y is None else [_rows(given_y, y, p) for p in parts]
    return Split(*xs, *ys)


def _rows(given, a, index):
    """The rows ``index`` of a pandas object by position (its type and names kept), else of
    its array ``a``."""
    return given.iloc[index] if hasattr(given, "iloc") else a[index]


def _stratified(codes, fractions, sizes, rng):
    """Index arrays of the three splits, each class divided by :func:`_round_classes`."""
    counts = np.bincount(codes)
    per_class = _round_classes(counts, fractions, sizes, rng)
    # classes in blocks, random order within each block
    perm = rng.permutation(len(codes))
    order = perm[np.argsort(codes[perm], kind="stable")]
    start = np.cumsum(counts) - counts
    rank = np.arange(len(codes)) - np.repeat(start, counts)
    bounds = np.cumsum(per_class, axis=1)  # (classes, 3)
    split = (rank[:, None] >= np.repeat(bounds, counts, axis=0)).sum(axis=1)
    return [rng.permutation(order[split == s]) for s in range(3)]
