"""Keras habits that work as in Keras: ``verbose`` on ``evaluate`` and ``predict`` and
``"auto"``, the weights of layers and of the model, ``History.params``, the refusal of Keras's
file suffixes in ``save``, ``model(x)``, ``input_shape`` / ``output_shape``, ``metrics_names``,
``pop()``, ``ff.Input`` and ``input_shape=`` on a first layer, ``compile`` and ``summary``
returning None."""

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
    m.compile("sgd", "mse")
    return m


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


# ------------------------------------------------------------------------------ model(x)
def test_calling_the_model_gives_predict_s_outputs():
    m = model()
    out = m(X)
    assert out.shape == (40, 2) and out.dtype == np.float32
    np.testing.assert_array_equal(out, m.predict(X))
    np.testing.assert_array_equal(m(X, training=False), out)
    out[...] = 0  # a copy: the next call is not changed
    np.testing.assert_array_equal(m(X), m.predict(X))


def test_calling_the_model_in_training_mode_runs_dropout():
    m = ff.Sequential([ff.Dense(64, activation="relu"), ff.Dropout(0.5), ff.Dense(2)],
                      input_dim=3, seed=0)
    dropped = m(X, training=True)
    assert dropped.shape == (40, 2)
    assert not np.allclose(dropped, m.predict(X))  # half the hidden units were dropped
    no_dropout = ff.Sequential([ff.Dense(4, activation="relu"), ff.Dense(2)], input_dim=3, seed=0)
    np.testing.assert_array_equal(no_dropout(X, training=True), no_dropout.predict(X))


@pytest.mark.parametrize("bad", [1, "yes", 0.0])
def test_calling_the_model_refuses_a_training_that_is_not_a_bool(bad):
    with pytest.raises(FeedforwardError, match=r"^training: expected True or False, got "):
        model()(X, training=bad)


def test_calling_an_unbuilt_model_builds_it_as_predict_does():
    m = ff.Sequential([ff.Dense(2)], seed=0)
    assert m(X).shape == (40, 2) and m.input_shape == (None, 3)


# ------------------------------------------------------------------------------ shapes
def test_input_and_output_shapes_have_none_for_the_batch_axis():
    m = model()
    assert m.input_shape == (None, 3) and m.output_shape == (None, 2)
    assert m.predict(X[:5]).shape == (5, *m.output_shape[1:])


@pytest.mark.parametrize("name", ["input_shape", "output_shape"])
def test_the_shapes_of_an_unbuilt_model_say_so_and_hasattr_is_false(name):
    m = model(built=False)
    with pytest.raises(ff.errors.NotBuiltError, match=rf"^{name}: the model is not built yet"):
        getattr(m, name)
    assert not hasattr(m, name)
    with pytest.raises(AttributeError):  # what Keras raises for an unbuilt model
        getattr(m, name)


# ------------------------------------------------------------------------------ metrics_names
def test_metrics_names_are_evaluate_s_order():
    m = ff.Sequential([ff.Dense(3, activation="softmax")], input_dim=3, seed=0)
    assert m.metrics_names == []
    m.compile("sgd", "categorical_crossentropy")
    assert m.metrics_names == ["loss"]
    m.compile("sgd", "categorical_crossentropy", ["accuracy", "mae"])
    labels = np.arange(40) % 3
    assert m.metrics_names == ["loss", "accuracy", "mae"]
    assert list(m.evaluate(X, labels, return_dict=True)) == m.metrics_names
    assert len(m.evaluate(X, labels)) == len(m.metrics_names)


# ------------------------------------------------------------------------------ compile, summary
def test_compile_returns_none():
    m = ff.Sequential([ff.Dense(2)])
    assert m.compile("sgd", "mse") is None
    assert m.loss is not None


def test_summary_prints_and_returns_none(capsys):
    m = model()
    assert m.summary() is None
    printed = capsys.readouterr().out
    assert printed == m.summary_text() and "(None, 2)" in printed
    lines = []
    assert m.summary(print_fn=lines.append) is None
    assert lines == m.summary_text().splitlines() and capsys.readouterr().out == ""


# ------------------------------------------------------------------------------ Input, input_shape
def same_weights(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights(),
                                                       strict=True))


