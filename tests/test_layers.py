"""Layers: forward values, gradient checks, parity with torch 2.13, dropout statistics, configs.

Gradient checks run on float64 copies with random (non-zero) weights and biases, so that
every term of every derivative is exercised; a relative error below 1e-6 means backprop
and central differences agree.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import feedforward as ff
from _helpers import PARITY_TOL, TOL, randomize, relative_difference, torch_grads, torch_linears
from feedforward import activations, layers, regularizers
from feedforward.diagnostics import gradient_check


def regression_data(n=6, d=3, k=2, seed=1):
    """Inputs ``(n, d)`` spread over the activations' interesting range, targets ``(n, k)``."""
    rng = np.random.default_rng(seed)
    return rng.normal(0, 1.5, (n, d)), rng.normal(0, 1, (n, k))


def check(layer_list, loss="mse", k=2, training=False, **model_kw):
    """Gradient-check relative error of ``layer_list`` (input 3 features) on a regression task."""
    x, y = regression_data(k=k)
    model = ff.Sequential(layer_list, input_dim=3, seed=0, dtype="float64", **model_kw)
    model.compile("sgd", loss)
    return gradient_check(randomize(model), x, y, training=training)


# every activation, with non-default arguments where an activation has some
ACTIVATIONS = [cls() for cls in activations.ALL] + [
    activations.GELU(approximate=True), activations.LeakyReLU(alpha=0.2),
    activations.ELU(alpha=0.5)]


def act_id(act):
    return repr(act)


# ------------------------------------------------------------------ forward values
def test_dense_forward_is_affine_map_then_activation():
    x, _ = regression_data()
    model = randomize(ff.Sequential([ff.Dense(4, activation="tanh")], input_dim=3,
                                    dtype="float64"))
    kernel, bias = model.get_weights()
    assert kernel.shape == (3, 4) and bias.shape == (4,)
    np.testing.assert_allclose(model.predict(x), np.tanh(x @ kernel + bias), rtol=1e-14)


def test_dense_without_bias_has_only_a_kernel():
    x, _ = regression_data()
    model = randomize(ff.Sequential([ff.Dense(4, use_bias=False)], input_dim=3, dtype="float64"))
    (kernel,) = model.get_weights()
    np.testing.assert_allclose(model.predict(x), x @ kernel, rtol=1e-14)


@pytest.mark.parametrize("pieces", [1, 3])
def test_maxout_takes_the_max_over_each_units_pieces(pieces):
    x, _ = regression_data()
    model = randomize(ff.Sequential([ff.Maxout(4, pieces=pieces)], input_dim=3, dtype="float64"))
    kernel, bias = model.get_weights()
    assert kernel.shape == (3, 4 * pieces) and bias.shape == (4 * pieces,)
    z = (x @ kernel + bias).reshape(len(x), 4, pieces)
    np.testing.assert_array_equal(model.predict(x), z.max(axis=2))


def test_activation_layer_applies_its_function():
    x, _ = regression_data()
    model = ff.Sequential([ff.Activation("softsign")], input_dim=3, dtype="float64")
    np.testing.assert_allclose(model.predict(x), x / (1 + np.abs(x)), rtol=1e-15)


# ------------------------------------------------------------------ gradient checks
@pytest.mark.parametrize("use_bias", [True, False])
def test_gradient_check_dense(use_bias):
    assert check([ff.Dense(4, use_bias=use_bias), ff.Dense(2, use_bias=use_bias)]) < TOL


@pytest.mark.parametrize("act", ACTIVATIONS, ids=act_id)
def test_gradient_check_dense_with_every_activation(act):
    # the activation sits in the hidden layer and, separately, at the output
    assert check([ff.Dense(4, activation=act), ff.Dense(2)]) < TOL
    assert check([ff.Dense(4, activation="tanh"), ff.Dense(2, activation=act)]) < TOL


@pytest.mark.parametrize("act", ACTIVATIONS, ids=act_id)
def test_gradient_check_activation_layer(act):
    assert check([ff.Dense(4), ff.Activation(act), ff.Dense(2)]) < TOL


@pytest.mark.parametrize("pieces", [1, 2, 3])
def test_gradient_check_maxout(pieces):
    assert check([ff.Maxout(4, pieces=pieces), ff.Dense(2)]) < TOL


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_gradient_check_dropout_with_its_fixed_mask(rate):
    net = [ff.Dense(5, activation="tanh"), ff.Dropout(rate), ff.Dense(2)]
    assert check(net, training=True) < TOL


REGULARIZERS = [regularizers.L1(0.1), regularizers.L2(0.1), regularizers.L1L2(l1=0.05, l2=0.2)]


