"""Mini-batches: one iterator for training, evaluation and prediction.

Batches are contiguous slices. With ``shuffle=True`` the data is permuted once per epoch into
buffers allocated once, then sliced; gathering rows by fancy indexing for every batch would
copy the same bytes in many small scattered reads instead.
"""

from __future__ import annotations

import numpy as np

from ..errors import FeedforwardError, check_number, describe


class BatchIterator:
    """Iterate over ``(x, y)`` in mini-batches; each ``iter()`` is one epoch.

    Parameters
    ----------
    x : array of shape (n, ...)
    y : array of shape (n, ...), optional
        When given, batches are ``(x_batch, y_batch)`` pairs, else ``x_batch`` alone.
    batch_size : int
        The last batch holds the remainder (``n % batch_size`` samples) unless ``drop_last``.
    shuffle : bool
        Permute the samples at the start of every epoch.
    rng : numpy.random.Generator, int or None
        The source of the permutations; one ``rng.permutation(n)`` call per epoch.
    drop_last : bool
        Leave out a last, smaller batch.

    Notes
    -----
    With ``shuffle=True`` the batches are views into buffers that the next epoch refills:
    copy a batch to keep it beyond its epoch. Without shuffling they are views of ``x`` and
    ``y`` themselves (which should then not be changed while iterating).
    """

    def __init__(self, x, y=None, batch_size=32, shuffle=False, rng=None, drop_last=False):
        self.x = _samples(x, "x")
        self.y = None if y is None else _samples(y, "y")
        n = self.x.shape[0]
        if self.y is not None and self.y.shape[0] != n:
            raise FeedforwardError(f"y: expected {n} samples to match x, got {self.y.shape[0]}")
        self.batch_size = min(int(check_number(batch_size, "batch_size", low=1, integer=True)), n)
        if not isinstance(shuffle, (bool, np.bool_)):
            raise FeedforwardError(f"shuffle: expected True or False, got {describe(shuffle)}")
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.rng = np.random.default_rng(rng) if shuffle else None
        self._buffers = None

    @property
    def n(self) -> int:
        return self.x.shape[0]

    def __len__(self) -> int:
        """Batches per epoch."""
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)

    def _epoch_arrays(self):
        arrays = [self.x] if self.y is None else [self.x, self.y]
        if not self.shuffle:
            return arrays
        if self._buffers is None:
            self._buffers = [np.empty(a.shape, dtype=a.dtype) for a in arrays]
        perm = self.rng.permutation(self.n)
        for a, buf in zip(arrays, self._buffers, strict=True):
            np.take(a, perm, axis=0, out=buf)
        return self._buffers

    def __iter__(self):
        arrays = self._epoch_arrays()
        b = self.batch_size
        for step in range(len(self)):
            s = slice(step * b, (step + 1) * b)
            yield arrays[0][s] if self.y is None else (arrays[0][s], arrays[1][s])


def _samples(a, name):
    if hasattr(a, "to_numpy"):  # pandas DataFrame / Series
        a = a.to_numpy()
    a = np.asarray(a)
    if a.ndim == 0 or a.shape[0] == 0:
        raise FeedforwardError(f"{name}: expected at least one sample, got {describe(a)}")
    return a


def batches(x, y=None, batch_size=32, shuffle=False, rng=None, drop_last=False):
    """One epoch of mini-batches of ``(x, y)``; see :class:`BatchIterator`.

    Yields
    ------
    x_batch : ndarray of shape (b, ...)
        Or ``(x_batch, y_batch)`` when ``y`` is given; ``b = batch_size`` except perhaps last.
    """
    return iter(BatchIterator(x, y, batch_size, shuffle, rng, drop_last))