def keras_styles():
    """The same 4 -> 8 -> 3 network declared in each of Keras's ways, and with input_dim."""
    def added():
        m = ff.Sequential(seed=0)
        m.add(ff.Input((4,)))
        m.add(ff.Dense(8, activation="relu"))
        m.add(ff.Dense(3, activation="softmax"))
        return m
    return {
        "Input first": ff.Sequential([ff.Input((4,)), ff.Dense(8, activation="relu"),
                                      ff.Dense(3, activation="softmax")], seed=0),
        "add(Input) then add": added(),
        "input_shape": ff.Sequential([ff.Dense(8, activation="relu", input_shape=(4,)),
                                      ff.Dense(3, activation="softmax")], seed=0),
    }


@pytest.mark.parametrize("style", list(keras_styles()))
def test_keras_s_ways_to_give_the_input_build_the_same_model(style):
    m = keras_styles()[style]
    reference = ff.Sequential([ff.Dense(8, activation="relu"), ff.Dense(3, activation="softmax")],
                              input_dim=4, seed=0)
    assert m.built and m.input_shape == (None, 4) and m.output_shape == (None, 3)
    assert [type(layer).__name__ for layer in m.layers] == ["Dense", "Dense"]  # no Input
    assert same_weights(m, reference)
    assert m.get_config()["input_dim"] == 4
    again = ff.Sequential.from_config(m.get_config())
    assert again.input_shape == (None, 4) and again.get_config() == m.get_config()


def test_a_first_layer_s_input_shape_is_in_its_config():
    dense = ff.Dense(8, input_shape=(4,))
    assert dense.get_config()["input_shape"] == [4]
    again = ff.layers.deserialize(ff.layers.serialize(dense))
    assert again.declared_input_dim == 4
    assert ff.Sequential([again], seed=0).input_shape == (None, 4)
    assert ff.Dense(8).get_config()["input_shape"] is None


def test_a_model_built_from_input_round_trips_through_config_and_file(tmp_path):
    m = keras_styles()["Input first"]
    m.compile("adam", "categorical_crossentropy", ["accuracy"])
    x = RNG.normal(size=(10, 4))
    m.fit(x, np.arange(10) % 3, epochs=2, verbose=0)
    rebuilt = ff.Sequential.from_config(m.get_config())
    assert rebuilt.input_shape == (None, 4)
    rebuilt.set_weights(m.get_weights())
    np.testing.assert_array_equal(rebuilt.predict(x), m.predict(x))
    m.save(tmp_path / "m.safetensors")
    loaded = ff.load_model(tmp_path / "m.safetensors")
    assert loaded.input_shape == (None, 4) and loaded.metrics_names == ["loss", "accuracy"]
    np.testing.assert_array_equal(loaded(x), m(x))


def test_an_input_alone_is_kept_until_the_first_layer():
    m = ff.Sequential([ff.Input((4,))], seed=0)
    assert not m.built and m.layers == []
    again = ff.Sequential.from_config(m.get_config())
    again.add(ff.Dense(3))
    assert again.input_shape == (None, 4)


@pytest.mark.parametrize("make, message", [
    (lambda: ff.Input((28, 28)),
     r"^shape: expected a shape \(features,\), got tuple \(28, 28\); the layers take flat "
     r"samples: reshape the inputs to \(n, features\) and give \(features,\)$"),
    (lambda: ff.Input((None, 4)),
     r"^shape: expected a shape \(features,\), got tuple \(None, 4\); it excludes the batch"),
    (lambda: ff.Input((0,)), r"^shape: "),
    (lambda: ff.Input("4"), r"^shape: expected a shape \(features,\), got str '4'$"),
    (lambda: ff.Dense(3, input_shape=(2, 2)), r"^input_shape: expected a shape \(features,\)"),
    (lambda: ff.Dropout(0.1, input_shape=(1.5,)), r"^input_shape: "),
    (lambda: ff.Sequential([ff.Dense(3), ff.Input((4,))]),
     r"^Input: only the first element of a Sequential model takes it, got it after 1 layer"),
    (lambda: ff.Sequential([ff.Dense(3), ff.Dense(2, input_shape=(4,))]),
     r"^input_shape: only the first layer takes it .*got it on layer 1, Dense$"),
    (lambda: ff.Sequential([ff.Input((4,)), ff.Dense(3)], input_dim=5),
     r"^input_dim: gives 5 input features, but the model already has 4$"),
    (lambda: ff.Sequential([ff.Input((4,)), ff.Dense(3, input_shape=(5,))]),
     r"^input_shape: gives 5 input features, but the model already has 4$"),
])
def test_inputs_an_mlp_cannot_take_are_refused_naming_the_argument(make, message):
    with pytest.raises(FeedforwardError, match=message):
        make()


