"""The batch iterator: contiguous slices, one permutation per epoch, pairing and reuse."""

from __future__ import annotations

import numpy as np
import pytest

from feedforward.data import BatchIterator, batches
from feedforward.errors import FeedforwardError

X = np.arange(23 * 3, dtype=np.float32).reshape(23, 3)
Y = np.arange(23) * 10


class Frame:
    """A stand-in for a pandas DataFrame / Series: only ``to_numpy``."""

    def __init__(self, a):
        self.a = a

    def to_numpy(self):
        return np.asarray(self.a)


def test_without_shuffling_batches_are_views_in_order():
    out = list(batches(X, Y, batch_size=5))
    assert [len(xb) for xb, _ in out] == [5, 5, 5, 5, 3]
    assert np.array_equal(np.concatenate([xb for xb, _ in out]), X)
    assert np.array_equal(np.concatenate([yb for _, yb in out]), Y)
    assert all(np.shares_memory(xb, X) for xb, _ in out)  # no copies


def test_x_alone_and_len():
    it = BatchIterator(X, batch_size=4)
    assert len(it) == 6 and all(isinstance(b, np.ndarray) for b in it)
    assert len(BatchIterator(X, batch_size=4, drop_last=True)) == 5
    assert [len(b) for b in BatchIterator(X, batch_size=4, drop_last=True)] == [4] * 5
    assert len(BatchIterator(X, batch_size=100)) == 1  # capped at n


def test_shuffled_epochs_are_permutations_that_keep_pairs():
    it = BatchIterator(X, Y, batch_size=5, shuffle=True, rng=0)
    orders = []
    for _ in range(3):
        xs, ys = zip(*[(xb.copy(), yb.copy()) for xb, yb in it], strict=True)
        xs, ys = np.concatenate(xs), np.concatenate(ys)
        assert np.array_equal(ys, xs[:, 0].astype(int) // 3 * 10)  # row i still has label i
        assert np.array_equal(np.sort(ys), Y)  # every sample exactly once
        orders.append(ys)
    assert not np.array_equal(orders[0], orders[1])


def test_shuffled_batches_are_gathered_into_one_reused_batch_buffer():
    it = BatchIterator(X, Y, batch_size=5, shuffle=True, rng=0)
    bases = []
    for xb, yb in it:
        assert xb.flags.c_contiguous and yb.flags.c_contiguous
        assert not np.shares_memory(xb, X) and not np.shares_memory(yb, Y)
        bases.append(xb.base)
    assert all(base is bases[0] for base in bases)  # memory O(batch), not a copy of X
    assert bases[0].shape == (5, *X.shape[1:])
    second = next(iter(it))[0]
    assert second.base is bases[0]  # the next epoch reuses it too


def test_the_permutation_is_one_generator_call_per_epoch():
    # the same draws as rng.permutation(n) once per epoch: reproducible from the seed
    it = BatchIterator(X, Y, batch_size=7, shuffle=True, rng=np.random.default_rng(42))
    ref = np.random.default_rng(42)
    for _ in range(2):
        perm = ref.permutation(len(X))
        got = np.concatenate([yb.copy() for _, yb in it])  # each batch reuses one buffer
        assert np.array_equal(got, Y[perm])


def test_pandas_like_inputs_are_accepted():
    out = list(batches(Frame(X), Frame(Y), batch_size=10))
    assert np.array_equal(out[0][0], X[:10]) and np.array_equal(out[2][1], Y[20:])


@pytest.mark.parametrize(("args", "kwargs", "word"), [
    ((X, Y[:5]), {}, "23 samples"), ((X,), {"batch_size": 0}, "batch_size"),
    ((X,), {"batch_size": 2.5}, "batch_size"), ((X,), {"shuffle": 1}, "shuffle"),
    ((np.zeros((0, 3)),), {}, "at least one sample"),
])
def test_bad_arguments_are_refused(args, kwargs, word):
    with pytest.raises(FeedforwardError, match=word):
        BatchIterator(*args, **kwargs)