@pytest.mark.parametrize("reg", REGULARIZERS, ids=repr)
@pytest.mark.parametrize("where", ["kernel", "bias"])
def test_gradient_check_dense_with_regularizer(reg, where):
    net = [ff.Dense(4, activation="tanh", **{f"{where}_regularizer": reg}), ff.Dense(2)]
    assert check(net) < TOL


@pytest.mark.parametrize("reg", REGULARIZERS, ids=repr)
def test_regularizer_adds_its_penalty_and_gradient(reg):
    """The regularized loss and gradients are the plain ones plus R(w) and dR/dw."""
    x, y = regression_data()

    def model(**kw):
        m = ff.Sequential([ff.Dense(4, **kw), ff.Dense(2)], input_dim=3, seed=0, dtype="float64")
        m.compile("sgd", "mse")
        xc, yc = m.prepare_xy(x, y)
        loss, _ = m.compute_gradients(xc, yc)
        return loss, m.layers[0].grads["kernel"].copy(), m.layers[0].params["kernel"]

    plain_loss, plain_grad, w = model()
    reg_loss, reg_grad, _ = model(kernel_regularizer=reg)
    penalty = reg.l1 * np.abs(w).sum() + reg.l2 * (w * w).sum()
    assert penalty > 0
    np.testing.assert_allclose(reg_loss, plain_loss + penalty, rtol=1e-13)
    np.testing.assert_allclose(reg_grad, plain_grad + reg.l1 * np.sign(w) + 2 * reg.l2 * w,
                               rtol=1e-12)


# ------------------------------------------------------------------ the check can fail
def _scale_kernel_grad(original):
    def backward_from_logits(self, grad_z):
        out = original(self, grad_z)
        self.grads["kernel"] *= 1.01
        return out
    return backward_from_logits


def _tanh_without_square(self, x, y, grad_y):
    return grad_y * (1 - y)


def _dropout_ignoring_mask(self, grad_y):
    return grad_y


def _maxout_to_first_piece(self, grad_y):
    n = grad_y.shape[0]
    grad_z = np.zeros((n, self.units, self.pieces))
    grad_z[..., 0] = grad_y
    return self.backward_from_logits(grad_z.reshape(n, -1))


CORRUPTIONS = {
    "dense_kernel_grad_1pct_off": (
        layers._Affine, "backward_from_logits",
        _scale_kernel_grad(layers._Affine.backward_from_logits),
        lambda: [ff.Dense(4, activation="tanh"), ff.Dense(2)], False),
    "tanh_derivative_wrong": (
        activations.Tanh, "backward", _tanh_without_square,
        lambda: [ff.Dense(4, activation="tanh"), ff.Dense(2)], False),
    "dropout_backward_ignores_mask": (
        layers.Dropout, "backward", _dropout_ignoring_mask,
        lambda: [ff.Dense(5, activation="tanh"), ff.Dropout(0.5), ff.Dense(2)], True),
    "maxout_routes_to_wrong_piece": (
        layers.Maxout, "backward", _maxout_to_first_piece,
        lambda: [ff.Maxout(4, pieces=3), ff.Dense(2)], False),
}


@pytest.mark.parametrize("case", CORRUPTIONS)
def test_gradient_check_detects_a_corrupted_backward(case, monkeypatch):
    owner, attr, broken, net, training = CORRUPTIONS[case]
    assert check(net(), training=training) < TOL  # sane before the corruption
    monkeypatch.setattr(owner, attr, broken)
    assert check(net(), training=training) > 1e-3


# ------------------------------------------------------------------ parity with torch
def torch_activation(act):
    """The torch function equal to our activation ``act``."""
    table = {
        "linear": lambda t: t,
        "relu": F.relu,
        "leaky_relu": lambda t: F.leaky_relu(t, getattr(act, "alpha", 0)),
        "elu": lambda t: F.elu(t, getattr(act, "alpha", 1)),
        "selu": F.selu,
        "gelu": lambda t: F.gelu(t, approximate="tanh" if getattr(act, "approximate", 0)
                                 else "none"),
        "sigmoid": torch.sigmoid,
        "silu": F.silu,
        "softplus": F.softplus,
        "softsign": F.softsign,
        "tanh": torch.tanh,
        "softmax": lambda t: torch.softmax(t, dim=-1),
    }
    return table[act.name]


