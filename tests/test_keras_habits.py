"""Keras habits that work as in Keras (issue 20, item 4): ``verbose`` on ``evaluate`` and
``predict`` and ``"auto"``, the weights of layers and of the model, ``History.params``, and the
refusal of Keras's file suffixes in ``save``."""

from __future__ import annotations

import numpy as np
import pytest

import feedforward as ff
from feedforward.errors import FeedforwardError

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 3)).astype("float32")
Y = RNG.normal(size=(40, 2)).astype("float32")


def model(built=True):
    m = ff.Sequential([ff.layers.Dense(4, activation="relu"), ff.layers.Dropout(0.1),
                       ff.layers.Dense(2)], input_dim=3 if built else None, seed=0)
    return m.compile("sgd", "mse")


# ------------------------------------------------------------------------------ verbose
@pytest.mark.parametrize("verbose", [0, 1, 2, "auto"])
def test_evaluate_and_predict_take_verbose_and_print_nothing(verbose, capsys):
    m = model()
    assert m.evaluate(X, Y, batch_size=7, verbose=verbose) == pytest.approx(m.evaluate(X, Y))
    np.testing.assert_array_equal(m.predict(X, batch_size=7, verbose=verbose), m.predict(X))
    assert capsys.readouterr().out == ""


def test_evaluate_keeps_return_dict_after_verbose():
    assert set(model().evaluate(X, Y, 16, 0, True)) == {"loss"}


def test_fit_verbose_auto_means_1():
    history = model().fit(X, Y, epochs=1, verbose="auto")
    assert history.params["verbose"] == 1


@pytest.mark.parametrize("bad", [3, -1, "1", "AUTO", None, 0.5])
@pytest.mark.parametrize("call", ["fit", "evaluate", "predict"])
def test_a_bad_verbose_is_refused_naming_it(call, bad):
    m = model()
    run = {"fit": lambda: m.fit(X, Y, verbose=bad),
           "evaluate": lambda: m.evaluate(X, Y, verbose=bad),
           "predict": lambda: m.predict(X, verbose=bad)}[call]
    with pytest.raises(FeedforwardError, match=r'^verbose: expected 0, 1 or 2 \(or "auto"'):
        run()


# ------------------------------------------------------------------------------ layer weights
def test_layer_weights_are_keras_order_views_and_copies():
    m = model()
    dense = m.layers[0]
    kernel, bias = dense.get_weights()
    assert kernel.shape == (3, 4) and bias.shape == (4,)
    np.testing.assert_array_equal(dense.kernel, kernel)
    np.testing.assert_array_equal(dense.bias, bias)
    assert [w.shape for w in dense.weights] == [(3, 4), (4,)]
    assert m.layers[1].get_weights() == [] and m.layers[1].weights == []
    kernel[...] = 7  # a copy: the model does not change
    assert not (dense.kernel == 7).any()


def test_layer_views_are_read_only_and_follow_the_model():
    m = model()
    dense = m.layers[2]
    view = dense.kernel
    with pytest.raises(ValueError):
        view[0, 0] = 1.0
    for w in dense.weights:
        assert not w.flags.writeable
    m.params[...] = 0.5  # training writes the flat buffer: the views see it
    assert (view == 0.5).all()


def test_layer_set_weights_writes_into_the_model():
    m = model()
    dense = m.layers[2]
    kernel = np.arange(8, dtype="float64").reshape(4, 2)
    dense.set_weights([kernel, np.array([1.0, -1.0])])
    np.testing.assert_array_equal(m.get_weights()[2], kernel)
    np.testing.assert_array_equal(m.get_weights()[3], [1.0, -1.0])
    assert np.shares_memory(dense.params["kernel"], m.params)
    hidden = np.maximum(X @ m.get_weights()[0] + m.get_weights()[1], 0)
    np.testing.assert_allclose(m.predict(X), hidden @ kernel + [1.0, -1.0], rtol=1e-5)


