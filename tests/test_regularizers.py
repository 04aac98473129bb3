"""Regularizers and constraints: penalty values and gradients (Keras conventions), their place
in the model's loss and gradients, L1 sparsity, MaxNorm projections, errors and configs."""

from __future__ import annotations

import numpy as np
import pytest

import feedforward as ff
from feedforward import layers, regularizers
from feedforward.callbacks import Callback
from feedforward.regularizers import L1, L1L2, L2, MaxNorm

# one instance per registered regularizer, with non-default factors
ARGS = {L1: dict(l1=0.03), L2: dict(l2=0.02), L1L2: dict(l1=0.01, l2=0.05)}
REGULARIZERS = [cls(**ARGS[cls]) for cls in regularizers.ALL]


def by_hand(reg):
    """R(w) and dR/dw written out: l1 * sum|w| + l2 * sum w^2 and l1 sign(w) + 2 l2 w."""
    l1, l2 = getattr(reg, "l1", 0.0), getattr(reg, "l2", 0.0)
    return (lambda w: l1 * np.sum(np.abs(w)) + l2 * np.sum(w ** 2),
            lambda w: l1 * np.sign(w) + 2 * l2 * w)


def weights(shape=(4, 3), seed=0):
    """Normal draws kept at least 0.1 away from 0, where |w| is differentiable."""
    w = np.random.default_rng(seed).normal(size=shape)
    return np.where(np.abs(w) < 0.1, np.sign(w) * 0.1 + w, w)


# ------------------------------------------------------------------ the penalty alone
def test_keras_conventions_on_a_worked_example():
    w = np.array([[3.0, -4.0], [0.0, 1.0]])
    assert L2(0.1).penalty(w) == pytest.approx(0.1 * 26)  # no factor 1/2
    np.testing.assert_allclose(L2(0.1).gradient(w), 0.2 * w)
    assert L1(0.1).penalty(w) == pytest.approx(0.1 * 8)
    np.testing.assert_allclose(L1(0.1).gradient(w), 0.1 * np.array([[1, -1], [0, 1]]))
    assert L1L2(l1=0.1, l2=0.1).penalty(w) == pytest.approx(0.8 + 2.6)
    # Keras' defaults
    assert (L1().l1, L2().l2, L1L2().l1, L1L2().l2) == (0.01, 0.01, 0.0, 0.0)


@pytest.mark.parametrize("reg", REGULARIZERS, ids=repr)
@pytest.mark.parametrize("shape", [(4, 3), (5,)])
def test_penalty_and_gradient_by_hand(reg, shape):
    w = weights(shape)
    penalty, gradient = by_hand(reg)
    assert reg.penalty(w) == pytest.approx(penalty(w), rel=1e-14)
    np.testing.assert_allclose(reg.gradient(w), gradient(w), rtol=1e-14)
    assert reg.gradient(w).shape == w.shape


@pytest.mark.parametrize("reg", REGULARIZERS, ids=repr)
def test_gradient_matches_central_differences(reg):
    w, h = weights(), 1e-6
    numeric = np.zeros_like(w)
    for i in np.ndindex(w.shape):
        e = np.zeros_like(w)
        e[i] = h
        numeric[i] = (reg.penalty(w + e) - reg.penalty(w - e)) / (2 * h)
    analytic = reg.gradient(w)
    rel = np.abs(analytic - numeric).max() / np.abs(analytic).max()
    assert rel < 1e-8


# ------------------------------------------------------------------ inside a model
def two_layer_model(reg=None, where="kernel", seed=0):
    """Dense(5, tanh) -> Dense(2), float64, with ``reg`` on both layers' ``where``, and
    random non-zero weights and biases."""
    def dense(units, **kw):
        return ff.Dense(units, **kw, **({f"{where}_regularizer": reg} if reg else {}))

    model = ff.Sequential([dense(5, activation="tanh"), dense(2)], input_dim=3, seed=seed,
                          dtype="float64")
    rng = np.random.default_rng(seed)
    model.set_weights([weights(w.shape, seed=int(rng.integers(1 << 30)))
                       for w in model.get_weights()])
    model.compile(ff.optimizers.SGD(0.01), "mse")
    return model


def regression_data(n=8, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)), rng.normal(size=(n, 2))


def regularized(model, where):
    """The arrays a regularizer sees: each Dense's kernel or bias, in Keras weight order."""
    return [i for i, _ in enumerate(model.get_weights()) if (i % 2 == 0) == (where == "kernel")]