# ------------------------------------------------------------------------------ add and pop
def test_adding_to_a_built_model_builds_the_layer_and_keeps_the_others():
    m = ff.Sequential([ff.Dense(8, activation="relu")], input_dim=4, seed=0)
    first = m.get_weights()
    m.add(ff.Dense(3, activation="softmax"))
    assert m.output_shape == (None, 3)
    np.testing.assert_array_equal(m.get_weights()[0], first[0])
    at_once = ff.Sequential([ff.Dense(8, activation="relu"), ff.Dense(3, activation="softmax")],
                            input_dim=4, seed=0)
    assert same_weights(m, at_once)  # the initializer stream goes on where it stopped
    assert np.shares_memory(m.layers[0].params["kernel"], m.params)


def test_a_layer_the_model_cannot_feed_is_refused_and_not_added():
    m = ff.Sequential([ff.Dense(8)], input_dim=4, seed=0)
    before = m.get_weights()
    with pytest.raises(FeedforwardError, match=r"^add: the model would need [\d,]+ parameters"):
        m.add(ff.Maxout(2**31 - 1, pieces=2**31 - 1))
    assert len(m.layers) == 1 and m.output_shape == (None, 8)
    assert same_weights(m, ff.Sequential([ff.Dense(8)], input_dim=4, seed=0))
    np.testing.assert_array_equal(m.get_weights()[0], before[0])


def test_pop_removes_the_output_layer_and_asks_for_compile_again():
    m = ff.Sequential([ff.Dense(8, activation="relu"), ff.Dense(3, activation="softmax")],
                      input_dim=4, seed=0, classes=["a", "b", "c"])
    m.compile("adam", "categorical_crossentropy", ["accuracy"])
    hidden = m.get_weights()[:2]
    removed = m.pop()
    assert isinstance(removed, ff.Dense) and removed.units == 3
    assert m.output_shape == (None, 8) and len(m.layers) == 1
    for a, b in zip(m.get_weights(), hidden, strict=True):
        np.testing.assert_array_equal(a, b)
    assert m.count_params() == 4 * 8 + 8 and m.params.size == m.count_params()
    # the loss, metrics and class names were those of the removed output layer
    assert m.classes is None and m.loss is None and m.metrics_names == []
    with pytest.raises(FeedforwardError, match=r"^fit: call compile"):
        m.fit(RNG.normal(size=(6, 4)), np.zeros((6, 8)), verbose=0)
    # a new head, compiled again, trains from the fused softmax gradient
    m.add(ff.Dense(2, activation="softmax"))
    m.compile("adam", "categorical_crossentropy")
    assert m.fused and m.output_shape == (None, 2)
    m.fit(RNG.normal(size=(6, 4)), np.arange(6) % 2, epochs=1, verbose=0)


def test_popping_the_only_layer_keeps_the_input_for_the_next_add():
    m = ff.Sequential([ff.Input((4,)), ff.Dense(3)], seed=0)
    m.pop()
    assert m.layers == [] and not m.built
    with pytest.raises(FeedforwardError, match=r"^pop: the model has no layers$"):
        m.pop()
    m.add(ff.Dense(2))
    assert m.input_shape == (None, 4) and m.output_shape == (None, 2)


def test_pop_of_an_unbuilt_model():
    m = ff.Sequential([ff.Dense(8), ff.Dense(3)])
    m.pop()
    assert [layer.units for layer in m.layers] == [8]
    assert m.predict(X).shape == (40, 8)


def test_the_batch_methods_are_keras_s():
    model = ff.Sequential([ff.Input((3,)), ff.Dense(1)], seed=0)
    model.compile("sgd", "mse", ["mae"])
    x, y = np.random.default_rng(0).random((8, 3)), np.random.default_rng(1).random(8)
    assert model.test_on_batch(x, y) == model.evaluate(x, y, verbose=0)
    assert model.test_on_batch(x, y, return_dict=True)["mae"] == model.evaluate(
        x, y, verbose=0)[1]
    np.testing.assert_array_equal(model.predict_on_batch(x), model.predict(x, verbose=0))
    twin = ff.Sequential([ff.Input((3,)), ff.Dense(1)], seed=0)
    twin.compile("sgd", "mse", ["mae"])
    w = np.r_[np.full(4, 2.0), np.zeros(4)]  # Keras's mean of w * loss over the 8 rows
    model.train_on_batch(x, y, sample_weight=w)
    twin.train_on_batch(x[:4], y[:4])
    np.testing.assert_allclose(model.params, twin.params, rtol=1e-6)