def test_layer_without_bias_has_bias_none():
    m = ff.Sequential([ff.layers.Dense(2, use_bias=False)], input_dim=3, seed=0)
    assert m.layers[0].bias is None
    assert [w.shape for w in m.layers[0].get_weights()] == [(3, 2)]


@pytest.mark.parametrize("weights, message", [
    ([np.zeros((4, 3)), np.zeros(4)],
     r"^Dense layer: weights\[0\] \(kernel\): expected shape \(3, 4\), got \(4, 3\)$"),
    ([np.zeros((3, 4)), np.zeros(5)],
     r"^Dense layer: weights\[1\] \(bias\): expected shape \(4,\), got \(5,\)$"),
    ([np.zeros((3, 4))],
     r"^Dense layer: weights: expected a list of 2 arrays \(kernel, bias\), got 1$"),
    (np.zeros((3, 4)), r"^Dense layer: weights: expected a list of 2 arrays, got "),
])
def test_layer_set_weights_refuses_wrong_shapes(weights, message):
    m = model()
    before = m.get_weights()
    with pytest.raises(FeedforwardError, match=message):
        m.layers[0].set_weights(weights)
    for a, b in zip(before, m.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("what", ["get_weights", "set_weights", "weights", "kernel", "bias"])
def test_a_layer_of_an_unbuilt_model_says_so(what):
    dense = model(built=False).layers[0]
    with pytest.raises(FeedforwardError, match=rf"^{what}: the Dense layer is not built yet.*"
                                               r"model\.build\(input_dim\), or fit"):
        if what == "set_weights":
            dense.set_weights([])
        else:
            getattr(dense, what)() if what == "get_weights" else getattr(dense, what)


# ------------------------------------------------------------------------------ model weights
def test_model_weights_are_read_only_views_in_keras_order():
    m = model()
    weights = m.weights
    assert [w.shape for w in weights] == [(3, 4), (4,), (4, 2), (2,)]
    for w, copy in zip(weights, m.get_weights(), strict=True):
        np.testing.assert_array_equal(w, copy)
        assert not w.flags.writeable and np.shares_memory(w, m.params)
    m.fit(X, Y, epochs=1, verbose=0)
    np.testing.assert_array_equal(weights[0], m.get_weights()[0])  # views follow training


def test_model_weights_of_an_unbuilt_model_says_so():
    with pytest.raises(FeedforwardError, match=r"^weights: the model is not built yet"):
        model(built=False).weights  # noqa: B018


def test_model_set_weights_keeps_its_messages():
    m = model()
    with pytest.raises(FeedforwardError, match=r"^weights: expected a list of 4 arrays, got 1$"):
        m.set_weights([np.zeros((3, 4))])
    with pytest.raises(FeedforwardError, match=r"^weights\[2\]: expected shape \(4, 2\), got"):
        m.set_weights([np.zeros((3, 4)), np.zeros(4), np.zeros((2, 4)), np.zeros(2)])


# ------------------------------------------------------------------------------ History.params
def test_history_params_are_keras_s():
    history = model().fit(X, Y, epochs=3, batch_size=16, verbose=0)
    assert {"verbose", "epochs", "steps"} <= set(history.params)
    assert (history.params["verbose"], history.params["epochs"], history.params["steps"]) \
        == (0, 3, 3)


# ------------------------------------------------------------------------------ save
@pytest.mark.parametrize("name", ["m.keras", "m.h5", "m.hdf5", "M.H5"])
def test_save_refuses_keras_suffixes(tmp_path, name):
    path = tmp_path / name
    suffix = path.suffix
    with pytest.raises(FeedforwardError, match=(
            rf"^path: feedforward saves safetensors files; '\{suffix}' is Keras's format and "
            r"would be a mislabelled file: use a name ending in \.safetensors$")):
        model().save(path)
    assert not path.exists()


def test_save_still_writes_safetensors_names(tmp_path):
    m = model()
    m.save(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(ff.load_model(tmp_path / "m.safetensors").predict(X),
                                  m.predict(X))