@pytest.mark.parametrize("act", ACTIVATIONS, ids=act_id)
def test_dense_stack_matches_torch(act):
    """Forward values and every parameter gradient of Dense(act) -> Dense(act) -> Dense, MSE."""
    x, y = regression_data(n=7, d=4, k=3)
    model = ff.Sequential([ff.Dense(5, activation=act), ff.Dense(4, activation=act, use_bias=False),
                           ff.Dense(3)], input_dim=4, seed=0, dtype="float64")
    model.compile("sgd", "mse")
    randomize(model)
    xc, yc = model.prepare_xy(x, y)
    loss, out = model.compute_gradients(xc, yc)
    ours = [g.copy() for layer in model.layers for g in layer.grads.values()]

    lins, f = torch_linears(model), torch_activation(act)
    t = torch.from_numpy(x)
    for lin, layer in zip(lins, model.layers, strict=True):
        t = lin(t)
        t = f(t) if layer.activation.name != "linear" else t
    t_loss = F.mse_loss(t, torch.from_numpy(y))
    t_loss.backward()
    theirs = torch_grads(lins)

    assert relative_difference(out, t.detach().numpy()) < PARITY_TOL
    assert abs(loss - t_loss.item()) <= PARITY_TOL * abs(t_loss.item())
    assert [g.shape for g in ours] == [g.shape for g in theirs]
    for g, tg in zip(ours, theirs, strict=True):
        assert relative_difference(g, tg) < PARITY_TOL


def test_torch_activation_table_covers_the_registry():
    # a new activation must get a torch counterpart here (or a golden-value test elsewhere)
    for cls in activations.ALL:
        torch_activation(cls())


# ------------------------------------------------------------------ dropout
def dropout_layer(rate, seed=0, dtype="float64"):
    layer = ff.Dropout(rate)
    layer.build((1000,), np.random.default_rng(seed), dtype)
    layer.rng = np.random.default_rng(seed)
    return layer


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_zeroes_a_rate_fraction_and_preserves_the_mean(rate):
    x = np.random.default_rng(1).uniform(0.5, 1.5, (200, 1000))
    y = dropout_layer(rate).forward(x, training=True)
    n = x.size
    zeroed = np.mean(y == 0)
    assert abs(zeroed - rate) < 3 * np.sqrt(rate * (1 - rate) / n)
    survivors = y != 0
    np.testing.assert_allclose(y[survivors], x[survivors] / (1 - rate), rtol=1e-15)
    # E[y] = E[x]: the standard error of mean(y - x) comes from its own sample spread
    d = y - x
    assert abs(d.mean()) < 3 * d.std() / np.sqrt(n)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dropout_backward_applies_the_same_mask(dtype):
    layer = dropout_layer(0.5, dtype=dtype)
    x = np.ones((4, 1000), dtype=dtype)
    y = layer.forward(x, training=True)
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), y)


def test_dropout_is_the_identity_at_inference():
    layer = dropout_layer(0.5)
    x = np.random.default_rng(1).normal(size=(8, 1000))
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    model = ff.Sequential([ff.Dense(6), ff.Dropout(0.9), ff.Dense(2)], input_dim=3, seed=0)
    xs = x[:, :3]
    np.testing.assert_array_equal(model.predict(xs), model.predict(xs))


def test_dropout_draws_a_fresh_mask_every_training_pass():
    layer = dropout_layer(0.5)
    x = np.ones((2, 1000))
    assert not np.array_equal(layer.forward(x, training=True), layer.forward(x, training=True))


def test_dropout_rate_zero_is_the_identity_in_training():
    x = np.random.default_rng(1).normal(size=(8, 1000))
    np.testing.assert_array_equal(dropout_layer(0.0).forward(x, training=True), x)


@pytest.mark.parametrize("rate", [1.0, 1.5, -0.1, float("nan"), "0.5", None])
def test_dropout_rate_outside_0_1_is_an_error(rate):
    with pytest.raises(ff.FeedforwardError, match="rate"):
        ff.Dropout(rate)


# ------------------------------------------------------------------ configs and shapes
LAYERS = [
    ff.Dense(3, activation=activations.LeakyReLU(0.2), use_bias=False,
             kernel_initializer="he_normal", kernel_regularizer=regularizers.L2(0.3)),
    ff.Maxout(3, pieces=4, bias_regularizer="l1"),
    ff.Activation("gelu"),
    ff.Dropout(0.25),
]


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: type(layer).__name__)
def test_layer_config_round_trip(layer):
    config = layers.serialize(layer)
    copy = layers.deserialize(config)
    assert type(copy) is type(layer)
    assert layers.serialize(copy) == config


def test_every_layer_class_is_covered_by_the_round_trip():
    assert {type(layer) for layer in LAYERS} == set(layers.ALL)


@pytest.mark.parametrize("layer, out_shape, n_params", [
    (ff.Dense(4), (4,), 3 * 4 + 4),
    (ff.Dense(4, use_bias=False), (4,), 3 * 4),
    (ff.Maxout(4, pieces=2), (4,), 3 * 8 + 8),
    (ff.Activation("relu"), (3,), 0),
    (ff.Dropout(0.5), (3,), 0),
])
def test_build_output_shape_and_parameter_count(layer, out_shape, n_params):
    assert layer.build((3,), np.random.default_rng(0), "float32") == out_shape
    assert layer.count_params() == n_params
    assert set(layer.grads) == set(layer.params)
