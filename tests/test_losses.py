"""Losses: gradients by central differences, parity with PyTorch 2.13, fused gradients, targets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from _helpers import PARITY_TOL, TOL
from feedforward import activations, losses
from feedforward.diagnostics import numerical_gradient
from feedforward.diagnostics.gradient_check import relative_error
from feedforward.errors import FeedforwardError

N, K = 6, 3

# every registered loss with its defaults, plus Huber with a delta that puts
# residuals on both sides of it
CASES = [cls() for cls in losses.ALL] + [losses.Huber(delta=0.3)]
FUSED = [cls() for cls in losses.ALL if cls.fused_activation]

# the same loss in torch: (predictions, targets, our loss) -> scalar tensor
TORCH = {
    "sse": lambda p, y, loss: F.mse_loss(p, y, reduction="sum"),
    "mse": lambda p, y, loss: F.mse_loss(p, y),
    "mae": lambda p, y, loss: F.l1_loss(p, y),
    "huber": lambda p, y, loss: F.huber_loss(p, y, delta=loss.delta),
    "binary_crossentropy": lambda p, y, loss: F.binary_cross_entropy(p, y),
    "categorical_crossentropy": lambda p, y, loss: F.nll_loss(torch.log(p), y.argmax(dim=1)),
}


def softmax(z):
    """Rows of probabilities from logits ``z`` of shape (n, k)."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def one_hot(labels, k=K):
    """Labels (n,) to float64 one-hot rows (n, k)."""
    return np.eye(k)[labels]


def sample(loss, seed=0):
    """Float64 ``(y_pred, y_true)`` of shape (N, K), in the domain ``loss`` expects.

    Probabilities stay in [0.05, 0.95], so no clipping is involved; regression residuals
    keep away from the kinks of MAE (0) and Huber (+-delta).
    """
    rng = np.random.default_rng(seed)
    if isinstance(loss, losses.CategoricalCrossentropy):
        return softmax(rng.normal(0, 0.5, (N, K))), one_hot(rng.integers(0, K, N))
    if isinstance(loss, losses.BinaryCrossentropy):
        return rng.uniform(0.05, 0.95, (N, K)), rng.uniform(0, 1, (N, K))
    y = rng.standard_normal((N, K))
    return y + rng.uniform(0.05, 2.0, (N, K)) * rng.choice([-1.0, 1.0], (N, K)), y


def torch_value_and_gradient(loss, p, y):
    """Torch's loss value and its gradient with respect to ``p`` by autograd."""
    pt = torch.tensor(p, requires_grad=True)
    value = TORCH[loss.name](pt, torch.tensor(y), loss)
    value.backward()
    return value.item(), pt.grad.numpy()


def test_torch_table_covers_every_registered_loss():
    assert set(TORCH) == set(losses.registry.classes)


@pytest.mark.parametrize("loss", CASES, ids=repr)
def test_gradient_matches_central_differences(loss):
    p, y = sample(loss)
    numeric = numerical_gradient(lambda: loss.value(p, y), p)
    analytic = loss.gradient(p, y)
    assert analytic.shape == p.shape
    assert relative_error(analytic, numeric) < TOL


def test_gradient_with_integer_labels_matches_central_differences():
    loss = losses.CategoricalCrossentropy()
    p, y = sample(loss)
    labels = y.argmax(axis=1)
    numeric = numerical_gradient(lambda: loss.value(p, labels), p)
    assert relative_error(loss.gradient(p, labels), numeric) < TOL


@pytest.mark.parametrize("loss", CASES, ids=repr)
def test_value_and_gradient_match_torch(loss):
    p, y = sample(loss, seed=1)
    value, grad = torch_value_and_gradient(loss, p, y)
    np.testing.assert_allclose(loss.value(p, y), value, rtol=PARITY_TOL, atol=0)
    np.testing.assert_allclose(loss.gradient(p, y), grad, rtol=PARITY_TOL, atol=0)


def test_huber_cases_cover_both_branches():
    # otherwise the Huber parity test could pass with one branch wrong
    for loss in (c for c in CASES if isinstance(c, losses.Huber)):
        p, y = sample(loss, seed=1)
        small = np.abs(p - y) <= loss.delta
        assert small.any() and not small.all()


def test_categorical_crossentropy_with_labels_matches_torch_nll():
    loss = losses.CategoricalCrossentropy()
    p, y = sample(loss, seed=2)
    labels = y.argmax(axis=1)
    pt = torch.tensor(p, requires_grad=True)
    value = F.nll_loss(torch.log(pt), torch.tensor(labels))
    value.backward()
    np.testing.assert_allclose(loss.value(p, labels), value.item(), rtol=PARITY_TOL, atol=0)
    np.testing.assert_allclose(loss.gradient(p, labels), pt.grad.numpy(), rtol=PARITY_TOL, atol=0)


def test_categorical_crossentropy_with_probability_targets_matches_torch():
    # for normalised p, log_softmax(log p) = log p, so cross_entropy(log p, y) is -mean sum y log p
    loss = losses.CategoricalCrossentropy()
    rng = np.random.default_rng(3)
    p, y = softmax(rng.standard_normal((N, K))), softmax(rng.standard_normal((N, K)))
    expected = F.cross_entropy(torch.log(torch.tensor(p)), torch.tensor(y)).item()
    np.testing.assert_allclose(loss.value(p, y), expected, rtol=PARITY_TOL, atol=0)


