"""Mini-batches: one iterator for training, evaluation and prediction.

Batches are contiguous arrays. Without shuffling they are slices of the data. With
``shuffle=True`` one permutation is drawn per epoch and each batch's rows are gathered into one
reused batch-sized buffer: the same bytes move as in copying the whole shuffled dataset, but
whole rows at a time into a buffer that stays in cache, with memory O(batch) instead of a second
copy of the data (measured on 60,000 x 784 float32: 0.05-0.07 s per epoch against 0.1-0.8 s for
a full shuffled copy, whose fresh pages must also be faulted in).
"""

from __future__ import annotations

import numpy as np

from ..errors import FeedforwardError, as_samples, check_number, describe


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
    sample_weight : array of shape (n,), optional
        Per-sample weights (with ``y``): batches are then ``(x_batch, y_batch, w_batch)``.

    Notes
    -----
    With ``shuffle=True`` every batch is a view of one buffer that the next batch refills:
    copy a batch to keep it beyond its step. Without shuffling they are views of ``x`` and
    ``y`` themselves (which should then not be changed while iterating).
    """

    def __init__(self, x, y=None, batch_size=32, shuffle=False, rng=None, drop_last=False,
                 sample_weight=None):
        self.x = as_samples(x, "x")
        self.y = None if y is None else as_samples(y, "y")
        self.w = None if sample_weight is None else as_samples(sample_weight, "sample_weight")
        n = self.x.shape[0]
        for name, a in (("y", self.y), ("sample_weight", self.w)):
            if a is not None and a.shape[0] != n:
                raise FeedforwardError(f"{name}: expected {n} samples to match x, got "
                                       f"{a.shape[0]}")
        if self.w is not None and self.y is None:
            raise FeedforwardError("sample_weight: given without y")
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

    def __iter__(self):
        arrays = [a for a in (self.x, self.y, self.w) if a is not None]
        b = self.batch_size
        if self.shuffle:
            perm = self.rng.permutation(self.n)
            if self._buffers is None:
                self._buffers = [np.empty((b, *a.shape[1:]), dtype=a.dtype) for a in arrays]
        for step in range(len(self)):
            s = slice(step * b, (step + 1) * b)
            if self.shuffle:
                idx = perm[s]
                # the indices are a permutation's, always in range; mode="raise" would gather
                # into a hidden temporary and copy it (2.4x slower at 512 rows of 784)
                batch = [np.take(a, idx, axis=0, out=buf[:len(idx)], mode="clip")
                         for a, buf in zip(arrays, self._buffers, strict=True)]
            else:
                batch = [a[s] for a in arrays]
            yield batch[0] if self.y is None else tuple(batch)


def batches(x, y=None, batch_size=32, shuffle=False, rng=None, drop_last=False):
    """One epoch of mini-batches of ``(x, y)``; see :class:`BatchIterator`.

    Parameters
    ----------
    x : array of shape (n, ...)
        The samples.
    y : array of shape (n, ...), optional
        Their targets; when given, batches are ``(x_batch, y_batch)`` pairs.
    batch_size : int, default 32
        Samples per batch; the last holds the remainder unless ``drop_last``.
    shuffle : bool, default False
        Permute the samples first.
    rng : numpy.random.Generator, int or None
        The source of the permutation.
    drop_last : bool, default False
        Leave out a last, smaller batch.

    Returns
    -------
    iterator
        Of ``x_batch`` arrays of shape ``(b, ...)``, or of ``(x_batch, y_batch)`` pairs when
        ``y`` is given; ``b = batch_size`` except perhaps for the last.
    """
    return iter(BatchIterator(x, y, batch_size, shuffle, rng, drop_last))

