"""PyTorch hand-off: ``to_torch`` computes what ``predict`` computes, and ``from_torch`` brings
it back within 1e-6, for every activation (by the registry) and every layer torch has."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch (the dev extra) is not installed")

import feedforward as ff  # noqa: E402
from feedforward.activations import ALL as ACTIVATIONS  # noqa: E402
from feedforward.interop import from_torch, to_torch  # noqa: E402

nn = torch.nn
# float32: relative and absolute (sums in another order); float64: torch's Softplus is x itself
# above 20, which differs from log(1 + e^x) by up to 2.1e-9
TOL = {"float32": 1e-6, "float64": 1e-8}
VARIANTS = [cls() for cls in ACTIVATIONS] + [
    ff.activations.LeakyReLU(0.3), ff.activations.ELU(0.5), ff.activations.GELU(approximate=True)]


def inputs(n=64, features=6, scale=3.0, seed=0):
    return np.random.default_rng(seed).normal(0, scale, (n, features))


def torch_forward(seq, x, dtype):
    with torch.no_grad():
        return seq.eval()(torch.from_numpy(np.asarray(x, dtype=dtype))).numpy()


def every_layer_model(dtype):
    layers = [ff.Dense(12, activation=f, kernel_initializer="he_normal") for f in VARIANTS]
    layers += [ff.Dropout(0.3), ff.Activation("elu"), ff.Dense(5, use_bias=False),
               ff.Activation("softplus"), ff.Dense(3), ff.Activation("linear")]
    return ff.Sequential(layers, input_dim=6, seed=2, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("f", VARIANTS, ids=lambda f: f"{f.name}-{f.get_config()}")
def test_each_activation_round_trips(f, dtype):
    model = ff.Sequential([ff.Dense(5, activation=f), ff.Activation(f)], input_dim=6, seed=1,
                          dtype=dtype)
    x = inputs(scale=8.0)
    seq = to_torch(model)
    ours = model.predict(x)
    np.testing.assert_allclose(torch_forward(seq, x, dtype), ours, rtol=TOL[dtype],
                               atol=TOL[dtype])
    back = from_torch(seq)
    assert back.dtype == np.dtype(dtype)
    assert [type(layer.activation) for layer in back.layers] == [type(f)] * 2
    assert back.layers[0].activation.get_config() == f.get_config()
    np.testing.assert_allclose(back.predict(x), ours, rtol=0, atol=TOL[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_layer_type_round_trips(dtype):
    model = every_layer_model(dtype)
    seq = to_torch(model)
    assert isinstance(seq, nn.Sequential)
    assert sum(isinstance(m, nn.Linear) for m in seq) == len(VARIANTS) + 2
    assert [m.p for m in seq if isinstance(m, nn.Dropout)] == [0.3]
    assert not seq.training  # called as it comes, it computes predict (no dropout)
    with torch.no_grad():
        np.testing.assert_allclose(seq(torch.from_numpy(inputs(n=100).astype(dtype))).numpy(),
                                   model.predict(inputs(n=100)), rtol=TOL[dtype],
                                   atol=TOL[dtype])
    x = inputs(n=100)
    ours = model.predict(x)
    assert np.ptp(ours, axis=0).min() > 1e-3  # the outputs vary: the comparison has teeth
    np.testing.assert_allclose(torch_forward(seq, x, dtype), ours, rtol=TOL[dtype],
                               atol=TOL[dtype])
    back = from_torch(seq)
    np.testing.assert_allclose(back.predict(x), ours, rtol=0, atol=TOL[dtype])
    assert back.count_params() == model.count_params()
    for a, b in zip(back.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_torch_network_comes_over_as_is():
    """A network built in torch (its own initialization) predicts the same in feedforward."""
    torch.manual_seed(0)
    seq = nn.Sequential(nn.Linear(4, 9), nn.GELU(approximate="tanh"), nn.Dropout(0.2),
                        nn.Linear(9, 9, bias=False), nn.LeakyReLU(0.05), nn.Tanh(),
                        nn.Linear(9, 3), nn.Softmax(dim=1)).double()
    model = from_torch(seq)
    assert [type(layer).__name__ for layer in model.layers] == [
        "Dense", "Dropout", "Dense", "Activation", "Dense"]
    assert model.layers[2].activation.alpha == 0.05 and not model.layers[2].use_bias
    x = inputs(features=4)
    np.testing.assert_allclose(model.predict(x), torch_forward(seq, x, "float64"),
                               rtol=0, atol=1e-12)


def test_softplus_threshold_error_is_below_the_tolerance():
    """torch's Softplus is x itself above 20: it differs from log(1 + e^x) by < 2.1e-9."""
    model = ff.Sequential([ff.Activation("softplus")], input_dim=1, dtype="float64")
    x = np.linspace(-40, 60, 1001)[:, None]
    error = np.abs(torch_forward(to_torch(model), x, "float64") - model.predict(x)).max()
    assert 0 < error < 2.1e-9


def test_preprocessing_is_refused_unless_left_out():
    x = inputs() * 10 + 5
    model = ff.Sequential([ff.Dense(2, activation="tanh")], input_dim=6, seed=0,
                          preprocessing=ff.data.StandardScaler().fit(x))
    with pytest.raises(ff.FeedforwardError, match=r"preprocessing \(StandardScaler\)"):
        to_torch(model)
    seq = to_torch(model, include_preprocessing=False)
    scaled = model.preprocessing[0].transform(x)
    np.testing.assert_allclose(torch_forward(seq, scaled, "float32"), model.predict(x),
                               rtol=0, atol=1e-6)


def test_maxout_is_named_as_unsupported():
    model = ff.Sequential([ff.Dense(4), ff.Maxout(2, pieces=2)], input_dim=3)
    with pytest.raises(ff.FeedforwardError, match=r"layer 1 \(Maxout\) has no torch.nn"):
        to_torch(model)


@pytest.mark.parametrize("module, message", [
    (nn.BatchNorm1d(4), r"module 1 \(BatchNorm1d\) has no feedforward equivalent"),
    (nn.Hardtanh(), r"module 1 \(Hardtanh\) has no feedforward equivalent"),
    (nn.Softplus(beta=2), r"module 1 \(Softplus.*\): expected beta=1"),
    (nn.Softmax(dim=0), r"module 1 \(Softmax.*\): expected dim=-1"),
])
def test_unsupported_torch_module_is_named(module, message):
    with pytest.raises(ff.FeedforwardError, match=message):
        from_torch(nn.Sequential(nn.Linear(3, 4), module))


@pytest.mark.parametrize("seq, message", [
    (nn.Linear(3, 4), "expected a torch.nn.Sequential"),
    (nn.Sequential(nn.ReLU()), "at least one torch.nn.Linear"),
    (nn.Sequential(nn.Linear(3, 4).half()), "float32 or float64"),
])
def test_bad_sequential_is_an_error(seq, message):
    with pytest.raises(ff.FeedforwardError, match=message):
        from_torch(seq)


def test_unbuilt_model_is_an_error():
    with pytest.raises(ff.FeedforwardError, match="not built"):
        to_torch(ff.Sequential([ff.Dense(2)]))