def fused_case(loss, seed=0, scale=1.0):
    """Logits ``z`` (N, K), probabilities ``p``, our targets and torch's loss of the logits."""
    rng = np.random.default_rng(seed)
    z = scale * rng.standard_normal((N, K))
    act = activations.get(loss.fused_activation)
    if isinstance(loss, losses.CategoricalCrossentropy):
        labels = rng.integers(0, K, N)
        return z, act(z), labels, lambda zt: F.cross_entropy(zt, torch.tensor(labels))
    y = rng.integers(0, 2, (N, K)).astype(np.float64)
    return z, act(z), y, lambda zt: F.binary_cross_entropy_with_logits(zt, torch.tensor(y))


def torch_logit_gradient(torch_loss, z):
    zt = torch.tensor(z, requires_grad=True)
    torch_loss(zt).backward()
    return zt.grad.numpy()


@pytest.mark.parametrize("loss", FUSED, ids=repr)
def test_fused_gradient_equals_chain_rule_and_torch(loss):
    z, p, y, torch_loss = fused_case(loss)
    fused = loss.fused_gradient(p, y)
    chain = activations.get(loss.fused_activation).backward(z, p, loss.gradient(p, y))
    np.testing.assert_allclose(fused, chain, rtol=PARITY_TOL, atol=0)
    np.testing.assert_allclose(fused, torch_logit_gradient(torch_loss, z), rtol=PARITY_TOL, atol=0)


@pytest.mark.parametrize("loss", FUSED, ids=repr)
def test_fused_gradient_stays_exact_for_confident_predictions(loss):
    # logits of +-40: p saturates, where the chain rule through clipped p loses the gradient
    z, p, y, torch_loss = fused_case(loss, seed=1, scale=40.0)
    np.testing.assert_allclose(loss.fused_gradient(p, y), torch_logit_gradient(torch_loss, z),
                               rtol=PARITY_TOL, atol=1e-300)


def test_integer_labels_and_one_hot_rows_agree():
    loss = losses.CategoricalCrossentropy()
    p, y = sample(loss, seed=4)
    labels = y.argmax(axis=1)
    for targets in (labels, labels.astype(np.float64), labels.tolist()):
        assert loss.value(p, targets) == loss.value(p, y)
        np.testing.assert_array_equal(loss.gradient(p, targets), loss.gradient(p, y))
        np.testing.assert_array_equal(loss.fused_gradient(p, targets), loss.fused_gradient(p, y))


@pytest.mark.parametrize("labels", [[0, 1, 2, 0, 1, K], [0, 1, 2, 0, 1, -1]], ids=["high", "low"])
def test_labels_out_of_range_are_rejected(labels):
    loss = losses.CategoricalCrossentropy()
    p, _ = sample(loss)
    with pytest.raises(FeedforwardError, match=rf"^y: expected class labels in \[0, {K - 1}\]"):
        loss.value(p, np.array(labels))


def test_non_integer_labels_are_rejected():
    loss = losses.CategoricalCrossentropy()
    p, _ = sample(loss)
    with pytest.raises(FeedforwardError, match="^y: expected integer class labels"):
        loss.gradient(p, np.array([0, 1, 2, 0, 1, 0.5]))


@pytest.mark.parametrize("loss", CASES, ids=repr)
@pytest.mark.parametrize("rows", [N - 1, N + 1])
def test_wrong_number_of_rows_is_rejected(loss, rows):
    p, y = sample(loss)
    y = np.resize(y, (rows, K))
    for method in (loss.value, loss.gradient):
        with pytest.raises(FeedforwardError, match=rf"^y: expected {N} rows.*got {rows}"):
            method(p, y)


@pytest.mark.parametrize("loss", CASES, ids=repr)
def test_wrong_number_of_columns_is_rejected(loss):
    p, y = sample(loss)
    with pytest.raises(FeedforwardError, match=rf"^y: expected {K} column"):
        loss.value(p, np.hstack([y, y]))


@pytest.mark.parametrize("bad", [1.5, -0.5])
@pytest.mark.parametrize("form", ["same shape and dtype", "float32", "list"])
def test_binary_crossentropy_targets_outside_unit_interval_are_rejected(bad, form):
    loss = losses.BinaryCrossentropy()
    p, y = sample(loss)
    y[2, 1] = bad
    targets = {"same shape and dtype": y, "float32": y.astype(np.float32), "list": y.tolist()}
    message = r"^y: binary cross-entropy expects targets in \[0, 1\]"
    with pytest.raises(FeedforwardError, match=message):
        loss.value(p, targets[form])


def test_binary_crossentropy_accepts_a_target_vector_for_one_output():
    loss = losses.BinaryCrossentropy()
    rng = np.random.default_rng(5)
    p, y = rng.uniform(0.05, 0.95, (N, 1)), rng.integers(0, 2, N)
    assert loss.value(p, y) == loss.value(p, y[:, None].astype(np.float64))


@pytest.mark.parametrize("cls", losses.ALL, ids=lambda c: c.name)
def test_registry_resolves_name_and_config(cls):
    loss = losses.get(cls.name)
    assert type(loss) is cls
    again = losses.get(losses.serialize(loss))
    assert type(again) is cls and again.get_config() == loss.get_config()


@pytest.mark.parametrize("name, cls", [
    ("log_loss", losses.BinaryCrossentropy),
    ("sparse_categorical_crossentropy", losses.CategoricalCrossentropy),
    ("mean_squared_error", losses.MSE),
])
def test_registry_aliases(name, cls):
    assert type(losses.get(name)) is cls


def test_unknown_loss_lists_known_names():
    with pytest.raises(FeedforwardError, match="unknown loss 'hinge'") as info:
        losses.get("hinge")
    for name in losses.registry.names():
        assert name in str(info.value)


@pytest.mark.parametrize("delta", [0, -1.0, float("inf"), "1"])
def test_invalid_huber_delta_is_rejected(delta):
    with pytest.raises(FeedforwardError, match="^delta: expected"):
        losses.Huber(delta=delta)