@pytest.mark.parametrize("where", ["kernel", "bias"])
@pytest.mark.parametrize("reg", REGULARIZERS, ids=repr)
def test_evaluate_adds_the_penalty_to_the_data_loss(reg, where):
    x, y = regression_data()
    model = two_layer_model(reg, where)
    penalty, _ = by_hand(reg)
    w = model.get_weights()
    data_loss = np.mean((model.predict(x) - y) ** 2)
    total = data_loss + sum(penalty(w[i]) for i in regularized(model, where))
    assert model.evaluate(x, y) == pytest.approx(total, rel=1e-13)
    assert total > data_loss * 1.01
    # the training loss reported by fit (one full batch, before its update) includes it too
    history = model.fit(x, y, epochs=1, batch_size=len(x), shuffle=False, verbose=0)
    assert history.history["loss"][0] == pytest.approx(total, rel=1e-13)


@pytest.mark.parametrize("where", ["kernel", "bias"])
@pytest.mark.parametrize("reg", REGULARIZERS, ids=repr)
def test_the_penalty_gradient_is_added_to_the_parameter_gradient(reg, where):
    x, y = regression_data()
    plain, with_reg = two_layer_model(None), two_layer_model(reg, where)
    xs, ys = plain.prepare_xy(x, y)
    loss_plain, _ = plain.compute_gradients(xs, ys)
    loss_reg, _ = with_reg.compute_gradients(xs, ys)
    penalty, gradient = by_hand(reg)
    w = plain.get_weights()
    targets = regularized(plain, where)
    assert loss_reg - loss_plain == pytest.approx(sum(penalty(w[i]) for i in targets), rel=1e-12)
    g_plain = [g for layer in plain.layers for g in layer.grads.values()]
    g_reg = [g for layer in with_reg.layers for g in layer.grads.values()]
    for i, (a, b) in enumerate(zip(g_plain, g_reg, strict=True)):
        expected = gradient(w[i]) if i in targets else np.zeros_like(w[i])
        np.testing.assert_allclose(b - a, expected, rtol=1e-10, atol=1e-14)


