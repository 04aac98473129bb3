"""Metrics: values against scikit-learn, accumulation over batches, the confusion matrix."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.metrics as skm

from feedforward import metrics
from feedforward.errors import FeedforwardError

N, K = 100, 4
# unequal batches, one of a single sample: averaging batch values would be visibly wrong
BATCHES = [slice(0, 7), slice(7, 40), slice(40, 41), slice(41, N)]


def scores(shape, seed=0):
    """Float64 scores in [0, 1) of the given shape."""
    return np.random.default_rng(seed).uniform(0, 1, shape)


def labels(seed=1, k=K):
    """Integer labels (N,) in [0, k)."""
    return np.random.default_rng(seed).integers(0, k, N)


def regression(outputs, seed=2, offset=0.0):
    """Targets ``y`` (N, outputs) around ``offset`` and noisy predictions ``p`` of them."""
    rng = np.random.default_rng(seed)
    y = offset + rng.standard_normal((N, outputs)) * rng.uniform(0.5, 3, outputs)
    return y + rng.standard_normal((N, outputs)), y


# (metric, y_pred, y_true, scikit-learn's value)
def _cases():
    p1, y1 = scores((N, 1)), labels(k=2)
    pk, yk = scores((N, K)), labels()
    pm, ym = scores((N, K), seed=3), np.random.default_rng(4).integers(0, 2, (N, K))
    pr1, yr1 = regression(1)
    prk, yrk = regression(3)
    return [
        ("accuracy/binary", metrics.Accuracy(), p1, y1, skm.accuracy_score(y1, p1[:, 0] > 0.5)),
        ("accuracy/categorical", metrics.Accuracy(), pk, yk, skm.accuracy_score(yk, pk.argmax(1))),
        ("binary_accuracy/multi-label", metrics.BinaryAccuracy(), pm, ym,
         skm.accuracy_score(ym.ravel(), pm.ravel() > 0.5)),
        ("binary_accuracy/threshold", metrics.BinaryAccuracy(threshold=0.3), pm, ym,
         skm.accuracy_score(ym.ravel(), pm.ravel() > 0.3)),
        ("categorical_accuracy/labels", metrics.CategoricalAccuracy(), pk, yk,
         skm.accuracy_score(yk, pk.argmax(1))),
        ("categorical_accuracy/one-hot", metrics.CategoricalAccuracy(), pk, np.eye(K)[yk],
         skm.accuracy_score(yk, pk.argmax(1))),
        ("mse", metrics.MeanSquaredError(), prk, yrk, skm.mean_squared_error(yrk, prk)),
        ("mae", metrics.MeanAbsoluteError(), prk, yrk, skm.mean_absolute_error(yrk, prk)),
        ("r2/one output", metrics.R2(), pr1, yr1[:, 0], skm.r2_score(yr1[:, 0], pr1[:, 0])),
        ("r2/multi-output", metrics.R2(), prk, yrk, skm.r2_score(yrk, prk)),
    ]


CASES = _cases()
IDS = [case[0] for case in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_value_matches_sklearn(case):
    _, metric, p, y, expected = case
    np.testing.assert_allclose(metric(p, y), expected, rtol=1e-12, atol=0)


def test_cases_cover_every_registered_metric():
    assert {type(case[1]) for case in CASES} == set(metrics.ALL)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_batches_accumulate_to_the_whole_data_value(case):
    _, metric, p, y, expected = case
    metric.reset()
    for s in BATCHES:
        metric.update(p[s], y[s])
    np.testing.assert_allclose(metric.result(), expected, rtol=1e-12, atol=0)
    # calling the metric starts again rather than adding to these sums
    fresh = type(metric)(**metric.get_config())
    assert metric(p[:7], y[:7]) == fresh(p[:7], y[:7])


@pytest.mark.parametrize("offset", [1e4, 1e6])
def test_r2_keeps_precision_for_targets_far_from_zero(offset):
    # sum(y^2) - sum(y)^2 / n would cancel to a few digits here
    p, y = regression(3, offset=offset)
    expected = skm.r2_score(y, p)
    metric = metrics.R2()
    np.testing.assert_allclose(metric(p, y), expected, rtol=1e-10)
    metric.reset()
    for s in BATCHES:
        metric.update(p[s], y[s])
    np.testing.assert_allclose(metric.result(), expected, rtol=1e-10)


@pytest.mark.parametrize("y", [np.full((N, 2), 3.0), np.zeros((N, 2))], ids=["3", "0"])
def test_r2_of_constant_targets_follows_sklearn(y):
    p = y.copy()
    p[:, 1] += 1  # the first output exact (1 by convention), the second wrong (0)
    assert metrics.R2()(p, y) == skm.r2_score(y, p) == 0.5


def test_categorical_accuracy_rejects_labels_out_of_range():
    with pytest.raises(FeedforwardError, match=r"^y: expected class labels in \[0, 3\]"):
        metrics.CategoricalAccuracy()(scores((N, K)), labels(k=K + 1))


@pytest.mark.parametrize("k", [2, K, 7])
def test_confusion_matrix_of_labels_matches_sklearn(k):
    t, p = labels(seed=5, k=k), labels(seed=6, k=k)
    np.testing.assert_array_equal(metrics.confusion_matrix(t, p),
                                  skm.confusion_matrix(t, p, labels=np.arange(k)))


def test_confusion_matrix_of_probability_rows_matches_sklearn():
    t, probs = labels(seed=7), scores((N, K), seed=8)
    probs /= probs.sum(axis=1, keepdims=True)
    expected = skm.confusion_matrix(t, probs.argmax(1), labels=np.arange(K))
    np.testing.assert_array_equal(metrics.confusion_matrix(t, probs), expected)
    np.testing.assert_array_equal(metrics.confusion_matrix(np.eye(K)[t], probs), expected)


def test_confusion_matrix_thresholds_a_single_column():
    t, probs = labels(seed=9, k=2), scores((N, 1), seed=10)
    np.testing.assert_array_equal(metrics.confusion_matrix(t, probs),
                                  skm.confusion_matrix(t, probs[:, 0] > 0.5, labels=[0, 1]))


def test_confusion_matrix_pads_to_num_classes():
    t, p = labels(seed=11, k=3), labels(seed=12, k=3)
    cm = metrics.confusion_matrix(t, p, num_classes=5)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(t, p, labels=np.arange(5)))
    assert cm.shape == (5, 5) and cm.sum() == N


@pytest.mark.parametrize("y_true, y_pred, kwargs, message", [
    ([0, -1, 2], [0, 1, 2], {}, "^y_true: expected non-negative labels"),
    ([0, 1, 2], [0, 1, -2], {}, "^y_pred: expected non-negative labels"),
    ([0, 1.5, 2], [0, 1, 2], {}, "^y_true: expected integer class labels"),
    ([0, 1, 2], [0, 1], {}, "^y_pred: expected 3 samples"),
    ([0, 1, 2], [0, 1, np.nan], {}, "^y_pred: expected finite values"),
    ([0, 1, 2], ["a", "b", "c"], {}, "^y_pred: expected numeric data"),
    (np.zeros((3, 2, 2)), [0, 1, 1], {}, "^y_true: expected 1 or 2 dimensions"),
    ([], [], {}, "^y_true: expected at least one sample"),
    ([0, 1, 4], [0, 1, 2], {"num_classes": 3}, "^num_classes: 3 is too small"),
    ([0, 1, 0], [0, 1, 1], {"num_classes": 0}, "^num_classes: expected a value >= 1"),
    ([0, 1, 0], [0, 1, 1], {"num_classes": 2.5}, "^num_classes: expected an integer"),
], ids=["negative true", "negative pred", "fraction", "lengths", "nan", "strings", "3-d",
        "empty", "num_classes small", "num_classes 0", "num_classes float"])
def test_confusion_matrix_rejects_bad_input(y_true, y_pred, kwargs, message):
    with pytest.raises(FeedforwardError, match=message):
        metrics.confusion_matrix(y_true, y_pred, **kwargs)


@pytest.mark.parametrize("cls", metrics.ALL, ids=lambda c: c.name)
def test_registry_resolves_name_and_config(cls):
    metric = metrics.get(cls.name)
    assert type(metric) is cls
    again = metrics.get(metrics.serialize(metric))
    assert type(again) is cls and again.get_config() == metric.get_config()


@pytest.mark.parametrize("name, cls", [
    ("acc", metrics.Accuracy),
    ("sparse_categorical_accuracy", metrics.CategoricalAccuracy),
    ("r2_score", metrics.R2),
])
def test_registry_aliases(name, cls):
    assert type(metrics.get(name)) is cls


def test_unknown_metric_lists_known_names():
    with pytest.raises(FeedforwardError, match="unknown metric 'auc'") as info:
        metrics.get("auc")
    for name in metrics.registry.names():
        assert name in str(info.value)
