"""Activations: derivatives by central differences, parity with torch 2.13, stability, registry."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from _helpers import PARITY_TOL, TOL
from feedforward import activations
from feedforward.diagnostics import numerical_gradient
from feedforward.diagnostics.gradient_check import relative_error
from feedforward.errors import FeedforwardError

# every registered activation with its defaults, plus the non-default variants
CASES = [cls() for cls in activations.ALL] + [
    activations.LeakyReLU(alpha=0.3),
    activations.ELU(alpha=0.5),
    activations.GELU(approximate=True),
]

# the same function in torch, given a float64 tensor and our activation (for its arguments)
TORCH = {
    "linear": lambda x, a: x,
    "relu": lambda x, a: F.relu(x),
    "leaky_relu": lambda x, a: F.leaky_relu(x, a.alpha),
    "elu": lambda x, a: F.elu(x, a.alpha),
    "selu": lambda x, a: F.selu(x),
    "gelu": lambda x, a: F.gelu(x, approximate="tanh" if a.approximate else "none"),
    "silu": lambda x, a: F.silu(x),
    # torch returns x above `threshold` (default 20); beyond 30 that is exact to 1e-13
    "softplus": lambda x, a: F.softplus(x, threshold=30),
    "softsign": lambda x, a: F.softsign(x),
    "sigmoid": lambda x, a: torch.sigmoid(x),
    "tanh": lambda x, a: torch.tanh(x),
    "softmax": lambda x, a: F.softmax(x, dim=-1),
}


def sample(shape, seed=0):
    """Float64 inputs of the given shape with 0.05 <= |x| <= 3: away from the kinks at 0."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.05, 3.0, shape) * rng.choice([-1.0, 1.0], shape)


def torch_forward_backward(act, x, grad_y):
    """Torch's ``f(x)`` and ``d sum(f(x) * grad_y) / dx`` by autograd, as NumPy arrays."""
    xt = torch.tensor(x, requires_grad=True)
    yt = TORCH[act.name](xt, act)
    (yt * torch.tensor(grad_y)).sum().backward()
    return yt.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("act", CASES, ids=repr)
def test_backward_matches_central_differences(act):
    x = sample((3, 4))
    grad_y = np.random.default_rng(1).standard_normal(x.shape)
    numeric = numerical_gradient(lambda: np.sum(act(x) * grad_y), x)
    analytic = act.backward(x, act(x), grad_y)
    assert analytic.shape == x.shape
    assert relative_error(analytic, numeric) < TOL


def test_torch_table_covers_every_registered_activation():
    assert set(TORCH) == set(activations.registry.classes)


@pytest.mark.parametrize("act", CASES, ids=repr)
def test_forward_and_gradient_match_torch(act):
    # three dimensions: softmax must act on the last one only
    x = sample((2, 3, 5), seed=2)
    grad_y = np.random.default_rng(3).standard_normal(x.shape)
    y_torch, grad_torch = torch_forward_backward(act, x, grad_y)
    y = act(x)
    np.testing.assert_allclose(y, y_torch, rtol=PARITY_TOL, atol=0)
    np.testing.assert_allclose(act.backward(x, y, grad_y), grad_torch, rtol=PARITY_TOL, atol=0)


# rows of large inputs of both signs, mixed with ordinary ones (softmax acts per row)
EXTREME = np.array([[1e4, -1e4, 0.5, -2.0], [-1e4, -1e4, 1e4, 1e4], [-1e4, -1e4, -1e4, -1e4]])


def _quietly(act, x, grad_y):
    """Forward and backward with every floating-point warning an error.

    Underflow stays ignored, as in NumPy's defaults: exp(-1e4) is 0, correctly.
    """
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        y = act(x)
        return y, act.backward(x, y, grad_y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", CASES, ids=repr)
def test_large_inputs_give_finite_values_without_warnings(act, dtype):
    x = EXTREME.astype(dtype)
    y, grad_x = _quietly(act, x, np.ones_like(x))
    assert y.dtype == dtype and grad_x.dtype == dtype
    assert np.isfinite(y).all() and np.isfinite(grad_x).all()


@pytest.mark.parametrize("act", CASES, ids=repr)
def test_large_inputs_match_torch(act):
    # finite is not enough: the limits must be right too (sigmoid(1e4) = 1, softplus(1e4) = 1e4)
    grad_y = np.random.default_rng(4).standard_normal(EXTREME.shape)
    y, grad_x = _quietly(act, EXTREME, grad_y)
    y_torch, grad_torch = torch_forward_backward(act, EXTREME, grad_y)
    np.testing.assert_allclose(y, y_torch, rtol=PARITY_TOL, atol=1e-300)
    np.testing.assert_allclose(grad_x, grad_torch, rtol=PARITY_TOL, atol=1e-300)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_rows_are_distributions_for_large_inputs(dtype):
    p, _ = _quietly(activations.Softmax(), EXTREME.astype(dtype), np.ones(EXTREME.shape, dtype))
    assert ((p >= 0) & (p <= 1)).all()
    np.testing.assert_allclose(p.sum(axis=-1), 1, rtol=10 * np.finfo(dtype).eps)
    # equal largest inputs share the mass equally
    np.testing.assert_allclose(p[1], [0, 0, 0.5, 0.5])
    np.testing.assert_allclose(p[2], [0.25] * 4)


@pytest.mark.parametrize("cls", activations.ALL, ids=lambda c: c.name)
def test_registry_resolves_name_and_config(cls):
    act = activations.get(cls.name)
    assert type(act) is cls
    again = activations.get(activations.serialize(act))
    assert type(again) is cls and again.get_config() == act.get_config()


@pytest.mark.parametrize("name, cls", [
    ("swish", activations.SiLU),
    ("Swish", activations.SiLU),
    ("logistic", activations.Sigmoid),
    ("LeakyReLU", activations.LeakyReLU),
    ("identity", activations.Linear),
])
def test_registry_aliases(name, cls):
    assert type(activations.get(name)) is cls


def test_registry_config_dict_keeps_arguments():
    act = activations.get({"class_name": "leaky_relu", "config": {"alpha": 0.2}})
    assert isinstance(act, activations.LeakyReLU) and act.alpha == 0.2
    act = activations.get({"class_name": "gelu", "config": {"approximate": True}})
    assert act.approximate is True


def test_registry_passes_instances_and_none_through():
    act = activations.ELU(alpha=0.5)
    assert activations.get(act) is act
    assert activations.get(None) is None


def test_unknown_name_lists_known_names():
    with pytest.raises(FeedforwardError, match="unknown activation 'relu6'") as info:
        activations.get("relu6")
    for name in activations.registry.names():
        assert name in str(info.value)


@pytest.mark.parametrize("bad", [42, 1.5, ["relu"], {"config": {}}])
def test_registry_rejects_other_objects(bad):
    with pytest.raises(FeedforwardError, match="activation"):
        activations.get(bad)


@pytest.mark.parametrize("cls", [activations.LeakyReLU, activations.ELU])
@pytest.mark.parametrize("alpha", [-0.1, float("nan"), "0.1", True])
def test_invalid_alpha_is_rejected(cls, alpha):
    with pytest.raises(FeedforwardError, match="^alpha: expected"):
        cls(alpha=alpha)