def sparse_regression(seed=0):
    """y depends on 2 of 10 inputs; the other 8 inputs' weights are best at zero."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(200, 10))
    return x, x[:, :2] @ np.array([[1.5], [-2.0]]) + 0.1 * rng.normal(size=(200, 1))


def test_l1_drives_weights_to_zero():
    x, y = sparse_regression()
    kernels = {}
    for name, reg in (("none", None), ("l1", L1(0.01))):
        model = ff.Sequential([ff.Dense(16, activation="tanh", kernel_regularizer=reg),
                               ff.Dense(1)], seed=0, dtype="float64")
        model.compile(ff.optimizers.SGD(0.05), "mse")
        model.fit(x, y, epochs=100, batch_size=20, verbose=0)
        kernels[name] = model.get_weights()[0]
    near_zero = {k: np.mean(np.abs(w) < 1e-2) for k, w in kernels.items()}
    assert near_zero["l1"] > 0.7 and near_zero["none"] < 0.1
    # the weights of the 8 irrelevant inputs all go to zero
    assert np.abs(kernels["l1"][2:]).max() < 1e-2 < np.abs(kernels["none"][2:]).max()


# ------------------------------------------------------------------ MaxNorm
@pytest.mark.parametrize("axis", [0, 1])
def test_max_norm_rescales_only_long_vectors(axis):
    w = np.array([[0.1, 3.0, 0.0], [0.2, -4.0, 0.0]])  # column norms 0.22, 5, 0
    w = w if axis == 0 else w.T.copy()
    before = w.copy()
    MaxNorm(max_value=2.0, axis=axis)(w)
    norms = np.linalg.norm(w, axis=axis)
    assert norms[1] == pytest.approx(2.0, rel=1e-15)
    take = (lambda a, j: a[:, j]) if axis == 0 else (lambda a, j: a[j])
    np.testing.assert_array_equal(take(w, 0), take(before, 0))  # bit for bit
    np.testing.assert_array_equal(take(w, 2), 0.0)
    np.testing.assert_allclose(take(w, 1), take(before, 1) * 0.4, rtol=1e-15)  # same direction


def test_max_norm_of_a_bias_is_the_vector_norm():
    b = np.array([3.0, 4.0])
    MaxNorm(1.0)(b)
    np.testing.assert_allclose(b, [0.6, 0.8], rtol=1e-15)


class KernelNorms(Callback):
    """The largest column norm of the first kernel after every update."""

    def __init__(self):
        self.norms = []

    def on_batch_end(self, batch, logs=None):
        kernel = self.model.layers[0].params["kernel"]
        self.norms.append(np.linalg.norm(kernel, axis=0).max())


def train_with(constraint, dtype="float64"):
    x, y = sparse_regression()
    model = ff.Sequential([ff.Dense(16, activation="tanh", kernel_constraint=constraint),
                           ff.Dense(1)], seed=0, dtype=dtype)
    model.compile(ff.optimizers.SGD(0.1), "mse")
    norms = KernelNorms()
    model.fit(x, y, epochs=10, batch_size=20, callbacks=[norms], verbose=0)
    return model, np.array(norms.norms)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_max_norm_holds_after_every_update(dtype):
    _, free = train_with(None, dtype)
    assert free.max() > 1.0  # unconstrained, the units grow well past the bound
    _, bounded = train_with(MaxNorm(0.8), dtype)
    assert bounded.max() <= 0.8 * (1 + 4 * np.finfo(dtype).eps)
    assert bounded.max() > 0.79  # the bound is active, not trivially met


def test_a_loose_max_norm_changes_nothing():
    free, _ = train_with(None)
    loose, _ = train_with(MaxNorm(100.0))
    np.testing.assert_array_equal(loose.params, free.params)


# ------------------------------------------------------------------ errors and configs
@pytest.mark.parametrize("make, kwargs, name", [
    (L1, dict(l1=-0.1), "l1"), (L2, dict(l2=-1.0), "l2"), (L1L2, dict(l1=-1e-3), "l1"),
    (L1L2, dict(l2=-1e-3), "l2"), (L1, dict(l1="big"), "l1"), (L2, dict(l2=float("nan")), "l2"),
    (L2, dict(l2=float("inf")), "l2"), (MaxNorm, dict(max_value=0.0), "max_value"),
    (MaxNorm, dict(max_value=-1.0), "max_value"), (MaxNorm, dict(axis=0.5), "axis")])
def test_bad_values_are_named(make, kwargs, name):
    with pytest.raises(ff.FeedforwardError, match=name):
        make(**kwargs)


@pytest.mark.parametrize("argument, value, known", [
    ("kernel_regularizer", "l3", "l1_l2"), ("bias_regularizer", "dropout", "l2"),
    ("kernel_constraint", "non_neg", "max_norm")])
def test_unknown_names_list_the_known_ones(argument, value, known):
    with pytest.raises(ff.FeedforwardError, match=known):
        ff.Dense(3, **{argument: value})


@pytest.mark.parametrize("reg", REGULARIZERS, ids=repr)
def test_regularizer_round_trips_through_its_config(reg):
    again = regularizers.deserialize(regularizers.serialize(reg))
    assert type(again) is type(reg) and again.get_config() == reg.get_config()
    w = weights()
    assert again.penalty(w) == reg.penalty(w)
    assert regularizers.get(type(reg).name).get_config() == type(reg)().get_config()


@pytest.mark.parametrize("spec", ["max_norm", "maxnorm", "MaxNorm",
                                  {"class_name": "max_norm", "config": {"max_value": 3.0}}])
def test_max_norm_resolves_by_name_and_config(spec):
    constraint = regularizers.constraints.get(spec)
    assert isinstance(constraint, MaxNorm)
    again = regularizers.constraints.deserialize(regularizers.constraints.serialize(constraint))
    assert again.get_config() == constraint.get_config()


def test_dense_keeps_its_regularizers_and_constraints_through_config_and_file(tmp_path):
    dense = ff.Dense(4, kernel_regularizer=L1L2(l1=0.01, l2=0.02), bias_regularizer=L1(0.3),
                     kernel_constraint=MaxNorm(1.5, axis=0), bias_constraint="max_norm")
    again = layers.deserialize(layers.serialize(dense))
    assert again.get_config() == dense.get_config()
    assert again.constraints["kernel"].max_value == 1.5

    x, y = regression_data()
    model = ff.Sequential([dense, ff.Dense(2)], seed=0, dtype="float64")
    model.compile(ff.optimizers.SGD(0.1), "mse")
    model.fit(x, y, epochs=3, verbose=0)
    model.save(tmp_path / "m.safetensors")
    loaded = ff.load_model(tmp_path / "m.safetensors")
    assert loaded.evaluate(x, y) == model.evaluate(x, y)  # the same penalty included
    assert loaded.get_config() == model.get_config()
