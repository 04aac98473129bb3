"""train_val_test_split: sizes, stratification within one sample per class, seeds, refusals."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedforward.data import Split, train_val_test_split
from feedforward.errors import FeedforwardError


class Frame:
    """A stand-in for a pandas DataFrame / Series: only ``to_numpy``."""

    def __init__(self, a):
        self.a = a

    def to_numpy(self):
        return np.asarray(self.a)


def rows(split):
    """The original row numbers in each split (x holds them in its first column)."""
    return [part[:, 0].astype(int) for part in split[:3]]


def labelled(counts, seed=0):
    """x = (row number, noise), y = labels with the given count per class, shuffled."""
    y = np.repeat(np.arange(len(counts)), counts)
    np.random.default_rng(seed).shuffle(y)
    x = np.column_stack([np.arange(len(y)), np.random.default_rng(seed).random(len(y))])
    return x, y


def check_partition(split, x, y, sizes):
    parts = rows(split)
    assert [len(p) for p in parts] == list(sizes)
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(len(x)))  # disjoint, complete
    for part, xs, ys in zip(parts, split[:3], split[3:], strict=True):
        assert np.array_equal(xs, x[part]) and np.array_equal(ys, y[part])  # rows stay paired


def check_stratified(split, y, fractions):
    classes, counts = np.unique(y, return_counts=True)
    for ys, frac in zip(split[3:], fractions, strict=True):
        got = np.array([np.sum(ys == c) for c in classes])
        assert np.all(np.abs(got - counts * frac) < 1 + 1e-9), (got, counts * frac)


def test_default_is_60_20_20_and_returns_a_named_split():
    x, y = labelled([50, 30, 20])
    split = train_val_test_split(x, y, seed=0)
    assert isinstance(split, Split)
    check_partition(split, x, y, (60, 20, 20))
    check_stratified(split, y, (0.6, 0.2, 0.2))
    assert split.x_train is split[0] and split.y_test is split[5]


@pytest.mark.parametrize(("val", "test", "sizes"), [
    (0.1, 0.1, (800, 100, 100)), (0.2, 0.2, (600, 200, 200)), (0.15, 0.25, (600, 150, 250)),
    (0.0, 0.2, (800, 0, 200)), (0.2, 0.0, (800, 200, 0)),
])
def test_the_tutorial_ranges_are_expressible(val, test, sizes):
    x, y = labelled([400, 350, 250])
    split = train_val_test_split(x, y, val=val, test=test, seed=1)
    check_partition(split, x, y, sizes)
    check_stratified(split, y, (1 - val - test, val, test))


def test_sizes_are_rounded_to_add_up_to_n():
    x, y = labelled([4, 3, 3])  # n = 10: 2.5 each for val and test
    split = train_val_test_split(x, y, val=0.25, test=0.25, seed=0)
    assert [len(p) for p in split[:3]] == [4, 3, 3] or [len(p) for p in split[:3]] == [5, 2, 3]
    assert sum(len(p) for p in split[:3]) == 10


@settings(max_examples=150, deadline=None)
@given(counts=st.lists(st.integers(1, 40), min_size=1, max_size=12),
       val=st.floats(0, 0.45), test=st.floats(0.01, 0.45), seed=st.integers(0, 2**32 - 1))
def test_stratified_splits_keep_class_proportions_within_one_sample(counts, val, test, seed):
    x, y = labelled(counts, seed)
    n = len(y)
    try:
        split = train_val_test_split(x, y, val=val, test=test, stratify=True, seed=seed)
    except FeedforwardError as e:  # too little data for a requested non-empty split
        assert "empty" in str(e)
        return
    ideal = np.array([1 - val - test, val, test]) * n
    sizes = [len(p) for p in split[:3]]
    assert sum(sizes) == n and np.all(np.abs(np.array(sizes) - ideal) < 1 + 1e-9)
    check_partition(split, x, y, sizes)
    check_stratified(split, y, (1 - val - test, val, test))


def test_mnist_sized_stratified_split_is_exact():
    x, y = labelled([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    split = train_val_test_split(x, y, val=0.0, test=0.2, seed=0)
    assert len(split.y_train) == 8000 and len(split.y_test) == 2000
    check_stratified(split, y, (0.8, 0.0, 0.2))


def test_the_same_seed_gives_the_same_split():
    x, y = labelled([30, 30, 40])
    a, b = (train_val_test_split(x, y, seed=7) for _ in range(2))
    c = train_val_test_split(x, y, seed=8)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not np.array_equal(a.x_test, c.x_test)
    d = train_val_test_split(x, y, seed=np.random.default_rng(7))
    assert all(np.array_equal(p, q) for p, q in zip(a, d, strict=True))


def test_unstratified_split_is_random_but_complete():
    x, y = labelled([90, 10])
    split = train_val_test_split(x, y, stratify=False, seed=3)
    check_partition(split, x, y, (60, 20, 20))
    tests = [np.sum(train_val_test_split(x, y, stratify=False, seed=s).y_test == 1)
             for s in range(40)]
    assert len(set(tests)) > 2  # class counts vary when not stratified


@pytest.mark.parametrize("kind", ["strings", "onehot", "floats", "frame"])
def test_labels_of_every_form_are_stratified(kind):
    x, y = labelled([45, 30, 25])
    names = np.array(["cat", "dog", "emu"])[y]
    given_y = {"strings": names, "onehot": np.eye(3)[y], "floats": y.astype(float),
               "frame": Frame(names)}[kind]
    split = train_val_test_split(Frame(x) if kind == "frame" else x, given_y, seed=0)
    parts = rows(split)
    plain_y = given_y.to_numpy() if kind == "frame" else given_y
    for part, ys in zip(parts, split[3:], strict=True):
        assert np.array_equal(ys, plain_y[part])
    check_stratified(Split(*split[:3], *(names[p] for p in parts)), names, (0.6, 0.2, 0.2))


def test_regression_targets_are_split_plainly_or_refused():
    x = np.arange(100.0)[:, None]
    y = np.random.default_rng(0).normal(size=100)
    split = train_val_test_split(x, y, seed=0)  # "auto": not stratified
    assert [len(p) for p in split[:3]] == [60, 20, 20]
    with pytest.raises(FeedforwardError, match="continuous.*stratify=False"):
        train_val_test_split(x, y, stratify=True)
    assert len(train_val_test_split(x, y, stratify=False).x_val) == 20


def test_x_alone_can_be_split():
    split = train_val_test_split(np.arange(50)[:, None], seed=0)
    assert [len(p) for p in split[:3]] == [30, 10, 10] and split.y_train is None
    with pytest.raises(FeedforwardError, match="needs labels"):
        train_val_test_split(np.arange(50)[:, None], stratify=True)


@pytest.mark.parametrize(("kwargs", "word"), [
    ({"val": 0.5, "test": 0.5}, "val \\+ test"), ({"val": -0.1}, "val"), ({"test": 1.0}, "test"),
    ({"test": 0.01}, "empty test set"), ({"stratify": "yes"}, "stratify"),
])
def test_bad_arguments_are_refused(kwargs, word):
    x, y = labelled([10, 10])
    with pytest.raises(FeedforwardError, match=word):
        train_val_test_split(x, y, **kwargs)


def test_length_mismatch_and_empty_data_are_refused():
    with pytest.raises(FeedforwardError, match="10 samples"):
        train_val_test_split(np.zeros((10, 2)), np.zeros(9))
    with pytest.raises(FeedforwardError, match="at least one sample"):
        train_val_test_split(np.zeros((0, 2)))