@pytest.mark.parametrize("shape", [(None, 3), (3,), [None, 3]])
def test_build_takes_keras_s_input_shape(shape):
    assert ff.Sequential([ff.Dense(2)]).build(shape).input_shape == (None, 3)


@pytest.mark.parametrize("shape", [(None, 3, 4), (2, 3), (None, "3")])
def test_build_refuses_a_shape_that_is_not_rows_of_features(shape):
    with pytest.raises(FeedforwardError, match=r"input_shape: expected \(None, features\)"):
        ff.Sequential([ff.Dense(2)]).build(shape)


def test_early_stopping_verbose_says_when_it_stopped_and_what_it_restored(capsys):
    model = ff.Sequential([ff.Input((3,)), ff.Dense(1)], seed=0)
    model.compile("sgd", "mse")
    x, y = np.random.default_rng(0).random((8, 3)), np.random.default_rng(1).random(8)
    stop = ff.callbacks.EarlyStopping(monitor="loss", patience=2, restore_best_weights=True,
                                      min_delta=10.0, verbose=1)  # nothing improves by 10
    model.fit(x, y, epochs=10, verbose=0, callbacks=[stop])
    assert capsys.readouterr().out.splitlines() == [
        "epoch 3: early stopping (loss did not improve for 2 epochs)",
        "restored the weights of epoch 1, the best"]


def _scaled(units=4, dtype="float32"):
    m = ff.Sequential([ff.Input((3,)), ff.Dense(units, activation="relu"), ff.Dense(2)],
                      seed=1, dtype=dtype, preprocessing=[ff.data.StandardScaler()])
    m.compile("adam", "mse")
    return m


@pytest.mark.parametrize("save", ["save_weights", "save"])
def test_load_weights_reads_a_weights_file_or_a_model_file(tmp_path, save):
    trained = _scaled()
    trained.fit(X, Y, epochs=3, verbose=0)
    getattr(trained, save)(tmp_path / "w.safetensors")
    fresh = _scaled()  # its scaler unfitted, its weights other
    fresh.load_weights(tmp_path / "w.safetensors")
    np.testing.assert_array_equal(fresh.predict(X), trained.predict(X))


@pytest.mark.parametrize("other, message", [
    (lambda: _scaled(units=5), r"has shape \(3, 4\) but the model implies \(3, 5\)"),
    (lambda: _scaled(dtype="float64"), "has dtype float32, the model says float64"),
    (lambda: ff.Sequential([ff.Input((3,)), ff.Dense(2)]), "tensors do not match the model"),
])
def test_load_weights_refuses_another_model_s_file_and_changes_nothing(tmp_path, other,
                                                                      message):
    _scaled().save_weights(tmp_path / "w.safetensors")
    model = other()
    before = model.params.copy()
    with pytest.raises(FeedforwardError, match=message):
        model.load_weights(tmp_path / "w.safetensors")
    np.testing.assert_array_equal(model.params, before)


def test_save_weights_holds_no_optimizer_state_and_refuses_keras_names(tmp_path):
    from feedforward.saving import read_metadata

    model = _scaled()
    model.fit(X, Y, epochs=1, verbose=0)
    model.save_weights(tmp_path / "w.safetensors")
    assert read_metadata(tmp_path / "w.safetensors")["format"] == "feedforward-weights"
    with pytest.raises(FeedforwardError):  # a weights file is not a model file
        ff.load_model(tmp_path / "w.safetensors")
    with pytest.raises(FeedforwardError, match="Keras's format"):
        model.save_weights(tmp_path / "w.weights.h5")


def test_model_checkpoint_can_write_weights_only(tmp_path):
    from feedforward.saving import read_metadata

    model = _scaled()
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[ff.callbacks.ModelCheckpoint(
        filepath=str(tmp_path / "w{epoch}.safetensors"), save_weights_only=True)])
    assert read_metadata(tmp_path / "w2.safetensors")["format"] == "feedforward-weights"
    fresh = _scaled()
    fresh.load_weights(tmp_path / "w2.safetensors")
    np.testing.assert_array_equal(fresh.predict(X), model.predict(X))
